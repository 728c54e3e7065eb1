"""Training one configuration of the book for several seeds, with the per-epoch numbers its figures need.

The monitors are computed at the end of each epoch from SGD's progress callback: one pass per data
set gives cost and accuracy together, and any data set can be watched (the book's chapter-1 runs
watch the test set, chapter 5's the validation set). Each seed builds its own network, so the seed
decides the initial weights and the order of the mini-batches, as everywhere in nndl.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Literal

import numpy as np

from ..costs import CrossEntropyCost, QuadraticCost
from ..data.arrays import Arrays, to_arrays
from ..data.mnist import load_mnist
from ..network2 import Network
from ..regularization import penalty

Log = Callable[[str], None]
_log_lock = threading.Lock()

FULL_SEEDS = (1, 2, 3, 4, 5)
QUICK_SEEDS = (1, 2)


@dataclass(frozen=True)
class Setting:
    """One training configuration, in the book's terms."""

    sizes: tuple[int, ...]
    eta: float
    epochs: int
    cost: Literal["cross-entropy", "quadratic"] = "cross-entropy"
    # "large": the book's chapter-1 initializer, N(0, 1) weights and biases; "default": weights
    # N(0, 1/n_in), network2's default.
    init: Literal["large", "default"] = "default"
    lmbda: float = 0.0
    regularization: str = "none"
    l1_method: str = "subgradient"
    l1_ratio: float = 0.5
    mini_batch: int = 10
    n_train: int | None = None  # the first n_train training images (None: all 50,000)
    # Chapter 3's learning-rate schedule: halve eta after this many epochs without a better
    # validation accuracy, stop once it is 1/128 of its start (``epochs`` is then the cap). 0: off.
    halve_eta_after: int = 0
    momentum: float = 0.0


@dataclass(frozen=True)
class Scale:
    """What --quick shrinks: training images, evaluation images, epochs, seeds."""

    seeds: tuple[int, ...]
    n_train: int | None = None
    n_eval: int | None = None
    max_epochs: int | None = None
    # Runs trained at once, each in its own thread (the C++ engine releases the GIL while it
    # trains): results do not depend on it, each run having its own network and generator.
    jobs: int = 1

    def setting(self, setting: Setting) -> Setting:
        n_train = setting.n_train
        if self.n_train is not None:
            n_train = min(n_train or self.n_train, self.n_train)
        epochs = setting.epochs if self.max_epochs is None else min(setting.epochs, self.max_epochs)
        return replace(setting, n_train=n_train, epochs=epochs)


# Set by ``nndl reproduce --jobs`` and ``--cache``; the chapters' run() keeps the registry's signature.
_jobs = 1
_cache: Path | None = None


def set_cache(directory: str | os.PathLike[str] | None) -> None:
    """Keep every finished run in ``directory`` and reuse it when the same run is asked for again.

    A run is the same when its setting, seed, training-set size and monitored sets are: a long
    reproduction that was interrupted resumes where it stopped, and a report can be rewritten
    without training again. ``None`` turns the cache off.
    """
    global _cache
    _cache = None if directory is None else Path(directory)
    if _cache is not None:
        _cache.mkdir(parents=True, exist_ok=True)


def _cache_file(kind: str, key: Mapping[str, object]) -> Path | None:
    if _cache is None:
        return None
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:20]
    return _cache / f"{kind}-{digest}"


def cached_record(kind: str, key: Mapping[str, object], compute: Callable[[], dict[str, float]]) -> dict[str, float]:
    """``compute()``, or the numbers stored for ``key`` by an earlier call (see ``set_cache``)."""
    file = _cache_file(kind, key)
    if file is not None and file.with_suffix(".json").exists():
        return dict(json.loads(file.with_suffix(".json").read_text())["value"])
    value = compute()
    if file is not None:
        _write_atomically(file.with_suffix(".json"), json.dumps({"key": key, "value": value}).encode())
    return value


# Compute seconds of every run so far, read from the cache for reused runs: what a chapter cost on
# this machine even when its report was written from cached runs.
_compute_seconds = 0.0


def add_compute_seconds(seconds: float) -> None:
    global _compute_seconds
    with _log_lock:
        _compute_seconds += seconds


def compute_seconds() -> float:
    return _compute_seconds


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + f".{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def set_jobs(jobs: int) -> None:
    """How many runs of one experiment train at once (threads), for every chapter run after this call."""
    global _jobs
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs: expected an integer >= 1, got {jobs!r}")
    _jobs = jobs


