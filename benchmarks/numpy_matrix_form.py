"""The numpy baseline alone: one epoch of the 784-30-10 net, each mini-batch as one matrix.

    python benchmarks/numpy_matrix_form.py [mini_batch_size] [float64|float32]

The implementation is ``nndl.bench.numpy_matrix_form_epoch`` (kept in the package so that
``python -m nndl.bench`` has it without the repository checkout); this script times it on its own
and prints the validation accuracy, to show the baseline trains the same network correctly.
"""

from __future__ import annotations

import sys
import time

import numpy as np

import nndl
from nndl.bench import initial_parameters, numpy_matrix_form_epoch


def main() -> None:
    m = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    dtype = np.dtype(sys.argv[2] if len(sys.argv) > 2 else "float64")
    (X, y), (Xv, yv), _ = nndl.load_mnist(format="arrays")
    X, Xv = X.astype(dtype), Xv.astype(dtype)
    Y = np.zeros((len(X), 10), dtype)
    Y[np.arange(len(X)), y] = 1
    params = initial_parameters(dtype)
    order = np.random.default_rng(0).permutation(len(X))
    start = time.perf_counter()
    numpy_matrix_form_epoch(params, X, Y, order, m)
    seconds = time.perf_counter() - start
    W1, b1, W2, b2 = params
    out = 1 / (1 + np.exp(-((1 / (1 + np.exp(-(Xv @ W1.T + b1)))) @ W2.T + b2)))
    print(
        f"numpy matrix form, {dtype.name}, mini-batch {m}: epoch {seconds:.3f} s, "
        f"validation accuracy {int((out.argmax(1) == yv).sum())} / {len(yv)}"
    )


if __name__ == "__main__":
    main()
