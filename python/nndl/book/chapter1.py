"""Chapter 1 of the book: network.py's runs (quadratic cost, N(0, 1) initializer, eta 3.0) and its two baselines.

The networks are trained as the book's ``network.SGD(training_data, 30, 10, eta, test_data=test_data)``
does, by the C++ engine (``nndl.network`` is that API; here ``nndl.Network`` with the quadratic
cost and the large initializer, which is what it computes), printing nothing: the test accuracy
is recorded after every epoch, and the book's figure is the best of those (it quotes the peak of
its printout). The baselines: guessing the digit whose average darkness over the training images
is closest (the book's mnist_average_darkness.py), and scikit-learn's SVC (mnist_svm.py).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Callable

import numpy as np

from . import figures
from .results import Claim, chapter_report, make_row
from .runs import (
    MNIST,
    Scale,
    Setting,
    add_compute_seconds,
    best,
    cached_record,
    compute_seconds,
    format_seconds,
    load_book_mnist,
    machine_footer,
    scale_for,
    stack,
    train_seeds,
)

CHAPTER = 1
SVC_TODAY_IMAGES = 10_000
BOOK_SVC_NAME = "SVC, the book's defaults (gamma 'auto')"
# False leaves out the book's SVC (all training images, minutes of a core or, on a busy shared
# machine, more than an hour); the report then says it was not measured.
BOOK_SVC = True

# (experiment, setting, book figure, measure: "best" or "final" epoch)
NETWORK_RUNS: list[tuple[str, Setting, float | None, str]] = [
    ("[784,30,10] eta 3.0", Setting((784, 30, 10), 3.0, 30, "quadratic", "large"), 0.9542, "best"),
    ("[784,100,10] eta 3.0", Setting((784, 100, 10), 3.0, 30, "quadratic", "large"), 0.9659, "best"),
    ("[784,100,10] eta 0.001", Setting((784, 100, 10), 0.001, 30, "quadratic", "large"), None, "final"),
    ("[784,30,10] eta 100", Setting((784, 30, 10), 100.0, 30, "quadratic", "large"), None, "final"),
]

NOTES = {
    "[784,100,10] eta 3.0": "Some seeds stall far below the others (per seed below): with the quadratic cost and "
    "N(0, 1) weights learning can slow to a crawl, as chapter 3 explains. The range covers them, so this verdict "
    "is a wide one; the seeds that do not stall end just under the book's figure.",
    "[784,100,10] eta 0.001": "The book prints this run's epochs to show a learning rate too small: the accuracy "
    "creeps up from chance; it quotes no figure.",
    "[784,30,10] eta 100": "The book's example of a learning rate too large: the accuracy stays near chance (10%).",
}

DIFFERENCES = {
    "[784,30,10] eta 3.0": "The book's figure is one run, its best epoch picked on the test set.",
    "[784,100,10] eta 3.0": "The book's figure is one run, its best epoch picked on the test set.",
    "SVC, the book's defaults (gamma 'auto')": "The book's scikit-learn was an older libsvm build; C and the kernel "
    "are the same.",
}


def average_darkness_accuracy(training: Any, test: Any) -> float:
    """Classify each test image as the digit whose mean darkness (sum of pixels) over training is closest."""
    darkness = training.X.sum(axis=1)
    means = np.array([darkness[training.labels == d].mean() for d in range(10)])
    guesses = np.abs(test.X.sum(axis=1)[:, None] - means[None, :]).argmin(axis=1)
    return float(np.mean(guesses == test.labels))


def svc_accuracy(training: Any, test: Any, gamma: str) -> float:
    """scikit-learn's SVC (RBF kernel, C=1) fitted on the training images, accuracy on the test images."""
    from sklearn.svm import SVC

    clf = SVC(gamma=gamma).fit(training.X, training.labels)
    return float(np.mean(clf.predict(test.X) == test.labels))


def _timed_svc(training: Any, test: Any, gamma: str) -> dict[str, float]:
    start = time.perf_counter()
    accuracy = svc_accuracy(training, test, gamma)
    return {"accuracy": accuracy, "seconds": time.perf_counter() - start}


def _gamma(X: np.ndarray, gamma: str) -> float:
    """The RBF gamma scikit-learn computes for 'scale' and 'auto' (its documented formulas)."""
    return float(1.0 / (X.shape[1] * X.var())) if gamma == "scale" else 1.0 / X.shape[1]


