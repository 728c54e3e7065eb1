"""The shape grid of ``nndl bench --grid``: one epoch of SGD on MNIST for several shapes, mini-batch
sizes, dtypes and thread counts, in nndl and in its strongest peers, measured in one run.

Every network: sigmoid layers, cross-entropy, the book's L1 subgradient update (lmbda 5, the
training-set size n = 50,000 in the penalty), eta 0.5, one epoch in a fixed shuffled order.

Engines, each in a worker process of its own (so each has its own thread settings, pinned to the
first one or two CPUs with ``sched_setaffinity``, and none warms another's caches):

- ``nndl``: ``nndl.Network.SGD`` on the arrays, exactly as a user calls it (the first layer sparse
  or dense as ``sparse_inputs=None`` chooses for a call of that many epochs: rows marked "sparse"),
  ``RUN_EPOCHS`` epochs in one call, the mean of those after the first timed (``epoch_in_a_run``): an
  epoch as a training run has them, after the first has kept the inputs' nonzeros (the sparse first
  layer's input cache), as JAX's epoch is timed after its compilation. The first epoch is reported
  apart.
- ``nndl-dense``: the same with ``sparse_inputs=False``, to show what the sparse path changes (not
  counted among the peers).
- ``jax``: the whole epoch as one jit-compiled ``lax.scan`` over the mini-batches, each step
  gathering its rows from the training set inside the compiled program: the fastest way we know to
  drive XLA on a CPU. Compiled once per configuration before timing.
- ``torch``: the same matrix formulas in PyTorch, no autograd, one Python step per mini-batch.
- ``numpy``: the same formulas in numpy (its BLAS limited to the worker's thread count).

The parent alternates the engines within each repeat (so the noise of a shared machine hits all of
them alike) and reports the best of the repeats, as the issue's own table did. JAX, PyTorch and
numpy implement the same arithmetic as nndl's update (the formulas are in ``matrix_form_step``); the
FLOP count is the dense one: forward, the backward products of the hidden errors and the weight
gradients, 2 flop per multiply-add. Where nndl ran its sparse first layer it skipped the products with
zero inputs (81% of MNIST's pixels), so its "% of FMA peak" counts arithmetic it did not do.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

ETA, LMBDA = 0.5, 5.0
SHAPES: tuple[tuple[int, ...], ...] = ((784, 30, 10), (784, 100, 10), (784, 500, 10), (784, 30, 30, 30, 10))
MINI_BATCHES = (10, 100)
DTYPES = ("float64", "float32")
THREADS = (1, 2)
ENGINES = ("nndl", "nndl-dense", "jax", "torch", "numpy")
NNDL_ENGINES = ("nndl", "nndl-dense")
BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
#: The issue's figure for the book's configuration on this machine kind, before this work (784-30-10,
#: m=10, float64, one core): target 2 is "at least 2x faster than this".
BOOK_CONFIG_BEFORE_SECONDS = 0.177


def flop_per_image(sizes: tuple[int, ...]) -> int:
    """Dense FLOP per training image: forward, the hidden errors' backward products, weight gradients."""
    products = [a * b for a, b in zip(sizes[:-1], sizes[1:])]
    return 2 * sum(products) + 2 * sum(products[1:]) + 2 * sum(products)


def label(sizes: tuple[int, ...]) -> str:
    return "-".join(map(str, sizes))


# ---- the configurations each worker times ----------------------------------------------------------


@dataclass(frozen=True)
class Config:
    engine: str
    sizes: tuple[int, ...]
    m: int
    dtype: str
    threads: int
    images: int  # timed on this many images of the epoch, scaled to 50,000

    def key(self) -> tuple[Any, ...]:
        return (self.engine, self.sizes, self.m, self.dtype, self.threads)


#: Epochs of each nndl call the benchmarks time: the automatic choice of the sparse path counts on the
#: input cache from 3 (nndl.sparse_inputs.KEPT_MIN_EPOCHS); the book's runs have 30.
RUN_EPOCHS = 3


def epoch_in_a_run(net: Any, data: Any, m: int, **options: Any) -> float:
    """Seconds per epoch of ``net.SGD(data, RUN_EPOCHS, m, ...)`` after its first: an epoch of a
    training run, once the first has kept what the engine keeps for the run's later epochs."""
    return epochs_in_a_run(net, data, m, **options)[1]


