"""Two threads against one at mini-batch 100, outside the benchmark's rotation of engines.

    python benchmarks/two_threads.py

One epoch's worth of training (50,000 examples) of the book's 784-30-10 net with L1, float64 and
float32, on all of MNIST and on its first 2,000 images repeated (small enough to stay in cache),
each timed 5 times with 1 and with 2 threads; prints the fastest of each and the ratio.
"""

from __future__ import annotations

import time

import numpy as np

import nndl
from nndl.data import to_arrays


def fastest_epoch(data, dtype, threads: int, repeats: int = 5) -> float:
    nndl.set_num_threads(threads)
    net = nndl.Network([784, 30, 10], seed=1, dtype=dtype)
    epochs = 50_000 // len(data)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        net.SGD(data, epochs, 100, 0.5, lmbda=5.0, regularization="l1", verbose=False)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    (X, y), _, _ = nndl.load_mnist(format="arrays")
    threads_before = nndl.get_num_threads()
    try:
        for dtype in (np.float64, np.float32):
            for n in (50_000, 2_000):
                data = to_arrays((X[:n], y[:n]), 784, 10, np.dtype(dtype))  # slices keep the 64-byte alignment
                one, two = fastest_epoch(data, dtype, 1), fastest_epoch(data, dtype, 2)
                print(
                    f"{np.dtype(dtype).name}, {n:>6,} images: 1 thread {one:.4f} s, 2 threads {two:.4f} s, "
                    f"ratio {one / two:.2f}"
                )
    finally:
        nndl.set_num_threads(threads_before)


if __name__ == "__main__":
    main()
