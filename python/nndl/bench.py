"""One epoch of the book's 784-30-10 network on MNIST in every engine: ``python -m nndl.bench``.

Net and update, everywhere: sigmoid layers, cross-entropy, L1 subgradient (lmbda 5, the
training-set size n = 50,000 in the penalty), eta 0.5, mini-batches 10 and 100, one epoch over the
50,000 training images in a fixed shuffled order. Engines: ``nndl.reference`` (the book's
per-example loop; timed on a slice of the epoch and scaled, as printed), a numpy implementation
that takes each whole mini-batch as one matrix (``numpy_matrix_form_epoch`` below: the baseline the
issue asks for), PyTorch doing the same matrix computation when it is installed, and nndl at
float64/float32 with 1 and 2 threads (each timing an epoch of a 3-epoch ``SGD`` call after its
first, ``nndl.bench_grid.epoch_in_a_run``: an epoch of a training run). Engines alternate within
each repeat and the medians are reported, so machine noise hits all of them alike; ratios come from
the same run.

FLOP count per image (multiply and add counted separately, 784-30-10):
  forward   2*(784*30 + 30*10) = 47,640
  backward  2*(10*30)          =    600   (the error of the hidden layer)
  gradients 2*(784*30 + 30*10) = 47,640   (weight gradients; biases, activations and the update
                                           itself are not counted)
  total                          95,880   ~ 4.8 GFLOP per epoch
The FMA peak is measured in the same run by ``nndl._core.fma_peak_gflops`` (independent FMA chains
with the active kernel set on one core).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from typing import Any, Callable, Protocol, cast

import numpy as np
from numpy.typing import DTypeLike

from .bench_grid import epoch_in_a_run

# The baselines run on one thread, as the table of alternatives does: numpy's BLAS would
# otherwise use both cores for the matrix products, and its worker threads keep spinning after each
# one, taking the second core from the two-thread nndl runs that follow.
ONE_BLAS_THREAD = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")

FLOP_PER_IMAGE = 2 * (784 * 30 + 30 * 10) + 2 * (10 * 30) + 2 * (784 * 30 + 30 * 10)
ETA, LMBDA, SIZES = 0.5, 5.0, [784, 30, 10]


# ---- the baselines ----------------------------------------------------------------------------


def initial_parameters(dtype: DTypeLike, seed: int = 1) -> list[np.ndarray]:
    """The book's default initializer: W ~ N(0, 1/n_in), b ~ N(0, 1)."""
    rng = np.random.default_rng(seed)
    W1 = rng.standard_normal((30, 784)) / np.sqrt(784)
    b1 = rng.standard_normal(30)
    W2 = rng.standard_normal((10, 30)) / np.sqrt(30)
    b2 = rng.standard_normal(10)
    return [np.ascontiguousarray(p, dtype=dtype) for p in (W1, b1, W2, b2)]


def numpy_matrix_form_epoch(
    params: list[np.ndarray],
    X: np.ndarray,
    Y: np.ndarray,
    order: np.ndarray,
    m: int,
    eta: float = ETA,
    lmbda: float = LMBDA,
) -> None:
    """One epoch of mini-batch SGD with the L1 subgradient update, each mini-batch as one matrix.

    params = [W1 (30,784), b1 (30,), W2 (10,30), b2 (10,)] are updated in place; X (n,784),
    Y (n,10) one-hot; the mini-batches are taken from `order` (a permutation of range(n), or a
    prefix of one to time part of an epoch); the L1 penalty uses n = len(X).
    """
    W1, b1, W2, b2 = params
    n = len(X)
    shrink = eta * lmbda / n
    for start in range(0, len(order), m):
        rows = order[start : start + m]
        x, y = X[rows], Y[rows]
        a1 = 1.0 / (1.0 + np.exp(-(x @ W1.T + b1)))
        a2 = 1.0 / (1.0 + np.exp(-(a1 @ W2.T + b2)))
        d2 = a2 - y  # cross-entropy with a sigmoid output
        d1 = (d2 @ W2) * a1 * (1.0 - a1)
        step = eta / len(rows)
        W2 -= shrink * np.sign(W2) + step * (d2.T @ a1)
        b2 -= step * d2.sum(axis=0)
        W1 -= shrink * np.sign(W1) + step * (d1.T @ x)
        b1 -= step * d1.sum(axis=0)


