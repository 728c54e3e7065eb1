"""The book's configuration on today's engine against the engine issue 12 was measured on, on this machine.

    python benchmarks/against_issue_engine.py [--dtype float64] [--rounds 3] [--commit 994586b]

Issue 12 asks for the book's configuration (784-30-10, mini-batch 10, float64, one core, L1 lmbda 5)
"at least 2x faster than today", and gives "today" per machine: 0.177 s on the machine it was filed
from (AVX-512), 0.085 s on a faster one. A guest without AVX-512 runs other kernels, so its seconds
do not compare with those. This script measures the ratio on the machine it runs on: it builds the
engine of the commit the issue was measured on (994586b, the last before the grid; the engine of
87bc0b2, formatted) into a virtual environment of its own, then times an epoch of 50,000 MNIST images
with it and with the nndl this Python imports, in alternating processes pinned to one core.

Each process times two ways, best of 3 each: a one-epoch `SGD` call (as the issue timed it), and the
later epochs of a 3-epoch call (as `nndl bench --grid` does: the input cache kept in the first epoch
serves the later ones; the issue's engine has none, so its two figures agree). The build needs git,
a compiler, and the package registry (scikit-build-core, pybind11, numpy); it takes a few minutes,
and `--keep DIR` reuses it.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ISSUE_COMMIT = "994586b"  # the last commit before issue 12's grid: the engine of the issue's table


def worker(dtype_name: str) -> None:
    """Print 'one-epoch-call later-epochs' seconds for the nndl this interpreter imports."""
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    import numpy as np

    import nndl
    from nndl.data import to_arrays

    nndl.set_num_threads(1)
    dtype = np.dtype(dtype_name)
    (X, y), _, _ = nndl.load_mnist(format="arrays")
    data = to_arrays((X, y), 784, 10, dtype)

    def run(epochs: int) -> tuple[float, float]:
        ends: list[float] = []

        def progress(epoch: int, done: int, total: int) -> None:
            if done == total:
                ends.append(time.perf_counter())

        net = nndl.Network([784, 30, 10], seed=1, dtype=dtype)
        start = time.perf_counter()
        net.SGD(data, epochs, 10, 0.5, lmbda=5.0, regularization="l1", verbose=False, progress=progress)
        return ends[0] - start, (ends[-1] - ends[0]) / max(1, epochs - 1)

    one_call = min(run(1)[0] for _ in range(3))
    later = min(run(3)[1] for _ in range(3))
    print(f"{one_call:.4f} {later:.4f} {nndl.simd_info()['path']}")


def build_issue_engine(commit: str, where: Path) -> Path:
    """A virtual environment in `where` with nndl built from `commit`; returns its python."""
    python = where / "venv" / "bin" / "python"
    if python.exists():
        return python
    source = where / "source"
    source.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(source)], input=archive, check=True)
    subprocess.run([sys.executable, "-m", "venv", str(where / "venv")], check=True)
    import numpy

    pip = [str(python), "-m", "pip", "install", "-q"]
    subprocess.run([*pip, f"numpy=={numpy.__version__}"], check=True)  # the same numpy on both sides
    print(f"building nndl at {commit} (a few minutes)", file=sys.stderr)
    subprocess.run([*pip, "--no-deps", str(source)], check=True)
    return python


def timed(python: Path | str, dtype: str) -> tuple[float, float, str]:
    out = subprocess.run(
        [str(python), __file__, "--worker", "--dtype", dtype], check=True, capture_output=True, text=True
    ).stdout.split()
    return float(out[0]), float(out[1]), out[2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    parser.add_argument("--rounds", type=int, default=3, help="alternating pairs of processes (default 3)")
    parser.add_argument("--commit", default=ISSUE_COMMIT, help=f"the engine to compare with (default {ISSUE_COMMIT})")
    parser.add_argument("--keep", type=Path, help="build the old engine here, and reuse it if it is there")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args.dtype)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    with tempfile.TemporaryDirectory() as scratch:
        old_python = build_issue_engine(args.commit, args.keep or Path(scratch))
        old: list[tuple[float, float, str]] = []
        new: list[tuple[float, float, str]] = []
        for _ in range(args.rounds):
            old.append(timed(old_python, args.dtype))
            new.append(timed(sys.executable, args.dtype))
    print(f"784-30-10, mini-batch 10, {args.dtype}, one core; seconds an epoch, best of {args.rounds} processes")
    print(f"{'engine':32s} {'one-epoch call':>15s} {'later epochs':>13s}  kernels")
    for label, rows in ((f"issue 12's ({args.commit})", old), ("this one", new)):
        print(f"{label:32s} {min(r[0] for r in rows):15.4f} {min(r[1] for r in rows):13.4f}  {rows[0][2]}")
    one_call = min(r[0] for r in old) / min(r[0] for r in new)
    later = min(r[1] for r in old) / min(r[1] for r in new)
    print(f"faster than issue 12's engine: {later:.2f}x an epoch of a training run, {one_call:.2f}x a one-epoch call")


if __name__ == "__main__":
    main()