def epochs_in_a_run(net: Any, data: Any, m: int, **options: Any) -> tuple[float, float]:
    """(the first epoch's seconds, the mean of the later epochs') of ``net.SGD(data, RUN_EPOCHS, m,
    ...)``, each epoch's end taken when the progress callback reports it."""
    ends: list[float] = []

    def progress(epoch: int, done: int, total: int) -> None:
        if done == total:
            ends.append(time.perf_counter())

    start = time.perf_counter()
    net.SGD(data, RUN_EPOCHS, m, ETA, lmbda=LMBDA, regularization="l1", verbose=False, progress=progress, **options)
    return ends[0] - start, (ends[-1] - ends[0]) / (RUN_EPOCHS - 1)


def initial_parameters(sizes: tuple[int, ...], dtype: str, seed: int = 1) -> list[np.ndarray]:
    """The book's default initializer, W ~ N(0, 1/n_in) and b ~ N(0, 1): [W1, b1, W2, b2, ...]."""
    rng = np.random.default_rng(seed)
    params: list[np.ndarray] = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        params.append(np.ascontiguousarray(rng.standard_normal((n_out, n_in)) / np.sqrt(n_in), dtype=dtype))
        params.append(np.ascontiguousarray(rng.standard_normal(n_out), dtype=dtype))
    return params


def matrix_form_step(xp: Any, params: list[Any], x: Any, y: Any, n: int, sigmoid: Callable[[Any], Any]) -> list[Any]:
    """One mini-batch step of the L1-subgradient update in matrix form, for numpy, torch or jax.numpy
    (``xp``): returns the new parameters. x (m, n_in) and y (m, n_out) one-hot; n is the training-set size."""
    weights, biases = params[0::2], params[1::2]
    activations = [x]
    for W, b in zip(weights, biases):
        activations.append(sigmoid(activations[-1] @ W.T + b))
    delta = activations[-1] - y  # cross-entropy with a sigmoid output
    step = ETA / x.shape[0]
    shrink = ETA * LMBDA / n
    new: list[Any] = [None] * len(params)
    for layer in range(len(weights) - 1, -1, -1):
        W = weights[layer]
        grad_W = delta.T @ activations[layer]
        grad_b = delta.sum(0)
        if layer > 0:
            a = activations[layer]
            delta = (delta @ W) * a * (1 - a)
        new[2 * layer] = W - shrink * xp.sign(W) - step * grad_W
        new[2 * layer + 1] = biases[layer] - step * grad_b
    return new