def jobs() -> int:
    """The runs trained at once, as ``set_jobs`` last set it (1 by default)."""
    return _jobs


def scale_for(quick: bool, seeds: Sequence[int] | None, jobs: int | None = None) -> Scale:
    """The full run (the book's data and epochs, 5 seeds) or the quick one tests use."""
    jobs = _jobs if jobs is None else jobs
    chosen = tuple(int(s) for s in seeds) if seeds else (QUICK_SEEDS if quick else FULL_SEEDS)
    if quick:
        return Scale(chosen, n_train=500, n_eval=500, max_epochs=2, jobs=jobs)
    return Scale(chosen, jobs=jobs)


# The book's experiments train in float32: the C++ engine runs it about twice as fast as float64
# (its SIMD lanes hold twice as many numbers) on a machine shared by four, and the rounding is far
# below the seed-to-seed spread the reports measure.
DTYPE = np.dtype(np.float32)


@dataclass(frozen=True)
class MNIST:
    """The book's split as the engines consume it (in DTYPE)."""

    training: Arrays
    validation: Arrays
    test: Arrays

    def first(self, n: int | None) -> Arrays:
        return self.training if n is None else _head(self.training, n)


def _head(data: Arrays, n: int) -> Arrays:
    return Arrays(data.X[:n], data.Y[:n], data.labels[:n])


def load_book_mnist(scale: Scale) -> MNIST:
    (X, y), (Xv, yv), (Xt, yt) = load_mnist(format="arrays")
    training = to_arrays((X, y), 784, 10, DTYPE, "training")
    validation = to_arrays((Xv, yv), 784, 10, DTYPE, "validation")
    test = to_arrays((Xt, yt), 784, 10, DTYPE, "test")
    if scale.n_eval is not None:
        validation, test = _head(validation, scale.n_eval), _head(test, scale.n_eval)
    if scale.n_train is not None:
        training = _head(training, scale.n_train)
    return MNIST(training, validation, test)


@dataclass
class Curves:
    """What one seed's run measured, per epoch."""

    seed: int
    accuracy: dict[str, list[float]] = field(default_factory=dict)  # monitored set -> fraction per epoch
    cost: dict[str, list[float]] = field(default_factory=dict)  # monitored set -> mean cost + penalty
    seconds: float = 0.0
    network: Network | None = None


def new_network(setting: Setting, seed: int) -> Network:
    cost = CrossEntropyCost if setting.cost == "cross-entropy" else QuadraticCost
    net = Network(list(setting.sizes), cost=cost, seed=seed, dtype=DTYPE)
    if setting.init == "large":
        net.large_weight_initializer()
    return net


def train(
    setting: Setting,
    seed: int,
    training: Arrays,
    monitors: Mapping[str, Arrays],
    log: Log | None = None,
    label: str = "",
    keep_network: bool = False,
) -> Curves:
    """Train ``setting`` from seed ``seed``; cost and accuracy on every monitored set after every epoch."""
    key = {
        "setting": asdict(setting),
        "seed": seed,
        "dtype": DTYPE.name,
        "n_training": len(training),
        "monitors": {name: len(arrays) for name, arrays in monitors.items()},
    }
    file = _cache_file("run", key)
    if (
        file is not None
        and file.with_suffix(".json").exists()
        and (not keep_network or file.with_suffix(".npz").exists())
    ):
        reused = _load_run(file, setting, seed, keep_network)
        add_compute_seconds(reused.seconds)
        return reused
    net = new_network(setting, seed)
    data = training if setting.n_train is None else _head(training, setting.n_train)
    n = len(data)
    curves = Curves(seed, {name: [] for name in monitors}, {name: [] for name in monitors})
    start = time.perf_counter()

    def at_epoch_end(epoch: int, done: int, total: int) -> None:
        if done != total:
            return
        # The training-set size n scales the penalty, as SGD's own monitors do.
        reg = penalty(net.weights, setting.lmbda, n, setting.regularization, setting.l1_ratio)
        for name, arrays in monitors.items():
            cost_sum, correct = net._evaluate(arrays)
            curves.accuracy[name].append(correct / len(arrays))
            curves.cost[name].append(cost_sum / len(arrays) + reg)

    schedule: dict[str, Any] = {}
    if setting.halve_eta_after:
        if "validation" not in monitors:
            raise ValueError("setting: halve_eta_after judges by the validation set; monitor 'validation'")
        schedule = {
            "evaluation_data": monitors["validation"],
            "monitor_evaluation_accuracy": True,
            "halve_eta_after": setting.halve_eta_after,
        }
    net.SGD(
        data,
        setting.epochs,
        setting.mini_batch,
        setting.eta,
        lmbda=setting.lmbda,
        regularization=setting.regularization,
        l1_method=setting.l1_method,
        l1_ratio=setting.l1_ratio,
        momentum=setting.momentum,
        verbose=False,
        progress=at_epoch_end,
        **schedule,
    )
    curves.seconds = time.perf_counter() - start
    add_compute_seconds(curves.seconds)
    if keep_network:
        curves.network = net
    if file is not None:
        if keep_network:
            buffer = io.BytesIO()
            np.savez(buffer, *net.weights, *net.biases)
            _write_atomically(file.with_suffix(".npz"), buffer.getvalue())
        record = {"key": key, "accuracy": curves.accuracy, "cost": curves.cost, "seconds": curves.seconds}
        _write_atomically(file.with_suffix(".json"), json.dumps(record).encode())
    if log is not None:
        shown = ", ".join(f"{name} {100 * acc[-1]:.2f}%" for name, acc in curves.accuracy.items() if acc)
        trained = len(next(iter(curves.accuracy.values()), [])) or setting.epochs
        with _log_lock:  # runs in threads (--jobs): one whole line at a time
            log(f"  {label} seed {seed}: {trained} epochs, final {shown} ({format_seconds(curves.seconds)})")
    return curves


