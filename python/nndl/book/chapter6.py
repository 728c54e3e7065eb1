"""Chapter 6 of the book reproduced with ``nndl.network3``: the convolutional networks' accuracies,
the five-network vote, learning curves and the first layer's filters under L2 and L1.

Each row trains the book's network with the book's hyper-parameters (mini-batch 10, network3's
lmbda) and reports what the book reports: the test accuracy at the epoch of best validation
accuracy, over several seeds (the book quotes the best of 3 runs; we give every run, the best and
the mean). The vote's five networks are the dropout row's own runs (one per seed) and as many more
as make five, each a separate Dask task, so a Dask cluster trains them in parallel
(``dask.config.set(scheduler=...)`` or an active ``distributed.Client`` is used). Five independent
trainings of the dropout network are what the book votes with; taking the row's runs as three of
them saves three of the eight 40-epoch trainings the two rows would otherwise need.

``quick=True`` trains each row for 2 epochs on the first 5,000 training images (validation and test
on 1,000 each): a check that every row runs and learns, not the book's figures. Each row's epoch is
timed on those images and scaled to the full training set, and the report states how long the
full row (all epochs, all seeds) would take on this machine. ``full_rows`` (``nndl reproduce
--chapter 6 --rows 3,4``) trains the named rows in full all the same. Every full run is kept as a
record in the report's directory (``chapter6_runs.json``, see ``chapter6_runs``) and every run in
``nndl reproduce --cache DIR``, and rows whose runs are kept are reused, not trained: a chapter
that takes a day on one core is trained a few rows at a time, in several sittings, and reported
together.

The FullyConnectedLayers are initialized as network3.py's code does (N(0, 1/n_out)), not as its
text says (1/n_in, nndl's default): these rows reproduce the code the book ran. With the text's
initialization the sigmoid conv network barely moves in its first epoch at eta 0.1 (10.9%
validation accuracy after 10,000 images, against 83% with the code's; measured here).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import network3 as n3
from ..data.expand_mnist import expand_mnist, shifted_copies
from ..network3_layers import Activation, Layer
from . import runs
from .chapter6_runs import RECORDS_FILE, Run, RunStore, from_record, run_of, to_record
from .results import make_row, mean_and_sd

MINI_BATCH = 10
QUICK_TRAIN, QUICK_EVAL, QUICK_EPOCHS = 5000, 1000, 2
FULL_TRAIN, FULL_EVAL, EXPANDED_TRAIN = 50_000, 10_000, 250_000


@dataclass(frozen=True)
class Row:
    experiment: str
    book: float | None  # the book's accuracy, as a fraction
    epochs: int
    eta: float
    lmbda: float
    expanded: bool
    build: Callable[[int], list[Layer]]
    regularization: str = "l2"
    note: str = ""


def fc100(m: int) -> list[Layer]:
    return [n3.FullyConnectedLayer(784, 100, weight_init="n_out"), n3.SoftmaxLayer(100, 10)]


def conv1(m: int) -> list[Layer]:
    return [
        n3.ConvPoolLayer((20, 1, 5, 5), (m, 1, 28, 28), (2, 2)),
        n3.FullyConnectedLayer(20 * 12 * 12, 100, weight_init="n_out"),
        n3.SoftmaxLayer(100, 10),
    ]


def conv2(m: int, act: Activation = n3.sigmoid) -> list[Layer]:
    return [
        n3.ConvPoolLayer((20, 1, 5, 5), (m, 1, 28, 28), (2, 2), act),
        n3.ConvPoolLayer((40, 20, 5, 5), (m, 20, 12, 12), (2, 2), act),
        n3.FullyConnectedLayer(40 * 4 * 4, 100, act, weight_init="n_out"),
        n3.SoftmaxLayer(100, 10),
    ]


def conv2_relu(m: int) -> list[Layer]:
    return conv2(m, n3.ReLU)


def conv2_dropout(m: int) -> list[Layer]:
    return [
        n3.ConvPoolLayer((20, 1, 5, 5), (m, 1, 28, 28), (2, 2), n3.ReLU),
        n3.ConvPoolLayer((40, 20, 5, 5), (m, 20, 12, 12), (2, 2), n3.ReLU),
        n3.FullyConnectedLayer(40 * 4 * 4, 1000, n3.ReLU, p_dropout=0.5, weight_init="n_out"),
        n3.FullyConnectedLayer(1000, 1000, n3.ReLU, p_dropout=0.5, weight_init="n_out"),
        n3.SoftmaxLayer(1000, 10, p_dropout=0.5),
    ]


ROWS = [
    Row("FC100 + softmax", 0.9780, 60, 0.1, 0.0, False, fc100),
    Row("conv(20 5x5, pool 2) + FC100", 0.9878, 60, 0.1, 0.0, False, conv1),
    Row("two conv layers + FC100", 0.9906, 60, 0.1, 0.0, False, conv2),
    Row("two conv, ReLU, eta 0.03, lmbda 0.1", 0.9923, 60, 0.03, 0.1, False, conv2_relu),
    Row("two conv, ReLU, expanded data", 0.9937, 60, 0.03, 0.1, True, conv2_relu),
    Row("FC1000 x2, dropout 0.5, expanded data", 0.9960, 40, 0.03, 0.0, True, conv2_dropout),
    Row(
        "two conv, ReLU, L1 instead of L2 (lmbda 0.1)",
        None,
        60,
        0.03,
        0.1,
        False,
        conv2_relu,
        "l1",
        "not in the book: the row above it with network3's lmbda applied as L1",
    ),
]
VOTE_BOOK = 0.9967
VOTE_NETWORKS = 5
VOTE_EXPERIMENT = "vote of five dropout networks"
#: What differs where a row is not "reproduced" (docs/book/README.md's table).
DIFFERENCES = {
    VOTE_EXPERIMENT: (
        "one vote, so no spread over seeds (another vote is five more 40-epoch networks, ~4 h on one "
        "core); the book's figure is one vote too, and each 0.01 point is one of the 10,000 test digits"
    )
}
# The rows whose first layers the filter figure shows (L2 and L1, the same network otherwise).
FILTER_ROWS = ("two conv, ReLU, eta 0.03, lmbda 0.1", "two conv, ReLU, L1 instead of L2 (lmbda 0.1)")
MEASURE = "test accuracy at the epoch of best validation accuracy"


@dataclass
class Data:
    train: tuple[np.ndarray, np.ndarray]
    expanded: tuple[np.ndarray, np.ndarray] | None
    validation: tuple[np.ndarray, np.ndarray]
    test: tuple[np.ndarray, np.ndarray]


def cut(data: tuple[np.ndarray, np.ndarray], k: int) -> tuple[np.ndarray, np.ndarray]:
    return data[0][:k], data[1][:k]


def expanded_start(train: tuple[np.ndarray, np.ndarray], originals: int) -> tuple[np.ndarray, np.ndarray]:
    """The first 5 * ``originals`` images of the expanded set, made without the others: the set keeps
    each image's five versions together, so they are the five versions of the first ``originals``."""
    images = train[0][:originals].reshape(-1, 28, 28)
    return shifted_copies(images).reshape(-1, 784), np.repeat(train[1][:originals], 5)


