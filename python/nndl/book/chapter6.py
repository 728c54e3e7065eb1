"""Chapter 6 of the book reproduced with ``nndl.network3``: the convolutional networks' accuracies,
the five-network vote, learning curves and the first layer's filters under L2 and L1.

Each row trains the book's network with the book's hyper-parameters (mini-batch 10, network3's
lmbda) and reports what the book reports: the test accuracy at the epoch of best validation
accuracy, over several seeds (the book quotes the best of 3 runs; we give every run, the best and
the mean). The vote's five networks are trained as separate Dask tasks, so a Dask cluster trains
them in parallel (``dask.config.set(scheduler=...)`` or an active ``distributed.Client`` is used).

``quick=True`` trains each row for 2 epochs on the first 5,000 training images (validation and test
on 1,000 each): a check that every row runs and learns, not the book's figures. Each row's epoch is
timed on those images and scaled to the full training set, and the report states how long the
full row (all epochs, all seeds) would take on this machine.

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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import network3 as n3
from ..data.expand_mnist import expand_mnist
from ..network3_layers import Activation, Layer

MINI_BATCH = 10
QUICK_TRAIN, QUICK_EVAL, QUICK_EPOCHS = 5000, 1000, 2
FULL_TRAIN, EXPANDED_TRAIN = 50_000, 250_000


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


@dataclass
class Data:
    train: tuple[np.ndarray, np.ndarray]
    expanded: tuple[np.ndarray, np.ndarray] | None
    validation: tuple[np.ndarray, np.ndarray]
    test: tuple[np.ndarray, np.ndarray]


def cut(data: tuple[np.ndarray, np.ndarray], k: int) -> tuple[np.ndarray, np.ndarray]:
    return data[0][:k], data[1][:k]


def load(quick: bool, need_expanded: bool) -> Data:
    train, validation, test = n3.load_data_shared()
    train, validation, test = cut(train, FULL_TRAIN), cut(validation, 10_000), cut(test, 10_000)
    expanded = expand_mnist() if need_expanded else None
    if quick:
        # The expanded set keeps each image's five versions together: its first 5,000 are 1,000 images.
        return Data(
            cut(train, QUICK_TRAIN),
            None if expanded is None else cut(expanded, QUICK_TRAIN),
            cut(validation, QUICK_EVAL),
            cut(test, QUICK_EVAL),
        )
    return Data(train, expanded, validation, test)


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


def vote(nets: Sequence[n3.Network], X: np.ndarray, y: np.ndarray) -> float:
    """Accuracy of the plurality vote of the networks' predictions (ties: the smallest label)."""
    predictions = np.stack([np.argmax(net.feedforward(X), axis=1) for net in nets])
    counts = np.apply_along_axis(np.bincount, 0, predictions, minlength=10)
    return float(np.mean(np.argmax(counts, axis=0) == y))


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