def _load_run(file: Path, setting: Setting, seed: int, keep_network: bool) -> Curves:
    record = json.loads(file.with_suffix(".json").read_text())
    curves = Curves(seed, record["accuracy"], record["cost"], record["seconds"])
    if keep_network:
        net = new_network(setting, seed)
        layers = net.num_layers - 1
        with np.load(file.with_suffix(".npz")) as saved:
            arrays = [saved[f"arr_{i}"] for i in range(2 * layers)]
        net.weights, net.biases = arrays[:layers], arrays[layers:]
        curves.network = net
    return curves


def train_seeds(
    setting: Setting,
    scale: Scale,
    training: Arrays,
    monitors: Mapping[str, Arrays],
    log: Log | None = None,
    label: str = "",
    keep_network: bool = False,
) -> list[Curves]:
    """``train`` once per seed of ``scale``, ``scale.jobs`` at a time; the setting is scaled here."""
    scaled = scale.setting(setting)
    if scale.jobs <= 1:
        return [train(scaled, seed, training, monitors, log, label, keep_network) for seed in scale.seeds]
    with ThreadPoolExecutor(max_workers=scale.jobs) as pool:
        return list(
            pool.map(lambda seed: train(scaled, seed, training, monitors, log, label, keep_network), scale.seeds)
        )


def best(values: Sequence[float]) -> float:
    """The best epoch's value: the book quotes the peak of its printed per-epoch accuracies."""
    return float(max(values))


def format_seconds(seconds: float) -> str:
    """A duration as a person reads it: hundredths below a second, tenths below a minute (quick runs are short)."""
    if seconds < 1:
        return f"{seconds:.2f} s"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s"


def stack(curves: Sequence[Curves], name: str, kind: Literal["accuracy", "cost"] = "accuracy") -> np.ndarray:
    """(seeds, epochs) array of one monitored quantity."""
    return np.array([getattr(c, kind)[name] for c in curves], dtype=float)


def machine_footer(wall_seconds: float, compute_seconds: float) -> str:
    """The report's last line: versions, threads, and what the chapter cost on this machine."""
    import platform

    import nndl

    # What else ran shows in the load average: on a shared machine the times are inflated and noisy.
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"nndl {nndl.__version__}, Python {platform.python_version()}, numpy {np.__version__}, {platform.machine()}, "
        f"{nndl.get_num_threads()} engine thread(s) per run, {_jobs} run(s) at once, on {os.cpu_count()} logical "
        f"CPUs (load average {load:.1f} when this was written). Training and baselines took "
        f"{format_seconds(compute_seconds)} summed over the runs (each timed on its own); this report was written in "
        f"{format_seconds(wall_seconds)} "
        "(less when runs came from the cache or ran side by side with --jobs)."
    )