def run(out: Path, *, quick: bool, seeds: Sequence[int] | None, log: Callable[[str], None]) -> list[dict[str, Any]]:
    """Train chapter 1's runs and baselines; writes out/chapter1.md and its figure; returns the rows."""
    start, compute_start = time.perf_counter(), compute_seconds()
    out.mkdir(parents=True, exist_ok=True)
    scale = scale_for(quick, seeds)
    data = load_book_mnist(scale)
    rows, curves = [], {}
    for name, setting, book, measure in NETWORK_RUNS:
        log(f"chapter 1: {name}")
        runs = train_seeds(setting, scale, data.training, {"test": data.test}, log, name)
        curves[name] = stack(runs, "test")
        values = [best(c.accuracy["test"]) if measure == "best" else c.accuracy["test"][-1] for c in runs]
        what = "test accuracy, best epoch" if measure == "best" else "test accuracy, final epoch"
        per_seed = ", ".join(f"{100 * v:.2f}% (seed {seed})" for seed, v in zip(scale.seeds, values))
        note = " ".join(part for part in (NOTES.get(name, ""), f"Per seed: {per_seed}.") if part)
        rows.append(make_row(CHAPTER, name, book, what, scale.seeds, values, scale.setting(setting).epochs, note))
    rows += _baselines(data, scale, log)
    seconds = time.perf_counter() - start

    fig = figures.curves_with_band(
        curves, "test accuracy", "Chapter 1: network.py (quadratic cost, N(0,1) weights), per epoch", percent=True
    )
    figures.save(fig, out / "chapter1_test_accuracy.png")
    claims: dict[str, Claim] = {}
    (out / "chapter1.md").write_text(
        chapter_report(
            "Chapter 1: network.py and the baselines" + (" (quick run)" if quick else ""),
            _intro(data, scale),
            rows,
            claims,
            DIFFERENCES,
            [
                (
                    "Notes",
                    "\n".join(f"- **{r['experiment']}**: {r['note']}" for r in rows if r["note"])
                    + (
                        ""
                        if BOOK_SVC
                        else f"\n- **{BOOK_SVC_NAME}** (the book's 94.35%): not measured in this run; it did not "
                        "finish in the time the shared machine allowed."
                    ),
                ),
                (
                    "Test accuracy per epoch",
                    "![chapter1_test_accuracy.png](chapter1_test_accuracy.png)\n\nMean over the seeds, the band from "
                    "the lowest to the highest seed. The book's figures for eta 3.0 are the highest point of one such "
                    "curve.",
                ),
            ],
            machine_footer(seconds, compute_seconds() - compute_start),
        )
    )
    return rows


def _baselines(data: MNIST, scale: Scale, log: Callable[[str], None]) -> list[dict[str, Any]]:
    log("chapter 1: average darkness")
    rows = [
        make_row(
            CHAPTER,
            "average darkness",
            0.2225,
            "test accuracy",
            [],
            [average_darkness_accuracy(data.training, data.test)],
            0,
            f"Deterministic: no seeds. Mean darkness per digit over {len(data.training):,} training images.",
        )
    ]
    # The book's SVC on all 50,000 images took minutes of a core here; today's default gamma is run
    # on the first 10,000 only (what the shared machine allowed), and is no comparison with the book.
    n_svc_today = min(SVC_TODAY_IMAGES, len(data.training))
    svcs: list[tuple[str, str, float | None, int]] = [
        (f"SVC, today's defaults (gamma 'scale'), first {n_svc_today:,} images", "scale", None, n_svc_today)
    ]
    if BOOK_SVC:
        svcs.insert(0, (BOOK_SVC_NAME, "auto", 0.9435, len(data.training)))
    for name, gamma, book, n in svcs:
        log(f"chapter 1: {name}")
        training = data.first(n)
        key = {"gamma": gamma, "n_training": len(training), "n_test": len(data.test)}
        record = cached_record("svc", key, functools.partial(_timed_svc, training, data.test, gamma))
        accuracy, seconds = record["accuracy"], record["seconds"]
        add_compute_seconds(seconds)
        log(f"  {name}: {100 * accuracy:.2f}% ({format_seconds(seconds)})")
        rows.append(
            make_row(
                CHAPTER,
                name,
                book,
                "test accuracy",
                [],
                [accuracy],
                0,
                f"sklearn.svm.SVC(gamma={gamma!r}) = {_gamma(training.X, gamma):.4g}, C=1, RBF kernel, fitted "
                f"on {len(training):,} training images in {format_seconds(seconds)} (fit and predict). "
                "Deterministic: no seeds."
                + (
                    " scikit-learn 0.22 changed the default gamma from 'auto' = 1/n_features (the book's time) to "
                    "'scale' = 1/(n_features · var(X)); the book's figure belongs to the 'auto' row."
                    if gamma == "scale"
                    else ""
                ),
            )
        )
    return rows


def _intro(data: MNIST, scale: Scale) -> str:
    return (
        "The book's network.py: sigmoid neurons, quadratic cost, weights and biases N(0, 1), mini-batch 10, "
        f"{len(data.training):,} training images, test accuracy on {len(data.test):,} test images after every epoch. "
        f"Seeds {', '.join(map(str, scale.seeds))}: each seed draws its own initial weights and mini-batch order. "
        "*Verdict*: reproduced when the book's figure lies within the seeds' range or within 2 sd of their mean; "
        "else above or below. Baselines are deterministic (one value, sd 0), so only an exact range counts."
    )