class Worker:
    """The body of a worker process: loads MNIST once per dtype, then times configurations."""

    def __init__(self, engine: str, threads: int) -> None:
        self.engine, self.threads = engine, threads
        self.data: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self.compiled: dict[tuple[Any, ...], Any] = {}
        self.order = np.random.default_rng(0).permutation(50_000).astype(np.int64)
        self.first_epoch = 0.0  # nndl: the first epoch of the last call timed (scaled to 50,000 images)
        if engine == "jax":
            import jax

            jax.config.update("jax_enable_x64", True)
        if engine == "torch":
            import torch

            torch.set_num_threads(threads)
        if engine in NNDL_ENGINES:
            import nndl

            nndl.set_num_threads(threads)

    def arrays(self, dtype: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if dtype not in self.data:
            import nndl
            from nndl.data import to_arrays

            (X, y), _, _ = nndl.load_mnist(format="arrays")
            a = to_arrays((X, y), 784, 10, np.dtype(dtype))
            self.data[dtype] = (a.X, a.Y, a.labels)
        return self.data[dtype]

    def time(self, c: Config) -> float:
        X, Y, labels = self.arrays(c.dtype)
        order = self.order[: c.images]
        n = len(X)
        if c.engine in NNDL_ENGINES:
            import nndl

            sub = (X, labels) if c.images == n else (X[order], labels[order])
            net = nndl.Network(list(c.sizes), seed=1, dtype=c.dtype)
            sparse = None if c.engine == "nndl" else False
            first, seconds = epochs_in_a_run(net, sub, c.m, sparse_inputs=sparse)
            self.first_epoch = first * 50_000 / c.images
        elif c.engine == "numpy":
            params = initial_parameters(c.sizes, c.dtype)

            def sigmoid(z: np.ndarray) -> np.ndarray:
                result: np.ndarray = 1.0 / (1.0 + np.exp(-z))
                return result

            start = time.perf_counter()
            for k in range(0, len(order), c.m):
                rows = order[k : k + c.m]
                params = matrix_form_step(np, params, X[rows], Y[rows], n, sigmoid)
            seconds = time.perf_counter() - start
        elif c.engine == "torch":
            import torch

            with torch.no_grad():
                tparams = [torch.from_numpy(p) for p in initial_parameters(c.sizes, c.dtype)]
                Xt, Yt, ordert = torch.from_numpy(X), torch.from_numpy(Y), torch.from_numpy(order)
                start = time.perf_counter()
                for k in range(0, len(order), c.m):
                    trows = ordert[k : k + c.m]
                    tparams = matrix_form_step(torch, tparams, Xt[trows], Yt[trows], n, torch.sigmoid)
                seconds = time.perf_counter() - start
        elif c.engine == "jax":
            seconds = self._time_jax(c, X, Y, order, n)
        else:
            raise ValueError(f"engine: unknown {c.engine!r}")
        return seconds * 50_000 / c.images

    def _time_jax(self, c: Config, X: np.ndarray, Y: np.ndarray, order: np.ndarray, n: int) -> float:
        import jax
        import jax.numpy as jnp

        key = (*c.key(), c.images)
        if key not in self.compiled:

            def epoch(params: list[Any], Xd: Any, Yd: Any, batches: Any) -> list[Any]:
                def body(p: list[Any], rows: Any) -> tuple[list[Any], None]:
                    return matrix_form_step(jnp, p, Xd[rows], Yd[rows], n, jax.nn.sigmoid), None

                final: list[Any] = jax.lax.scan(body, params, batches)[0]
                return final

            fn = jax.jit(epoch, donate_argnums=(0,))
            Xd, Yd = jax.device_put(X), jax.device_put(Y)
            batches = jax.device_put(order.reshape(-1, c.m).astype(np.int32))
            jax.block_until_ready(fn([jnp.asarray(p) for p in initial_parameters(c.sizes, c.dtype)], Xd, Yd, batches))
            self.compiled[key] = (fn, Xd, Yd, batches)
        fn, Xd, Yd, batches = self.compiled[key]
        params = [jnp.asarray(p) for p in initial_parameters(c.sizes, c.dtype)]
        jax.block_until_ready(params)
        start = time.perf_counter()
        jax.block_until_ready(fn(params, Xd, Yd, batches))
        return time.perf_counter() - start


def worker_main(engine: str, threads: int) -> int:
    """Serve timing requests, one JSON object per line on stdin, one answer per line on stdout."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[:threads]))
    worker = Worker(engine, threads)
    for line in sys.stdin:
        request = json.loads(line)
        if request.get("peak"):
            from nndl import _core

            answer: dict[str, Any] = {dt: _core.fma_peak_gflops(np.dtype(dt), 0.3) for dt in ("float64", "float32")}
        else:
            c = Config(engine, tuple(request["sizes"]), request["m"], request["dtype"], threads, request["images"])
            before = 0.0
            if engine == "nndl" and threads > 1:  # where the host has the cores now (split_trial.hpp)
                from nndl import _core

                before = _core.cross_core_round_trip_ns()
            answer = {"seconds": worker.time(c)}
            if engine == "nndl" and threads > 1:
                answer["round_trip_ns"] = max(before, _core.cross_core_round_trip_ns())
            if engine == "nndl":
                import nndl

                answer["first"] = worker.first_epoch
                X = worker.arrays(c.dtype)[0]
                answer["sparse"] = nndl.Network(list(c.sizes), dtype=c.dtype)._first_layer_reads_sparse(
                    X, None, c.m, RUN_EPOCHS
                )
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()
    return 0


class WorkerProcess:
    """A worker in a child process with its engine's thread settings in the environment: ``python -m
    module --worker engine --threads N``, answering one JSON line per JSON request line."""

    def __init__(self, engine: str, threads: int, module: str = "nndl.bench_grid") -> None:
        env = dict(os.environ, **{name: str(threads) for name in BLAS_THREAD_VARIABLES})
        env["NNDL_NUM_THREADS"] = str(threads)
        if engine == "jax" and threads == 1:
            env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false").strip()
        self.process = subprocess.Popen(
            [sys.executable, "-m", module, "--worker", engine, "--threads", str(threads)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )

    def ask(self, request: dict[str, Any]) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"benchmark worker {self.process.args!r} stopped (exit {self.process.wait()})")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=60)


def available_engines() -> tuple[list[str], list[str]]:
    """(engines that can run here, messages for those that cannot)."""
    found, missing = [], []
    for engine in ENGINES:
        module = {"nndl": "nndl", "nndl-dense": "nndl", "jax": "jax", "torch": "torch", "numpy": "numpy"}[engine]
        try:
            __import__(module)
            found.append(engine)
        except ImportError:
            missing.append(f"{engine}: not installed (pip install '.[bench]'), skipped")
    return found, missing


def run_grid(
    repeats: int, quick: bool, shapes: tuple[tuple[int, ...], ...] = SHAPES, log: Callable[[str], None] = print
) -> int:
    engines, missing = available_engines()
    for text in missing:
        log(f"note: {text}")
    images = {e: 10_000 if quick else 50_000 for e in ("nndl", "nndl-dense", "jax")}
    baseline_images = 2_000 if quick else 10_000  # PyTorch and numpy, scaled to the epoch
    workers = {(e, t): WorkerProcess(e, t) for e in engines for t in THREADS}
    configs = [
        Config(e, s, m, dt, t, images.get(e, baseline_images))
        for s in shapes
        for m in MINI_BATCHES
        for dt in DTYPES
        for t in THREADS
        for e in engines
    ]
    best: dict[tuple[Any, ...], float] = {}
    sparse_rows: set[tuple[Any, ...]] = set()
    first_epochs: dict[tuple[Any, ...], float] = {}
    round_trips: dict[tuple[Any, ...], float] = {}  # nndl's two-thread rows: measured around their best time
    peaks: dict[str, float] = {}
    try:
        for rep in range(repeats):
            for c in configs:
                answer = workers[(c.engine, c.threads)].ask(
                    {"sizes": list(c.sizes), "m": c.m, "dtype": c.dtype, "images": c.images}
                )
                if answer["seconds"] < best.get(c.key(), float("inf")) and "round_trip_ns" in answer:
                    round_trips[(c.sizes, c.m, c.dtype, c.threads)] = answer["round_trip_ns"]
                best[c.key()] = min(best.get(c.key(), float("inf")), answer["seconds"])
                if answer.get("sparse"):
                    sparse_rows.add((c.sizes, c.m, c.dtype, c.threads))
                if "first" in answer:
                    row = (c.sizes, c.m, c.dtype, c.threads)
                    first_epochs[row] = min(first_epochs.get(row, float("inf")), answer["first"])
            if "nndl" in engines:
                for dt, value in workers[("nndl", 1)].ask({"peak": True}).items():
                    peaks[dt] = max(peaks.get(dt, 0.0), value)
            print(f"  repeat {rep + 1}/{repeats} done", file=sys.stderr, flush=True)
    finally:
        for w in workers.values():
            w.close()
    report(best, peaks, engines, repeats, quick, shapes, log, sparse_rows, first_epochs, round_trips)
    return 0


def report(
    best: dict[tuple[Any, ...], float],
    peaks: dict[str, float],
    engines: list[str],
    repeats: int,
    quick: bool,
    shapes: tuple[tuple[int, ...], ...],
    log: Callable[[str], None],
    sparse_rows: set[tuple[Any, ...]] | None = None,
    first_epochs: dict[tuple[Any, ...], float] | None = None,
    round_trips: dict[tuple[Any, ...], float] | None = None,
) -> None:
    log(f"# nndl bench --grid: one epoch of 50,000 MNIST images, sigmoid, cross-entropy, L1 lmbda {LMBDA}, eta {ETA}")
    log(
        f"machine: {platform.machine()}, {os.cpu_count()} logical CPUs; best of {repeats} alternating repeats"
        f"{' (quick: fewer images per run, scaled)' if quick else ''}; FMA peak measured in the same run: "
        + ", ".join(f"{dt} {v:.1f} GFLOP/s" for dt, v in peaks.items())
    )
    others = [e for e in engines if e not in NNDL_ENGINES]
    sparse_rows = sparse_rows or set()
    first_epochs = first_epochs or {}
    round_trips = round_trips or {}
    log("")
    log(
        f"nndl's times are epochs of a {RUN_EPOCHS}-epoch SGD call after its first (the mean of the later"
        " epochs); 'nndl 1st epoch' is the first, which also keeps the inputs' nonzeros where the sparse"
        " path reads 8-bit pixels."
    )
    if round_trips:
        log(
            "'cross-core (ns)': one cache line's round trip between the two cores, measured just before and after"
            " nndl's best two-thread time (the larger); about 50 ns when the host has the two virtual CPUs near"
            " each other, 300 ns and more when far apart, when two threads cannot gain much and nndl times"
            " both ways and keeps the faster."
        )
    log(
        "| shape | m | dtype | threads | nndl first layer | "
        + " | ".join(f"{e} (s)" for e in engines)
        + (" | nndl 1st epoch (s)" if first_epochs else "")
        + (" | cross-core (ns)" if round_trips else "")
        + " | nndl % of FMA peak | fastest other / nndl |"
    )
    extra = bool(first_epochs) + bool(round_trips)
    log("|---|---:|---|---:|---|" + "---:|" * (len(engines) + extra) + "---:|---:|")
    ratios: dict[tuple[Any, ...], float] = {}
    for s in shapes:
        for m in MINI_BATCHES:
            for dt in DTYPES:
                for t in THREADS:
                    row = [f"{best[(e, s, m, dt, t)]:.3f}" for e in engines]
                    pct = ""
                    if "nndl" in engines and dt in peaks:
                        gflops = flop_per_image(s) * 50_000 / 1e9 / best[("nndl", s, m, dt, t)]
                        pct = f"{100 * gflops / (peaks[dt] * t):.0f}%"
                    ratio = ""
                    if others and "nndl" in engines:
                        fastest = min(best[(e, s, m, dt, t)] for e in others)
                        ratios[(s, m, dt, t)] = fastest / best[("nndl", s, m, dt, t)]
                        ratio = f"{ratios[(s, m, dt, t)]:.2f}"
                    path = "sparse" if (s, m, dt, t) in sparse_rows else "dense"
                    if first_epochs:
                        row.append(f"{first_epochs[(s, m, dt, t)]:.3f}" if (s, m, dt, t) in first_epochs else "")
                    if round_trips:
                        row.append(f"{round_trips[(s, m, dt, t)]:.0f}" if (s, m, dt, t) in round_trips else "")
                    log(f"| {label(s)} | {m} | {dt} | {t} | {path} | " + " | ".join(row) + f" | {pct} | {ratio} |")
    log("")
    noise = same_code_spread(best, shapes, sparse_rows) if "nndl-dense" in engines and "nndl" in engines else None
    if noise is not None:
        spread, (n_shape, n_m, n_dtype, n_threads), dense_rows = noise
        log(
            f"Noise check: on the {dense_rows} rows marked dense, nndl and nndl-dense run the same code; their best "
            f"times differ by up to {100 * spread:.0f}% in this run ({label(n_shape)}, m={n_m}, {n_dtype}, "
            f"{n_threads} thread{'s' if n_threads > 1 else ''}). A ratio within that of its target is within "
            "this run's noise."
        )
        log("")
    if "nndl" not in engines:
        return
    targets: list[tuple[str, str, bool]] = []
    if "jax" in engines:
        for t in THREADS:
            worst = min(
                (best[("jax", s, m, dt, t)] / best[("nndl", s, m, dt, t)], s, m, dt)
                for s in shapes
                for m in MINI_BATCHES
                for dt in DTYPES
            )
            targets.append(
                (
                    f"nndl >= 1.5x JAX on every shape, {t} core{'s' if t > 1 else ''}",
                    f"worst {worst[0]:.2f}x ({label(worst[1])}, m={worst[2]}, {worst[3]})",
                    worst[0] >= 1.5,
                )
            )
    book = best.get(("nndl", (784, 30, 10), 10, "float64", 1))
    if book is not None:
        targets.append(
            (
                f"784-30-10 m=10 float64 1 core at least 2x faster than {BOOK_CONFIG_BEFORE_SECONDS} s",
                f"{book:.3f} s ({BOOK_CONFIG_BEFORE_SECONDS / book:.2f}x)",
                BOOK_CONFIG_BEFORE_SECONDS / book >= 2,
            )
        )
        f32 = best[("nndl", (784, 30, 10), 10, "float32", 1)]
        targets.append(("float32 >= 1.7x float64, 784-30-10 m=10 1 core", f"{book / f32:.2f}x", book / f32 >= 1.7))
    wide = ((784, 500, 10), 100, "float32", 1)
    if wide[0] in shapes and "float32" in peaks:
        floor = flop_per_image(wide[0]) * 50_000 / 1e9 / peaks["float32"]  # the dense arithmetic at peak
        dense_key = ("nndl-dense",) + wide if "nndl-dense" in engines else ("nndl",) + wide
        dense_pct = floor / best[dense_key]
        epoch = best[("nndl",) + wide]
        targets.append(
            (
                "784-500-10 m=100 float32 1 core: dense kernels >= 85% of FMA peak, or an epoch under the dense "
                "FMA floor through the sparse path",
                f"dense {100 * dense_pct:.0f}% of peak; epoch {epoch:.3f} s against a floor of {floor:.3f} s",
                dense_pct >= 0.85 or epoch < floor,
            )
        )
    two = [
        (best[("nndl", s, m, dt, 1)] / best[("nndl", s, m, dt, 2)], s, m, dt)
        for s in shapes
        for m in MINI_BATCHES
        for dt in DTYPES
    ]
    wide_two = [r for r in two if r[2] >= 100 and max(r[1][1:-1]) >= 100]
    if wide_two:
        w = min(wide_two)
        targets.append(
            (
                "2 threads >= 1.8x 1 thread at m >= 100, H >= 100",
                f"worst {w[0]:.2f}x ({label(w[1])}, m={w[2]}, {w[3]})",
                w[0] >= 1.8,
            )
        )
    w = min(two)
    targets.append(
        ("2 threads no slower than 1 anywhere", f"worst {w[0]:.2f}x ({label(w[1])}, m={w[2]}, {w[3]})", w[0] >= 1.0)
    )
    log_targets(targets, log)


def same_code_spread(
    best: dict[tuple[Any, ...], float], shapes: tuple[tuple[int, ...], ...], sparse_rows: set[tuple[Any, ...]]
) -> tuple[float, tuple[Any, ...], int] | None:
    """Where nndl chose its dense first layer it runs exactly what nndl-dense runs, so the two best
    times differ only by the machine's noise: the largest relative difference (against the faster),
    its row, and the number of such rows; None when every row is sparse."""
    rows = [
        (s, m, dt, t)
        for s in shapes
        for m in MINI_BATCHES
        for dt in DTYPES
        for t in THREADS
        if (s, m, dt, t) not in sparse_rows
    ]
    if not rows:
        return None

    def spread(row: tuple[Any, ...]) -> float:
        a, b = best[("nndl",) + row], best[("nndl-dense",) + row]
        return abs(a - b) / min(a, b)

    worst = max(rows, key=spread)
    return spread(worst), worst, len(rows)


def log_targets(targets: list[tuple[str, str, bool]], log: Callable[[str], None], peers: str = "") -> None:
    """The targets as a table of (what, measured, met or NOT met), then how many are met."""
    log("| target | measured | |")
    log("|---|---|---|")
    for what, measured, met in targets:
        log(f"| {what} | {measured} | {'met' if met else 'NOT met'} |")
    log("")
    log(f"{sum(met for _, _, met in targets)} of {len(targets)} targets met{peers}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nndl bench --grid", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer images per run (scaled), 1 repeat")
    parser.add_argument("--repeats", type=int, default=None, help="repeats per configuration (default 3)")
    parser.add_argument("--shapes", default=None, help="comma-separated shapes such as 784-30-10,784-100-10")
    parser.add_argument("--worker", choices=ENGINES, help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker_main(args.worker, args.threads)
    shapes = SHAPES
    if args.shapes:
        shapes = tuple(tuple(int(k) for k in s.split("-")) for s in args.shapes.split(","))
        for s in shapes:
            if len(s) < 2 or s[0] != 784 or s[-1] != 10:
                parser.error(f"--shapes: {label(s)} must start at 784 and end at 10 (MNIST)")
    return run_grid(args.repeats or (1 if args.quick else 3), args.quick, shapes)


if __name__ == "__main__":
    sys.exit(main())
