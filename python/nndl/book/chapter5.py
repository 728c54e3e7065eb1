"""Chapter 5 of the book: deeper networks learn little better, and their early layers learn slowest.

Depth: network2's default initializer, eta 0.1, L2 lmbda 5, 30 epochs, validation accuracy (the
book's figures, best epoch). The speed of learning: ``Network.bias_gradient_norms`` on the first
1,000 training images — at initialization (the book's numbers) and along 500 epochs of batch
gradient descent on those images (the book's figures).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Callable

import numpy as np

from . import figures
from .results import chapter_report, make_row
from .runs import (
    MNIST,
    Scale,
    Setting,
    best,
    compute_seconds,
    load_book_mnist,
    machine_footer,
    new_network,
    scale_for,
    stack,
    train_seeds,
)

CHAPTER = 5
DEPTHS: list[tuple[tuple[int, ...], float]] = [
    ((784, 30, 10), 0.9648),
    ((784, 30, 30, 10), 0.9690),
    ((784, 30, 30, 30, 10), 0.9657),
    ((784, 30, 30, 30, 30, 10), 0.9653),
]
# Speed of learning at initialization, hidden layer by hidden layer, as the book quotes it.
SPEED_AT_INIT: dict[tuple[int, ...], tuple[float, ...]] = {
    (784, 30, 30, 10): (0.07, 0.31),
    (784, 30, 30, 30, 10): (0.012, 0.060, 0.283),
    (784, 30, 30, 30, 30, 10): (0.003, 0.017, 0.070, 0.285),
}
N_GRADIENT = 1000
GD_EPOCHS, GD_ETA, GD_LMBDA = 500, 0.1, 5.0

ONE_RUN = "The book's figure is one run, its best epoch picked on the validation set."
DIFFERENCES = {f"{'[' + ','.join(map(str, sizes)) + ']'} validation accuracy": ONE_RUN for sizes, _ in DEPTHS}


def _name(sizes: Sequence[int]) -> str:
    return "[" + ",".join(map(str, sizes)) + "]"


def speed_over_training(sizes: Sequence[int], seed: int, images: Any, epochs: int) -> np.ndarray:
    """Hidden layers' bias-gradient norms before each of ``epochs`` epochs of batch gradient descent (and after)."""
    net = new_network(Setting(tuple(sizes), GD_ETA, 1), seed)
    norms = [net.bias_gradient_norms(images)[:-1]]
    for _ in range(epochs):
        net.SGD(images, 1, len(images), GD_ETA, lmbda=GD_LMBDA, regularization="l2", verbose=False)
        norms.append(net.bias_gradient_norms(images)[:-1])
    return np.array(norms)


def run(out: Path, *, quick: bool, seeds: Sequence[int] | None, log: Callable[[str], None]) -> list[dict[str, Any]]:
    """Train chapter 5's depths and measure the speed of learning; writes out/chapter5.md and figures."""
    start, compute_start = time.perf_counter(), compute_seconds()
    out.mkdir(parents=True, exist_ok=True)
    scale = scale_for(quick, seeds)
    data = load_book_mnist(scale)
    rows, depth_curves = [], {}
    for sizes, book in DEPTHS:
        name = f"{_name(sizes)} validation accuracy"
        log(f"chapter 5: {_name(sizes)}")
        setting = Setting(sizes, 0.1, 30, lmbda=5.0, regularization="l2")
        runs = train_seeds(setting, scale, data.training, {"validation": data.validation}, log, _name(sizes))
        depth_curves[f"{len(sizes) - 2} hidden"] = stack(runs, "validation")
        rows.append(
            make_row(
                CHAPTER,
                name,
                book,
                "validation accuracy, best epoch",
                scale.seeds,
                [best(c.accuracy["validation"]) for c in runs],
                scale.setting(setting).epochs,
                "default initializer, eta 0.1, L2 lmbda 5, mini-batch 10; final epoch: "
                f"{100 * np.mean([c.accuracy['validation'][-1] for c in runs]):.2f}% (mean)",
            )
        )
    rows += _speed_rows(data, scale, out, log)
    seconds = time.perf_counter() - start
    figures.save(
        figures.curves_with_band(
            depth_curves, "validation accuracy", "Chapter 5: depth (hidden layers of 30, η 0.1, λ 5)", percent=True
        ),
        out / "chapter5_depth.png",
    )
    pngs = "\n\n".join(
        f"![chapter5_speed_{len(s) - 2}_hidden.png](chapter5_speed_{len(s) - 2}_hidden.png)" for s in SPEED_AT_INIT
    )
    (out / "chapter5.md").write_text(
        chapter_report(
            "Chapter 5: deeper networks and the speed of learning" + (" (quick run)" if quick else ""),
            _intro(data, scale),
            rows,
            None,
            DIFFERENCES,
            [
                (
                    "Depth",
                    "![chapter5_depth.png](chapter5_depth.png)\n\nValidation accuracy per epoch, mean over the seeds, "
                    "band from the lowest to the highest.",
                ),
                (
                    "The speed of learning during training",
                    f"Batch gradient descent on the first {N_GRADIENT:,} training images (one step per epoch, eta "
                    f"{GD_ETA}, L2 lmbda {GD_LMBDA}), the bias-gradient norm of each hidden layer before every epoch. "
                    "The book describes its figures as batch gradient descent on 1,000 images for 500 epochs; the "
                    "eta and lmbda are ours (those of its other chapter-5 runs).\n\n" + pngs,
                ),
            ],
            machine_footer(seconds, compute_seconds() - compute_start),
        )
    )
    return rows


def _speed_rows(data: MNIST, scale: Scale, out: Path, log: Callable[[str], None]) -> list[dict[str, Any]]:
    images = data.first(N_GRADIENT)
    epochs = GD_EPOCHS if scale.max_epochs is None else min(GD_EPOCHS, 5 * scale.max_epochs)
    rows = []
    for sizes, book_values in SPEED_AT_INIT.items():
        log(f"chapter 5: speed of learning, {_name(sizes)}")
        per_seed = np.array([speed_over_training(sizes, seed, images, epochs) for seed in scale.seeds])
        for layer, book in enumerate(book_values):
            rows.append(
                make_row(
                    CHAPTER,
                    f"speed of learning at initialization, {_name(sizes)}, hidden layer {layer + 1}",
                    book,
                    "norm of the mean bias gradient",
                    scale.seeds,
                    per_seed[:, 0, layer],
                    0,
                    f"Network.bias_gradient_norms over the first {len(images):,} training images, default "
                    "initializer, cross-entropy",
                )
            )
        fig = figures.gradient_norms_over_training(
            per_seed, f"Speed of learning, {_name(sizes)}: batch gradient descent on {len(images):,} images"
        )
        figures.save(fig, out / f"chapter5_speed_{len(sizes) - 2}_hidden.png")
    return rows


def _intro(data: MNIST, scale: Scale) -> str:
    return (
        f"network2.py with the default initializer on {len(data.training):,} training images, validation on "
        f"{len(data.validation):,}. Seeds {', '.join(map(str, scale.seeds))}. *Verdict*: reproduced when the "
        "book's figure lies within the seeds' range or within 2 sd of their mean. The speed of learning at "
        "initialization depends only on the seed's initial weights (no training)."
    )