class TorchEpoch(Protocol):
    """``numpy_matrix_form_epoch``'s signature, with the torch version and its thread setting."""

    torch_version: str
    set_threads: Callable[[int], None]

    def __call__(
        self,
        params: list[np.ndarray],
        X: np.ndarray,
        Y: np.ndarray,
        order: np.ndarray,
        m: int,
        eta: float = ETA,
        lmbda: float = LMBDA,
    ) -> None: ...


def torch_epoch_function() -> TorchEpoch | None:
    """The same matrix computation in PyTorch (no autograd: the formulas above), or None."""
    try:
        import torch
    except ImportError:
        return None

    def epoch(
        params: list[np.ndarray],
        X: np.ndarray,
        Y: np.ndarray,
        order: np.ndarray,
        m: int,
        eta: float = ETA,
        lmbda: float = LMBDA,
    ) -> None:
        with torch.no_grad():
            W1, b1, W2, b2 = (torch.from_numpy(p) for p in params)
            Xt, Yt = torch.from_numpy(X), torch.from_numpy(Y)
            ordert = torch.from_numpy(order)
            n = len(X)
            shrink = eta * lmbda / n
            for start in range(0, len(order), m):
                rows = ordert[start : start + m]
                x, y = Xt[rows], Yt[rows]
                a1 = torch.sigmoid(x @ W1.T + b1)
                a2 = torch.sigmoid(a1 @ W2.T + b2)
                d2 = a2 - y
                d1 = (d2 @ W2) * a1 * (1 - a1)
                step = eta / len(rows)
                W2 -= shrink * torch.sign(W2) + step * (d2.T @ a1)
                b2 -= step * d2.sum(0)
                W1 -= shrink * torch.sign(W1) + step * (d1.T @ x)
                b1 -= step * d1.sum(0)

    typed = cast(TorchEpoch, epoch)
    typed.torch_version = torch.__version__
    typed.set_threads = torch.set_num_threads
    return typed


