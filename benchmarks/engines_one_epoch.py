"""One epoch of the book's network on MNIST in both engines, same seed: accuracy, time, agreement.

    python benchmarks/engines_one_epoch.py

784-30-10, cross-entropy, L1 (lmbda 5.0), eta 0.5, mini-batch 10, float64, seed 1; accuracy on
the 10,000 validation images. The figure the foundation issue asks for (single run: the
reference engine takes seconds, so one run is already far above timer noise).
"""

from __future__ import annotations

import time

import numpy as np

import nndl
from nndl import reference


def main() -> None:
    (X, y), (Xv, yv), _ = nndl.load_mnist(format="arrays")
    nets, seconds = {}, {}
    for name, Engine in (("nndl.Network (C++)", nndl.Network), ("nndl.reference (Python)", reference.Network)):
        net = Engine([784, 30, 10], seed=1)
        start = time.perf_counter()
        net.SGD((X, y), 1, 10, 0.5, lmbda=5.0, regularization="l1", verbose=False)
        seconds[name] = time.perf_counter() - start
        nets[name] = net
        print(f"{name:26s} epoch {seconds[name]:6.2f} s   validation accuracy {net.accuracy((Xv, yv))} / 10000")
    fast, ref = nets.values()
    diff = max(float(np.max(np.abs(a - b))) for a, b in zip(fast.weights + fast.biases, ref.weights + ref.biases))
    print(f"largest weight difference between engines after the epoch: {diff:.1e}")
    t = list(seconds.values())
    print(f"C++ engine is {t[1] / t[0]:.1f}x faster for the training epoch")


if __name__ == "__main__":
    main()