def run(
    out: Path,
    *,
    quick: bool,
    seeds: Sequence[int] | None,
    log: Callable[[str], None],
    full_rows: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """Train every row (and the vote), write out/"chapter6.md" and its figures, return the rows.
    ``full_rows`` names experiments trained in full (all epochs, all data) even when ``quick``."""
    from dask.base import compute  # the dask extra
    from dask.delayed import delayed

    out.mkdir(parents=True, exist_ok=True)
    seeds = list(seeds) if seeds else [1, 2, 3]
    data = load(quick, need_expanded=True)
    full_data = load(False, need_expanded=False) if quick and full_rows else data
    unknown = set(full_rows) - {row.experiment for row in ROWS}
    if unknown:
        raise ValueError(f"full_rows: no such experiment {sorted(unknown)}")
    results: list[dict[str, Any]] = []
    curves: dict[str, list[float]] = {}
    timings: dict[str, tuple[float, float]] = {}  # experiment: (seconds per full epoch, full row)
    first_layers: dict[str, np.ndarray] = {}
    for row in ROWS:
        full = not quick or row.experiment in full_rows
        row_data = full_data if full else data
        n_train = len(row_data.train[1])
        epochs = row.epochs if full else QUICK_EPOCHS
        values, histories = [], []
        started = time.perf_counter()
        for seed in seeds:
            net, history = train_row(row, row_data, seed, epochs)
            assert history.test_accuracy_at_best is not None
            values.append(history.test_accuracy_at_best)
            histories.append(history)
            if row.build is conv2_relu and not row.expanded:
                first_layers.setdefault(row.regularization, np.array(net.layers[0].w))
        elapsed = time.perf_counter() - started
        per_example = float(np.median([s for h in histories for s in h.seconds])) / (
            len(row_data.expanded[1]) if row.expanded and row_data.expanded is not None else n_train
        )
        full_epoch = per_example * (EXPANDED_TRAIN if row.expanded else FULL_TRAIN)
        full_row = full_epoch * row.epochs * 3
        timings[row.experiment] = (full_epoch, full_row)
        curves[row.experiment] = histories[0].validation_accuracy
        mean, sd = summary(values)
        note = f"best of {len(values)}: {max(values):.4f}; {duration(elapsed)} here"
        note += f"; a full epoch here takes ~{duration(full_epoch)}, the full row (3 runs) ~{duration(full_row)}"
        note += "; full run" if full else f"; quick: {epochs} epochs on {QUICK_TRAIN} training images"
        if row.note:
            note += f"; {row.note}"
        results.append(
            {
                "chapter": 6,
                "experiment": row.experiment,
                "book": row.book,
                "measure": "test accuracy at the epoch of best validation accuracy",
                "seeds": seeds,
                "values": values,
                "mean": mean,
                "sd": sd,
                "epochs": epochs,
                "note": note,
            }
        )
        log(f"chapter 6: {row.experiment}: {values} ({duration(elapsed)})")

    # The vote: five independent dropout networks, each a Dask task.
    dropout_row = ROWS[5]
    epochs = QUICK_EPOCHS if quick else dropout_row.epochs
    vote_seeds = [100 + k for k in range(VOTE_NETWORKS)]
    started = time.perf_counter()
    tasks = [delayed(train_row)(dropout_row, data, seed, epochs) for seed in vote_seeds]
    trained = compute(*tasks)
    elapsed = time.perf_counter() - started
    accuracy = vote([net for net, _ in trained], *data.test)
    full_vote = timings[dropout_row.experiment][0] * dropout_row.epochs * VOTE_NETWORKS
    results.append(
        {
            "chapter": 6,
            "experiment": "vote of five dropout networks",
            "book": VOTE_BOOK,
            "measure": "test accuracy of the plurality vote (each network at its last epoch)",
            "seeds": vote_seeds,
            "values": [accuracy],
            "mean": accuracy,
            "sd": 0.0,
            "epochs": epochs,
            "note": f"five Dask tasks, {duration(elapsed)} here; the full vote would take ~{duration(full_vote)} "
            "on one core of this machine (divided by the workers on a cluster)"
            + (f"; quick: {epochs} epochs on {QUICK_TRAIN} training images" if quick else ""),
        }
    )
    log(f"chapter 6: vote: {accuracy}")
    figures = write_figures(out, curves, first_layers)
    write_report(out, results, timings, figures, quick)
    (out / "chapter6.json").write_text(json.dumps(results, indent=1))
    return results


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
        ax.plot(range(len(accuracy)), [100 * a for a in accuracy], marker="o", label=name)
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation accuracy (%)")
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
        fig.suptitle("first layer's 20 filters (5x5), two conv ReLU network")
        fig.savefig(out / "chapter6_filters_l1_l2.png", dpi=100)
        plt.close(fig)
        names.append("chapter6_filters_l1_l2.png")
    return names


def write_report(
    out: Path,
    results: list[dict[str, Any]],
    timings: dict[str, tuple[float, float]],
    figures: list[str],
    quick: bool,
) -> None:
    lines = ["# Chapter 6 with nndl.network3", ""]
    if quick:
        lines += [
            f"**Quick run**: {QUICK_EPOCHS} epochs on the first {QUICK_TRAIN} training images, validation and "
            f'test on {QUICK_EVAL} each, except rows whose note says "full run" (the book\'s epochs on all '
            "50,000 images, validation and test on 10,000). Quick numbers check that every row runs and "
            "learns; they are not the book's figures. The last columns give the time a full run of the row "
            "would take on this machine (an epoch timed here, scaled to the full training set; the machine "
            "was shared while it ran).",
            "",
        ]
    lines += [
        "| experiment | book | nndl best | nndl mean ± sd | epochs | full epoch here | full row here (3 runs) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        book = "" if r["book"] is None else f"{100 * r['book']:.2f}%"
        epoch, full = timings.get(r["experiment"], (math.nan, math.nan))
        lines.append(
            f"| {r['experiment']} | {book} | {100 * max(r['values']):.2f}% | {100 * r['mean']:.2f} ± "
            f"{100 * r['sd']:.2f} | {r['epochs']} | {duration(epoch) if epoch == epoch else ''} | "
            f"{duration(full) if full == full else ''} |"
        )
    lines += ["", "Notes per row:", ""]
    lines += [f"- {r['experiment']}: {r['note']}" for r in results]
    if quick and figures:
        lines += [
            "",
            "The L1 and L2 filter images come from quick runs and are nearly identical: two short epochs "
            "from the same seed leave both close to their shared initial weights.",
        ]
    lines += [""] + [f"![{name}]({name})" for name in figures]
    (out / "chapter6.md").write_text("\n".join(lines) + "\n")