# ---- measurement ------------------------------------------------------------------------------


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _memory_probe() -> int:
    """Run in a fresh interpreter: RSS above the interpreter after loading MNIST, and the peak RSS
    while training (Linux: the high-water mark is reset after loading, so loading's own
    temporaries are not charged to training). Prints: base data_bytes after_load train_peak."""
    import nndl
    from nndl.data import to_arrays

    def status(field: str) -> int:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
        raise RuntimeError(field)

    base = status("VmRSS")
    (X, y), (Xv, yv), (Xt, yt) = nndl.load_mnist(format="arrays")
    arrays = to_arrays((X, y), 784, 10, np.dtype(np.float64))
    data = sum(a.nbytes for a in (X, y, Xv, yv, Xt, yt)) + arrays.Y.nbytes + arrays.labels.nbytes
    after_load = status("VmRSS")
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # resets VmHWM to the current RSS
    net = nndl.Network(SIZES, seed=1)
    for m in (10, 100):  # two epochs a call, so that the input cache is in the peak
        net.SGD(arrays, 2, m, ETA, lmbda=LMBDA, regularization="l1", verbose=False)
    print(base, data, after_load, status("VmHWM"))
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--grid" in argv:  # the shape grid against JAX, PyTorch and numpy: nndl.bench_grid
        from . import bench_grid

        return bench_grid.main([a for a in argv if a != "--grid"])
    if "--chapter6" in argv:  # chapter 6's conv networks against PyTorch and JAX: nndl.bench_conv
        from . import bench_conv

        return bench_conv.main([a for a in argv if a != "--chapter6"])
    parser = argparse.ArgumentParser(prog="python -m nndl.bench", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--grid",
        action="store_true",
        help="the shape grid instead: 784-H-10 for H 30/100/500 and 784-30-30-30-10, m 10/100, float32/64, "
        "1/2 threads, against JAX, PyTorch and numpy (see python -m nndl.bench_grid --help)",
    )
    parser.add_argument(
        "--chapter6",
        action="store_true",
        help="chapter 6's conv networks instead: conv(20)+FC100 and two conv layers, m 10/100, 1/2 threads, "
        "against PyTorch and JAX (see python -m nndl.bench_conv --help)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a short run: 2 repeats, baselines on 5,000 images (scaled), nndl on 20,000",
    )
    parser.add_argument("--repeats", type=int, default=None, help="repeats per engine (default 5, quick 2)")
    parser.add_argument("--memory-probe", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_probe:
        return _memory_probe()
    if any(os.environ.get(name) != "1" for name in ONE_BLAS_THREAD):
        # numpy's BLAS sizes its thread pool when it loads, so the limit must be in the environment
        # before numpy is imported: run again in a child process that has it.
        env = dict(os.environ, **{name: "1" for name in ONE_BLAS_THREAD})
        return subprocess.call([sys.executable, "-m", "nndl.bench", *argv], env=env)

    import nndl
    from nndl import _core, reference
    from nndl.data import to_arrays

    repeats = args.repeats or (2 if args.quick else 5)
    (X, y), (Xv, yv), _ = nndl.load_mnist(format="arrays")
    n_full = len(X)
    n_nndl = 20_000 if args.quick else n_full  # images per timed nndl run
    n_base = 5_000 if args.quick else 10_000  # images per timed reference/numpy/torch run
    order = np.random.default_rng(0).permutation(n_full).astype(np.int64)
    data = {dt: to_arrays((X, y), 784, 10, np.dtype(dt)) for dt in (np.float64, np.float32)}
    evaluation = {dt: to_arrays((Xv, yv), 784, 10, np.dtype(dt)) for dt in (np.float64,)}
    torch_epoch = torch_epoch_function()
    threads_before = nndl.get_num_threads()

    def scaled(seconds: float, images: int) -> float:
        return seconds * n_full / images

    # Each config: (label, function returning seconds for one whole epoch).
    configs: list[tuple[str, Callable[[], float]]] = []

    def ref_run() -> float:
        net = reference.Network(SIZES, seed=1)
        part = slice(0, n_base // 5)  # the per-example loop: a fifth of the baselines' slice
        sub = (X[order[part]], y[order[part]])
        return scaled(
            _timed(lambda: net.SGD(sub, 1, 10, ETA, lmbda=LMBDA, regularization="l1", verbose=False)), n_base // 5
        )

    configs.append(("nndl.reference (book, per example) f64 m=10", ref_run))

    for dt in (np.float64, np.float32):
        for m in (10, 100):

            def np_run(dt: type[np.floating[Any]] = dt, m: int = m) -> float:
                params = initial_parameters(dt)
                d = data[dt]
                return scaled(_timed(lambda: numpy_matrix_form_epoch(params, d.X, d.Y, order[:n_base], m)), n_base)

            configs.append((f"numpy matrix form {np.dtype(dt).name} m={m}", np_run))
            if torch_epoch is not None:

                def torch_run(dt: type[np.floating[Any]] = dt, m: int = m) -> float:
                    torch_epoch.set_threads(1)
                    params = initial_parameters(dt)
                    d = data[dt]
                    return scaled(_timed(lambda: torch_epoch(params, d.X, d.Y, order[:n_base], m)), n_base)

                configs.append((f"PyTorch {torch_epoch.torch_version} 1 thread {np.dtype(dt).name} m={m}", torch_run))
            for threads in (1, 2):

                def nndl_run(dt: type[np.floating[Any]] = dt, m: int = m, threads: int = threads) -> float:
                    nndl.set_num_threads(threads)
                    net = nndl.Network(SIZES, seed=1, dtype=dt)
                    sub = (
                        data[dt]
                        if n_nndl == n_full
                        else to_arrays((data[dt].X[:n_nndl], data[dt].labels[:n_nndl]), 784, 10, np.dtype(dt))
                    )
                    return scaled(epoch_in_a_run(net, sub, m), n_nndl)

                configs.append(
                    (f"nndl {np.dtype(dt).name} {threads} thread{'s' if threads > 1 else ''} m={m}", nndl_run)
                )
    eval_net = nndl.Network(SIZES, seed=1)
    for threads in (1, 2):

        def eval_run(threads: int = threads) -> float:
            nndl.set_num_threads(threads)
            return _timed(lambda: [eval_net.accuracy(evaluation[np.float64]) for _ in range(5)]) / 5

        configs.append((f"nndl evaluate 10,000 images f64 {threads} thread{'s' if threads > 1 else ''}", eval_run))

    times: dict[str, list[float]] = {label: [] for label, _ in configs}
    peaks: dict[str, list[float]] = {"float64": [], "float32": []}
    round_trips: list[float] = []  # between the two cores: their two-thread rows depend on it (nndl bench --grid)
    for rep in range(repeats):
        for label, run in configs:
            if "2 threads" in label:
                round_trips.append(_core.cross_core_round_trip_ns())
            times[label].append(run())
        for name, dt in (("float64", np.float64), ("float32", np.float32)):
            peaks[name].append(_core.fma_peak_gflops(dt, 0.3))
        print(f"  repeat {rep + 1}/{repeats} done", file=sys.stderr, flush=True)
    nndl.set_num_threads(threads_before)
    med = {label: statistics.median(v) for label, v in times.items()}
    peak = {name: statistics.median(v) for name, v in peaks.items()}
    gflop_epoch = FLOP_PER_IMAGE * n_full / 1e9

    info = nndl.simd_info()
    print(
        f"# nndl one-epoch benchmark: 784-30-10, cross-entropy, L1 subgradient (lmbda {LMBDA}), eta {ETA}, "
        f"{n_full:,} MNIST images"
    )
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs, "
        f"{_cpu_model()}; SIMD path {info['path']} (available {', '.join(info['available'])}); "
        f"load average at start {os.getloadavg()[0]:.1f}"
    )
    print(
        f"medians of {repeats} alternating repeats; {FLOP_PER_IMAGE:,} flop per image = {gflop_epoch:.2f} GFLOP "
        f"per epoch; numpy's BLAS and PyTorch on one thread; reference timed on {n_base // 5:,} images, "
        f"numpy/PyTorch on {n_base:,}, nndl on {n_nndl:,}, "
        f"all scaled to the full epoch"
    )
    print(
        f"measured FMA peak (one core, {info['path']}): float64 {peak['float64']:.1f} GFLOP/s, "
        f"float32 {peak['float32']:.1f} GFLOP/s"
    )
    measured = [ns for ns in round_trips if np.isfinite(ns)]
    if measured:
        print(
            f"cross-core round trip before each two-thread row: {min(measured):.0f}-{max(measured):.0f} ns, median "
            f"{statistics.median(measured):.0f} (about 50 ns with the cores near each other; two threads gain little "
            "when they are far apart)"
        )
    print()
    print("| engine | epoch (s) | GFLOP/s | % of FMA peak |")
    print("|---|---:|---:|---:|")
    for label, seconds in med.items():
        if "evaluate" in label:
            print(f"| {label} | {seconds:.4f} | | |")
            continue
        gflops = gflop_epoch / seconds
        pk = peak["float32" if "float32" in label else "float64"]
        print(f"| {label} | {seconds:.3f} | {gflops:.1f} | {100 * gflops / pk:.0f}% |")
    print()

    def ratio(slow: str, fast: str) -> float:
        return med[slow] / med[fast]

    def pct(label: str, dtype: str) -> float:
        return 100 * gflop_epoch / med[label] / peak[dtype]

    checks: list[tuple[str, float, float, str]] = []  # (what, value, target, unit)
    f64_10 = "nndl float64 1 thread m=10"
    checks.append(
        ("m=10 f64 1 thread vs nndl.reference", ratio("nndl.reference (book, per example) f64 m=10", f64_10), 25, "x")
    )
    checks.append(("m=10 f64 1 thread vs numpy matrix form", ratio("numpy matrix form float64 m=10", f64_10), 5, "x"))
    checks.append(("m=10 f64 1 thread, % of f64 FMA peak", pct(f64_10, "float64"), 40, "%"))
    checks.append(("m=10 1 thread, float32 vs float64", ratio(f64_10, "nndl float32 1 thread m=10"), 1.7, "x"))
    checks.append(("m=100 f32 1 thread, % of f32 FMA peak", pct("nndl float32 1 thread m=100", "float32"), 60, "%"))
    for dt_name in ("float64", "float32"):
        checks.append(
            (
                f"m=100 {dt_name}, 2 threads vs 1",
                ratio(f"nndl {dt_name} 1 thread m=100", f"nndl {dt_name} 2 threads m=100"),
                1.7,
                "x",
            )
        )
    checks.append(
        (
            "evaluate 10,000 images, 2 threads vs 1",
            ratio("nndl evaluate 10,000 images f64 1 thread", "nndl evaluate 10,000 images f64 2 threads"),
            1.7,
            "x",
        )
    )
    if torch_epoch is not None:
        for dt_name in ("float64", "float32"):
            torch_label = f"PyTorch {torch_epoch.torch_version} 1 thread {dt_name} m="
            checks.append(
                (
                    f"m=10 {dt_name} 1 thread vs PyTorch",
                    ratio(torch_label + "10", f"nndl {dt_name} 1 thread m=10"),
                    10,
                    "x",
                )
            )
            checks.append(
                (
                    f"m=100 {dt_name} 1 thread vs PyTorch",
                    ratio(torch_label + "100", f"nndl {dt_name} 1 thread m=100"),
                    1.0,
                    "x",
                )
            )
    else:
        print("PyTorch is not installed: its rows and targets are skipped (pip install torch==2.13.0)")

    probe = subprocess.run([sys.executable, "-m", "nndl.bench", "--memory-probe"], capture_output=True, text=True)
    memory_line = None
    if probe.returncode == 0:
        base, data_bytes, after_load, train_peak = (int(v) for v in probe.stdout.split())
        over = (train_peak - base - data_bytes) / 2**20
        memory_line = (
            f"peak RSS while training 2 epochs (m=10, m=100, float64): {(train_peak - base) / 2**20:.0f} MB "
            f"above the bare interpreter+nndl, for {data_bytes / 2**20:.0f} MB of data arrays "
            f"({over:+.0f} MB; {(after_load - base) / 2**20:.0f} MB resident after loading). "
            f"Loading's own temporaries are excluded (high-water mark reset after loading)."
        )
        checks.append(("peak memory while training above the data arrays", over, 64, "MB max"))
    else:
        print(f"memory probe failed: {probe.stderr.strip()[-300:]}")
    print("| target | measured | wanted | |")
    print("|---|---:|---:|---|")
    failed = 0
    for what, value, target, unit in checks:
        met = value <= target if unit == "MB max" else value >= target
        failed += not met
        want = f"<= {target} MB" if unit == "MB max" else f">= {target}{unit}"
        print(f"| {what} | {value:.1f}{'' if unit == 'MB max' else unit} | {want} | {'met' if met else 'NOT met'} |")
    if memory_line:
        print()
        print(memory_line)
    print()
    print(f"{len(checks) - failed} of {len(checks)} targets met")
    return 0


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


if __name__ == "__main__":
    sys.exit(main())
