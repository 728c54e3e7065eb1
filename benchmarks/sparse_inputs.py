"""Where the sparse first layer pays: one epoch of nndl with ``sparse_inputs=False`` and ``True``,
alternating, on MNIST (19% of the pixels nonzero) and on MNIST made denser (a share of the zero
pixels replaced by small positive values), for a few shapes, both dtypes and mini-batch 10 and 100,
one thread. The thresholds of ``nndl/sparse_inputs.py`` come from this table.

    python benchmarks/sparse_inputs.py                   # 784-30-10 and 784-100-10
    python benchmarks/sparse_inputs.py --shapes 784-500-10 --densities 0.19

Prints a Markdown table: seconds per epoch (best of the repeats) and dense / sparse.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import nndl
from nndl.data import to_arrays
from nndl.sparse_inputs import input_density, sparse_inputs_pay


def denser(X: np.ndarray, density: float, seed: int = 0) -> np.ndarray:
    """X with zero entries set to 0.01 at random until about `density` of all entries are nonzero."""
    current = input_density(X)
    if density <= current:
        return X
    rng = np.random.default_rng(seed)
    share_of_zeros = (density - current) / (1.0 - current)
    out = X.copy()
    fill = (out == 0) & (rng.random(out.shape) < share_of_zeros)
    out[fill] = 0.01
    return out


def epoch_seconds(X: np.ndarray, labels: np.ndarray, sizes: list[int], dtype: str, m: int, sparse: bool) -> float:
    net = nndl.Network(sizes, seed=1, dtype=dtype)
    start = time.perf_counter()
    net.SGD((X, labels), 1, m, 0.5, lmbda=5.0, regularization="l1", verbose=False, sparse_inputs=sparse)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shapes", default="784-30-10,784-100-10")
    parser.add_argument("--densities", default="0.19,0.5,1.0")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    nndl.set_num_threads(1)
    (X, y), _, _ = nndl.load_mnist(format="arrays")
    path = nndl.simd_info()["path"]
    print(f"one epoch of 50,000 images, L1 subgradient, one thread, best of {args.repeats}; kernels {path}")
    print()
    print("| shape | dtype | m | density | dense (s) | sparse (s) | dense / sparse | auto chooses |")
    print("|---|---|---:|---:|---:|---:|---:|---|")
    for shape in args.shapes.split(","):
        sizes = [int(s) for s in shape.split("-")]
        for density in (float(d) for d in args.densities.split(",")):
            for dtype in ("float64", "float32"):
                data = to_arrays((denser(X, density), y), 784, 10, np.dtype(dtype))
                measured = input_density(data.X)
                for m in (10, 100):
                    best = {False: float("inf"), True: float("inf")}
                    for _ in range(args.repeats):
                        for sparse in (False, True):
                            best[sparse] = min(
                                best[sparse], epoch_seconds(data.X, data.labels, sizes, dtype, m, sparse)
                            )
                    kernel_set = nndl.simd_info()["path"]
                    pays = sparse_inputs_pay(measured, sizes[1], dtype, m, sizes[0], kernel_set)
                    auto = "sparse" if pays else "dense"
                    print(
                        f"| {shape} | {dtype} | {m} | {measured:.2f} | {best[False]:.3f} | {best[True]:.3f} | "
                        f"{best[False] / best[True]:.2f} | {auto} |",
                        flush=True,
                    )


if __name__ == "__main__":
    main()