def load(quick: bool, need_expanded: bool) -> Data:
    train, validation, test = n3.load_data_shared()
    everything = len(train[1])
    train, validation, test = cut(train, FULL_TRAIN), cut(validation, FULL_EVAL), cut(test, FULL_EVAL)
    if quick:
        expanded = expanded_start(train, QUICK_TRAIN // 5)
        return Data(cut(train, QUICK_TRAIN), expanded, cut(validation, QUICK_EVAL), cut(test, QUICK_EVAL))
    if not need_expanded:
        return Data(train, None, validation, test)
    # The book's whole expanded set (250,000 images, made once and cached), or its start when the
    # training set is shrunk (the tests).
    return Data(
        train, expand_mnist() if FULL_TRAIN >= everything else expanded_start(train, FULL_TRAIN), validation, test
    )


def train_row(row: Row, data: Data, seed: int, epochs: int) -> tuple[n3.Network, n3.History3]:
    """One run of ``row`` (a Dask task for the vote); returns the trained network and its history."""
    net = n3.Network(row.build(MINI_BATCH), MINI_BATCH, seed=seed)
    train = data.expanded if row.expanded and data.expanded is not None else data.train
    history = net.SGD(
        train,
        epochs,
        MINI_BATCH,
        row.eta,
        data.validation,
        data.test,
        lmbda=row.lmbda,
        regularization=row.regularization,
        verbose=False,
    )
    return net, history


# -- runs kept in ``nndl reproduce --cache DIR`` ----------------------------------------------------
def _run_key(row: Row, seed: int, epochs: int, full: bool) -> dict[str, Any]:
    return {
        "chapter": 6,
        "experiment": row.experiment,
        "network": row.build.__name__,
        "eta": row.eta,
        "lmbda": row.lmbda,
        "regularization": row.regularization,
        "expanded": row.expanded,
        "mini_batch": MINI_BATCH,
        "epochs": epochs,
        "seed": seed,
        # The sizes of the training and evaluation sets, full or quick (tests shrink both).
        "data": [FULL_TRAIN, FULL_EVAL] if full else [QUICK_TRAIN, QUICK_EVAL],
    }


def _trained_run(row: Row, data: Data, seed: int, epochs: int) -> Run:
    """One run of ``row`` as the report keeps it (a Dask task for the vote's other networks)."""
    net, history = train_row(row, data, seed, epochs)
    return run_of(net, history, data.test)


def _train_or_reuse(row: Row, data: Data, seed: int, epochs: int, full: bool, store: RunStore) -> Run:
    key = _run_key(row, seed, epochs, full)
    record = store.find(key)
    if record is not None:
        if full:
            store.keep(record)  # the report's directory holds every full run the report is made of
        return from_record(record, data.test[1])
    run = _trained_run(row, data, seed, epochs)
    store.add(to_record(key, run, data.test[1]), full)
    return run


def _work(row: Row, epochs: int, full: bool) -> float:
    """A run's multiply-adds, roughly: longest runs start first, so --jobs workers finish together."""
    images = (EXPANDED_TRAIN if row.expanded else FULL_TRAIN) if full else QUICK_TRAIN
    return n3._macs_per_example(row.build(MINI_BATCH)) * images * epochs


def vote(predictions: Sequence[np.ndarray], y: np.ndarray) -> float:
    """Accuracy of the plurality vote of the networks' predicted digits (ties: the smallest digit)."""
    counts = np.apply_along_axis(np.bincount, 0, np.stack(predictions), minlength=10)
    return float(np.mean(np.argmax(counts, axis=0) == y))


def voting_seeds(seeds: Sequence[int]) -> list[int]:
    """The vote's five networks: the dropout row's seeds first, then seeds from 100 up not among them."""
    extra = (seed for seed in range(100, 100 + 2 * VOTE_NETWORKS) if seed not in seeds)
    return (list(dict.fromkeys(seeds)) + list(extra))[:VOTE_NETWORKS]


def summary(values: list[float]) -> tuple[float, float]:
    mean = float(np.mean(values))
    sd = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
    return mean, sd


def duration(seconds: float) -> str:
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def experiment_names(numbers: Sequence[int]) -> list[str]:
    """The report's row numbers (1 = FC100 + softmax, ..., the vote last) as experiment names."""
    names = [row.experiment for row in ROWS] + [VOTE_EXPERIMENT]
    bad = [k for k in numbers if not 1 <= k <= len(names)]
    if bad:
        raise ValueError(f"rows: expected row numbers 1-{len(names)}, got {bad}")
    return [names[k - 1] for k in numbers]


def run(
    out: Path,
    *,
    quick: bool,
    seeds: Sequence[int] | None,
    log: Callable[[str], None],
    full_rows: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """Train every row (and the vote), write out/"chapter6.md", chapter6.json and the figures.

    ``quick=False`` and no ``full_rows``: every row in full (the book's epochs on all 50,000 images:
    about a day on one core). Else 2 epochs on 5,000 images, except the experiments named in ``full_rows``,
    which are trained in full, and rows whose full runs ``out/chapter6_runs.json`` or ``nndl
    reproduce --cache`` holds, which are reused. Runs train ``--jobs`` at a time (threads; each
    run's results do not depend on it).
    Returns the rows for results.json: the full ones when any row is full, else the quick ones."""
    from dask.base import compute  # the dask extra
    from dask.delayed import delayed

    out.mkdir(parents=True, exist_ok=True)
    seeds = list(seeds) if seeds else [1, 2, 3]
    unknown = set(full_rows) - {row.experiment for row in ROWS} - {VOTE_EXPERIMENT}
    if unknown:
        raise ValueError(f"full_rows: no such experiment {sorted(unknown)}")
    dropout_row = next(row for row in ROWS if row.build is conv2_dropout and row.expanded)
    vote_seeds = voting_seeds(seeds)
    store = RunStore(out)

    def is_full(row: Row, experiment: str, run_seeds: Sequence[int]) -> bool:
        if experiment in full_rows or not (quick or full_rows):  # rows named: the others as with quick
            return True
        return all(store.find(_run_key(row, s, row.epochs, True)) is not None for s in run_seeds)

    plan = {row.experiment: is_full(row, row.experiment, seeds) for row in ROWS}
    vote_full = is_full(dropout_row, VOTE_EXPERIMENT, vote_seeds)
    needs_full = any(plan.values()) or vote_full
    needs_quick = not all(plan.values()) or not vote_full
    full_expanded = vote_full or any(row.expanded and plan[row.experiment] for row in ROWS)
    quick_data = load(True, need_expanded=True) if needs_quick else None
    full_data = load(False, need_expanded=full_expanded) if needs_full else None

    def data_for(full: bool) -> Data:
        found = full_data if full else quick_data
        assert found is not None
        return found

    # Every (row, seed) run, the longest first, on --jobs threads; the vote's five networks are Dask tasks.
    tasks = [
        (row, seed, row.epochs if plan[row.experiment] else QUICK_EPOCHS, plan[row.experiment])
        for row in ROWS
        for seed in seeds
    ]
    tasks.sort(key=lambda task: -_work(task[0], task[2], task[3]))
    started, compute_start = time.perf_counter(), runs.compute_seconds()

    def one(task: tuple[Row, int, int, bool]) -> Run:
        row, seed, epochs, full = task
        result = _train_or_reuse(row, data_for(full), seed, epochs, full, store)
        history = result.history
        with runs._log_lock:  # runs in threads (--jobs): one whole line at a time
            log(
                f"chapter 6: {row.experiment}, seed {seed}: test {history.test_accuracy_at_best} at the best "
                f"validation epoch ({duration(sum(history.seconds))})"
            )
        return result

    with ThreadPoolExecutor(max_workers=runs.jobs()) as pool:
        done = dict(zip([(task[0].experiment, task[1]) for task in tasks], pool.map(one, tasks)))

    results: list[dict[str, Any]] = []
    curves: dict[str, list[float]] = {}
    timings: dict[str, tuple[float, float]] = {}  # experiment: (seconds per full epoch, full row)
    first_layers: dict[str, np.ndarray] = {}
    for row in ROWS:
        full = plan[row.experiment]
        epochs = row.epochs if full else QUICK_EPOCHS
        trained = [done[(row.experiment, seed)] for seed in seeds]
        histories = [r.history for r in trained]
        values = [float(h.test_accuracy_at_best) for h in histories if h.test_accuracy_at_best is not None]
        first_filters = trained[0].first_filters
        if row.experiment in FILTER_ROWS and first_filters is not None:
            first_layers.setdefault(row.regularization, first_filters)
        row_data = data_for(full)
        n_train = (
            len(row_data.expanded[1]) if row.expanded and row_data.expanded is not None else len(row_data.train[1])
        )
        compute_seconds = sum(sum(h.seconds) for h in histories)
        runs.add_compute_seconds(compute_seconds)
        per_example = float(np.median([s for h in histories for s in h.seconds])) / n_train
        full_epoch = per_example * (EXPANDED_TRAIN if row.expanded else FULL_TRAIN)
        full_row = full_epoch * row.epochs * len(seeds)
        timings[row.experiment] = (full_epoch, full_row)
        if full or not any(plan.values()):  # the curves of full rows only, when there are any
            curves[row.experiment] = histories[0].validation_accuracy
        note = f"best of {len(values)}: {max(values):.4f}; trained in {duration(compute_seconds)} by "
        note += " and ".join(sorted({r.trained_by for r in trained}))
        note += f"; a full epoch here takes ~{duration(full_epoch)}, the full row ({plural(len(seeds), 'run')}) "
        note += f"~{duration(full_row)}"
        note += "; full run" if full else f"; quick: {plural(epochs, 'epoch')} on {QUICK_TRAIN} training images"
        if row.note:
            note += f"; {row.note}"
        results.append(make_row(6, row.experiment, row.book, MEASURE, seeds, values, epochs, note) | {"full": full})

    # The vote: five independent dropout networks, the row's own runs where they were trained alike,
    # the others from the cache or each a Dask task (a cluster trains them at once).
    epochs = dropout_row.epochs if vote_full else QUICK_EPOCHS
    vote_data = data_for(vote_full)
    same_runs = plan[dropout_row.experiment] == vote_full

    def kept(seed: int) -> Run | None:
        if same_runs and seed in seeds:
            return done[(dropout_row.experiment, seed)]
        record = store.find(_run_key(dropout_row, seed, epochs, vote_full))
        if record is not None and vote_full:
            store.keep(record)
        return None if record is None else from_record(record, vote_data.test[1])

    reused = {seed: kept(seed) for seed in vote_seeds}
    from_row = [seed for seed in vote_seeds if same_runs and seed in seeds]
    missing = [seed for seed, found in reused.items() if found is None]
    vote_started = time.perf_counter()
    computed = compute(*[delayed(_trained_run)(dropout_row, vote_data, seed, epochs) for seed in missing])
    vote_elapsed = time.perf_counter() - vote_started
    for seed, trained_run in zip(missing, computed):
        key = _run_key(dropout_row, seed, epochs, vote_full)
        store.add(to_record(key, trained_run, vote_data.test[1]), vote_full)
        reused[seed] = trained_run
    voters = {seed: found for seed, found in reused.items() if found is not None}
    accuracy = vote([r.test_predictions for r in voters.values()], vote_data.test[1])
    vote_seconds = sum(sum(r.history.seconds) for seed, r in voters.items() if seed not in from_row)
    runs.add_compute_seconds(vote_seconds)  # the row's own runs were counted with the row
    full_extra = timings[dropout_row.experiment][0] * dropout_row.epochs * (VOTE_NETWORKS - len(from_row))
    results.append(
        make_row(
            6,
            VOTE_EXPERIMENT,
            VOTE_BOOK,
            "test accuracy of the plurality vote (each network at its last epoch)",
            vote_seeds,
            [accuracy],
            epochs,
            f"the dropout row's {plural(len(from_row), 'run')} (seeds {', '.join(map(str, from_row)) or '-'}) and "
            f"{plural(VOTE_NETWORKS - len(from_row), 'more network')} as Dask tasks ({len(missing)} trained now, "
            f"{duration(vote_elapsed)} wall, {duration(vote_seconds)} of training); beyond the row's runs the full "
            f"vote would take ~{duration(full_extra)} on one core of this machine (divided by the workers on a "
            "cluster)"
            + ("; full run" if vote_full else f"; quick: {plural(epochs, 'epoch')} on {QUICK_TRAIN} training images"),
        )
        | {"full": vote_full}
    )
    log(f"chapter 6: vote: {accuracy}")
    figures = write_figures(out, curves, first_layers)
    footer = runs.machine_footer(time.perf_counter() - started, runs.compute_seconds() - compute_start)
    write_report(out, results, timings, figures, footer)
    (out / "chapter6.json").write_text(json.dumps(results, indent=1))
    log(f"chapter 6: {duration(time.perf_counter() - started)} wall")
    full_results = [{k: v for k, v in r.items() if k != "full"} for r in results if r["full"]]
    return full_results or [{k: v for k, v in r.items() if k != "full"} for r in results]


def write_figures(out: Path, curves: dict[str, list[float]], first_layers: dict[str, np.ndarray]) -> list[str]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # the plot extra is not installed
        return []
    names = []
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, accuracy in curves.items():
        ax.plot(
            range(len(accuracy)), [100 * a for a in accuracy], marker="." if len(accuracy) > 10 else "o", label=name
        )
    # The rows differ by tenths of a point after the first epochs: show from there, not from chance.
    later = [100 * a for accuracy in curves.values() for a in accuracy[2:]]
    if later:
        ax.set_ylim(min(later) - 0.5, min(100.0, max(later) + 0.2))
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation accuracy (%), first seed")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "chapter6_learning_curves.png", dpi=100)
    plt.close(fig)
    names.append("chapter6_learning_curves.png")
    if first_layers:
        fig, axes = plt.subplots(len(first_layers), 20, figsize=(12, 1.0 * len(first_layers) + 0.4), squeeze=False)
        for r, (regularization, w) in enumerate(sorted(first_layers.items())):
            for k in range(20):
                axes[r][k].imshow(w[k, 0], cmap="gray")
                axes[r][k].set_xticks([])
                axes[r][k].set_yticks([])
            axes[r][0].set_ylabel(regularization.upper(), rotation=0, labelpad=14)
        fig.suptitle("first layer's 20 filters (5x5), two conv ReLU network, first seed (each on its own gray scale)")
        fig.savefig(out / "chapter6_filters_l1_l2.png", dpi=100)
        plt.close(fig)
        names.append("chapter6_filters_l1_l2.png")
    return names


def write_report(
    out: Path,
    results: list[dict[str, Any]],
    timings: dict[str, tuple[float, float]],
    figures: list[str],
    footer: str,
) -> None:
    lines = ["# Chapter 6 with nndl.network3", ""]
    lines += [
        "Each row trains the book's network with the book's hyper-parameters (mini-batch 10, network3's lmbda) "
        "and reports the book's measure: the test accuracy at the epoch of best validation accuracy, for each "
        "seed (the book quotes the best of 3 runs). A **full** row has the book's epochs on all 50,000 training "
        "images (250,000 expanded), validation and test on 10,000 each. A **quick** row has "
        f"{plural(QUICK_EPOCHS, 'epoch')} on the first {QUICK_TRAIN} training images, validation and test on "
        f"{QUICK_EVAL} each: a check that the row runs and learns, not the book's figure; its last columns give "
        "the time a full row would take on this machine (an epoch timed here, scaled to the full training "
        "set). `nndl reproduce --chapter 6 --rows 3,4 --out DIR` trains rows 3 and 4 in full and reuses "
        f"the full runs DIR/{RECORDS_FILE} already holds for the others (a record of each run: its key, what "
        "trained it, its history, its first layer's filters and the test digits it got wrong).",
        "",
        "| # | experiment | run | book | nndl best | nndl mean ± sd | epochs | full epoch here | full row here |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for number, r in enumerate(results, 1):
        book = "" if r["book"] is None else f"{100 * r['book']:.2f}%"
        epoch, full = timings.get(r["experiment"], (math.nan, math.nan))
        mean_sd = mean_and_sd(r, f"{100 * r['mean']:.2f}", f"{100 * r['sd']:.2f}")
        lines.append(
            f"| {number} | {r['experiment']} | {'full' if r['full'] else 'quick'} | {book} | "
            f"{100 * max(r['values']):.2f}% | {mean_sd} | {r['epochs']} | "
            f"{duration(epoch) if epoch == epoch else ''} | {duration(full) if full == full else ''} |"
        )
    lines += ["", "Notes per row:", ""]
    lines += [f"- {r['experiment']}: {r['note']}" for r in results]
    filters_quick = [r for r in results if r["experiment"] in FILTER_ROWS and not r["full"]]
    if filters_quick and figures:
        lines += [
            "",
            "The filter images of quick rows are nearly identical for L1 and L2: a few short epochs from the same "
            "seed leave both close to their shared initial weights.",
        ]
    lines += [""] + [f"![{name}]({name})" for name in figures]
    lines += ["", footer]
    (out / "chapter6.md").write_text("\n".join(lines) + "\n")
