"""The book report's figures, as matplotlib Figures built without pyplot (no global backend is touched).

Every curve is the mean over seeds with a band from the lowest to the highest seed, so the spread
the book's single runs could not show is visible. ``save`` writes a Figure to a PNG.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

# Colour-blind-safe (Okabe-Ito), the same order as nndl.plots.
COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]


def _figure(width: float = 8.0, height: float = 5.0) -> tuple[Any, Any]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    return fig, fig.add_subplot()


def save(fig: Any, path: str | os.PathLike[str], dpi: int = 110) -> Path:
    path = Path(path)
    fig.savefig(path, dpi=dpi, format="png")
    return path


def curves_with_band(
    series: Mapping[str, np.ndarray],
    ylabel: str,
    title: str,
    percent: bool = False,
    log_y: bool = False,
    first_epoch: int = 1,
    xlabel: str = "epoch",
) -> Any:
    """One line per entry (mean over seeds of a (seeds, epochs) array) and its min–max band."""
    fig, ax = _figure()
    for i, (label, values) in enumerate(series.items()):
        values = np.asarray(values, dtype=float) * (100 if percent else 1)
        epochs = np.arange(first_epoch, first_epoch + values.shape[1])
        colour = COLOURS[i % len(COLOURS)]
        ax.plot(epochs, values.mean(axis=0), color=colour, label=f"{label} (mean of {values.shape[0]})")
        ax.fill_between(epochs, values.min(axis=0), values.max(axis=0), color=colour, alpha=0.2, linewidth=0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel + (" (%)" if percent else ""))
    if log_y:
        ax.set_yscale("log")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.text(0.99, 0.005, "band: lowest to highest seed", ha="right", va="bottom", fontsize=8, color="0.4")
    return fig


def gradient_norms_over_training(norms: np.ndarray, title: str) -> Any:
    """Speed of learning per hidden layer: norms (seeds, epochs, layers), mean line and min–max band."""
    fig, ax = _figure()
    epochs = np.arange(norms.shape[1])
    for layer in range(norms.shape[2]):
        values = norms[:, :, layer]
        colour = COLOURS[layer % len(COLOURS)]
        ax.plot(epochs, values.mean(axis=0), color=colour, label=f"hidden layer {layer + 1}")
        ax.fill_between(epochs, values.min(axis=0), values.max(axis=0), color=colour, alpha=0.2, linewidth=0)
    ax.set_yscale("log")
    ax.set_xlabel("epochs of training")
    ax.set_ylabel("speed of learning: ‖mean ∂C/∂b‖ of the layer")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.text(
        0.99, 0.005, f"mean of {norms.shape[0]} seeds; band: lowest to highest", ha="right", va="bottom", fontsize=8
    )
    return fig


def accuracy_against_sparsity(
    points: Mapping[str, Sequence[tuple[np.ndarray, np.ndarray]]], title: str, target: float | None = None
) -> Any:
    """Per family of runs, points (zero fractions over seeds, accuracies over seeds): mean with ±1 sd bars."""
    fig, ax = _figure()
    for i, (family, runs) in enumerate(points.items()):
        if len(runs) == 1 and np.all(np.asarray(runs[0][0]) == 0):
            # One dense network (no zeros): a level to compare with, not a point that would stretch
            # the axis from 0 and squeeze every sparse point into its last fifth.
            accuracy = 100 * float(np.mean(runs[0][1]))
            ax.axhline(
                accuracy,
                color=COLOURS[i % len(COLOURS)],
                linestyle=":",
                linewidth=1.5,
                label=f"{family}: {accuracy:.2f}%",
            )
            continue
        xs = np.array([100 * np.mean(z) for z, _ in runs])
        ys = np.array([100 * np.mean(a) for _, a in runs])
        xerr = np.array([100 * np.std(z, ddof=1) if len(z) > 1 else 0.0 for z, _ in runs])
        yerr = np.array([100 * np.std(a, ddof=1) if len(a) > 1 else 0.0 for _, a in runs])
        order = np.argsort(xs)
        ax.errorbar(
            xs[order],
            ys[order],
            xerr=xerr[order],
            yerr=yerr[order],
            color=COLOURS[i % len(COLOURS)],
            # Past the eight colours, a dashed line and another marker keep the families apart.
            marker=MARKERS[(i + i // len(COLOURS)) % len(MARKERS)],
            linestyle="-" if i < len(COLOURS) else "--",
            capsize=3,
            label=family,
        )
    if target is not None:
        ax.axhline(100 * target, color="0.5", linestyle="--", linewidth=1, label=f"{100 * target:.1f}% target")
    ax.set_xlabel("first-layer weights exactly 0 (%)")
    ax.set_ylabel("test accuracy, final epoch (%)")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.text(0.99, 0.005, "bars: ±1 sd over seeds", ha="right", va="bottom", fontsize=8, color="0.4")
    return fig
