"""Pictures of training: learning curves, first-layer weights, weight magnitudes, the update's
moving averages.

Each function returns a matplotlib ``Figure`` (shown inline when it is the last expression of a
notebook cell) and, given a ``path``, also writes it there as a PNG of ``figsize * dpi`` pixels.
The figures are built without pyplot: nothing here selects a backend or registers a figure with
pyplot, so a notebook's own ``plt.plot`` and ``plt.show()`` work as before, and plotting works on
machines without a display. matplotlib is optional (``pip install nndl[plot]``) and imported
only when a plot is drawn.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "PlotDependencyError",
    "first_layer_weights",
    "learning_curves",
    "require_matplotlib",
    "update_ema",
    "weight_histogram",
]


class PlotDependencyError(ImportError):
    """matplotlib is not installed."""


def require_matplotlib() -> Any:
    """The ``matplotlib`` module, or PlotDependencyError naming the extra to install."""
    try:
        import matplotlib
    except ImportError:
        raise PlotDependencyError("plotting needs matplotlib: pip install nndl[plot]") from None
    return matplotlib


_FIGURE_CLASS: Any = None


def _figure(figsize: tuple[float, float], dpi: int) -> Any:
    """A new Figure, outside pyplot (so no backend and no pyplot state are touched)."""
    global _FIGURE_CLASS
    require_matplotlib()
    if _FIGURE_CLASS is None:
        import io

        from matplotlib.figure import Figure

        class PNGFigure(Figure):
            """A Figure that IPython shows as a PNG even where no matplotlib formatter is installed."""

            def _repr_png_(self) -> bytes:
                buffer = io.BytesIO()
                self.savefig(buffer, format="png")
                return buffer.getvalue()

        _FIGURE_CLASS = PNGFigure
    return _FIGURE_CLASS(figsize=figsize, dpi=dpi)


def _finish(fig: Any, path: str | os.PathLike[str] | None, dpi: int) -> Any:
    """Save ``fig`` as a PNG when a path is given; the figure either way."""
    if path is not None:
        path = Path(path)
        if path.parent and not path.parent.is_dir():
            raise FileNotFoundError(2, "directory does not exist", os.fspath(path.parent))
        fig.savefig(path, dpi=dpi, format="png")
    return fig


def _first_weights(network: Any, layer: int = 1) -> np.ndarray:
    """The weight matrix ``layer`` (1-based, as the book counts) of a network, a list or an array."""
    if isinstance(network, np.ndarray):
        return network
    weights = getattr(network, "weights", network)
    return np.asarray(weights[layer - 1])


# The same colour for a run in every figure, and colour-blind-safe (Okabe-Ito).
COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]


def learning_curves(
    runs: Mapping[str, Sequence[Any]],
    path: str | os.PathLike[str] | None = None,
    *,
    n_training: int | None = None,
    n_evaluation: int | None = None,
    evaluation_name: str = "evaluation",
    title: str | None = None,
    show_training: bool = True,
    figsize: tuple[float, float] = (13.0, 4.8),
    dpi: int = 100,
) -> Any:
    """Accuracy and cost per epoch, evaluation (solid) and training (dashed), one colour per run.

    ``runs`` maps a label to what ``SGD`` returns (the book's four lists: evaluation cost,
    evaluation accuracy, training cost, training accuracy; empty lists are skipped). Accuracies
    are counts, shown in percent when ``n_training``/``n_evaluation`` are given. Each run also
    has its own marker, so runs whose curves coincide stay distinguishable.
    """
    from matplotlib.lines import Line2D

    fig = _figure(figsize, dpi)
    acc_ax, cost_ax = fig.subplots(1, 2)
    kinds_seen = set()
    for i, (_label, history) in enumerate(runs.items()):
        colour, marker = COLOURS[i % len(COLOURS)], MARKERS[i % len(MARKERS)]
        eval_cost, eval_acc, train_cost, train_acc = (list(history[k]) for k in range(4))
        if not show_training:
            train_cost, train_acc = [], []
        for values, n, style, kind in (
            (eval_acc, n_evaluation, "-", "evaluation"),
            (train_acc, n_training, "--", "training"),
        ):
            if values:
                y = 100.0 * np.asarray(values, float) / n if n else np.asarray(values, float)
                acc_ax.plot(
                    np.arange(1, len(y) + 1),
                    y,
                    style,
                    color=colour,
                    lw=1.6,
                    marker=marker,
                    ms=5,
                    markevery=max(1, len(y) // 10),
                )
                kinds_seen.add(kind)
        for values, style, kind in ((eval_cost, "-", "evaluation"), (train_cost, "--", "training")):
            if values:
                cost_ax.plot(
                    np.arange(1, len(values) + 1),
                    values,
                    style,
                    color=colour,
                    lw=1.6,
                    marker=marker,
                    ms=5,
                    markevery=max(1, len(values) // 10),
                )
                kinds_seen.add(kind)
    percent = bool(n_training or n_evaluation)
    acc_ax.set_title("Classification accuracy")
    acc_ax.set_ylabel("accuracy (%)" if percent else "correctly classified")
    cost_ax.set_title("Cost (including the regularization term)")
    cost_ax.set_ylabel("cost per example")
    for ax in (acc_ax, cost_ax):
        ax.set_xlabel("epoch")
        ax.grid(True, alpha=0.3)
        ax.xaxis.get_major_locator().set_params(integer=True)
    # Legends outside the axes, so they never cover a curve: colour and marker say which run,
    # line style says which data.
    handles = [
        Line2D([], [], color=COLOURS[i % len(COLOURS)], marker=MARKERS[i % len(MARKERS)], lw=2.2, label=label)
        for i, label in enumerate(runs)
    ]
    styles = [
        Line2D([], [], color="0.3", ls=ls, lw=1.6, label=name)
        for ls, kind, name in (("-", "evaluation", f"{evaluation_name} data"), ("--", "training", "training data"))
        if kind in kinds_seen
    ]
    if styles:
        handles += [Line2D([], [], ls="none", label="")] + styles
    if title:
        fig.suptitle(title)
    fig.tight_layout(rect=(0, 0, 0.78, 1))
    fig.legend(handles=handles, loc="center left", bbox_to_anchor=(0.785, 0.5), fontsize=9, frameon=False)
    return _finish(fig, path, dpi)


def _mosaic(w: np.ndarray, image_shape: tuple[int, int], columns: int) -> np.ndarray:
    """Each row of ``w`` as an image, in a grid with one-pixel NaN gaps between images."""
    h, wd = image_shape
    count = w.shape[0]
    rows = -(-count // columns)
    out = np.full((rows * (h + 1) - 1, columns * (wd + 1) - 1), np.nan)
    for k in range(count):
        r, c = divmod(k, columns)
        out[r * (h + 1) : r * (h + 1) + h, c * (wd + 1) : c * (wd + 1) + wd] = w[k].reshape(h, wd)
    return out


def first_layer_weights(
    networks: Mapping[str, Any],
    path: str | os.PathLike[str] | None = None,
    *,
    image_shape: tuple[int, int] = (28, 28),
    max_neurons: int = 30,
    columns: int = 6,
    title: str | None = None,
    figsize: tuple[float, float] | None = None,
    dpi: int = 100,
) -> Any:
    """The first layer's weights as images, one per hidden neuron, one panel per network.

    Blue is negative, red positive, white near zero (each panel scaled to its own 99th percentile
    of |w|); weights exactly zero are black, so what L1 removes stands out from what is small.
    """
    matplotlib = require_matplotlib()
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    panels = len(networks)
    if panels == 0:
        raise ValueError("networks: nothing to plot")
    if figsize is None:
        figsize = (6.0 * panels, 6.0)
    fig = _figure(figsize, dpi)
    axes = fig.subplots(1, panels, squeeze=False)
    cmap = matplotlib.colormaps["RdBu_r"].with_extremes(bad="0.8")  # bad: the gaps between neurons
    zero_cmap = ListedColormap(["black"]).with_extremes(bad=(0.0, 0.0, 0.0, 0.0))  # only the zeros are drawn
    for ax, (label, network) in zip(axes[0], networks.items()):
        w = _first_weights(network)
        if w.ndim != 2 or w.shape[1] != image_shape[0] * image_shape[1]:
            raise ValueError(f"{label}: first-layer weights of shape {w.shape} are not images of {image_shape}")
        w = w[:max_neurons]
        mosaic = _mosaic(w, image_shape, min(columns, len(w)))
        scale = float(np.percentile(np.abs(w), 99)) or 1.0
        image = ax.imshow(mosaic, cmap=cmap, vmin=-scale, vmax=scale, interpolation="nearest")
        with np.errstate(invalid="ignore"):
            ax.imshow(np.where(mosaic == 0, 1.0, np.nan), cmap=zero_cmap, vmin=0, vmax=1, interpolation="nearest")
        zero_fraction = float(np.mean(w == 0))
        ax.set_title(f"{label}\n{100 * zero_fraction:.1f}% of weights exactly 0", fontsize=11)
        ax.set_xticks([])
        ax.set_yticks([])
        bar = fig.colorbar(image, ax=ax, fraction=0.046, pad=0.03)
        bar.set_label("weight (clipped at the 99th percentile of |w|)", fontsize=9)
    fig.legend(handles=[Patch(color="black", label="exactly 0")], loc="lower center", fontsize=10, frameon=False)
    fig.suptitle(
        title or f"First-layer weights: one {image_shape[0]}x{image_shape[1]} image per hidden neuron", fontsize=12
    )
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return _finish(fig, path, dpi)


def weight_histogram(
    networks: Mapping[str, Any],
    path: str | os.PathLike[str] | None = None,
    *,
    layer: int = 1,
    title: str | None = None,
    figsize: tuple[float, float] = (10.0, 5.0),
    dpi: int = 100,
) -> Any:
    """Histogram of |w| of one layer on a log scale, one outline per network.

    A log axis has no place for 0, so weights exactly zero are counted in a narrow panel of their
    own at the left (same y scale), and their number is in the legend.
    """
    if not networks:
        raise ValueError("networks: nothing to plot")
    magnitudes = {label: np.abs(_first_weights(net, layer)).ravel() for label, net in networks.items()}
    nonzero = np.concatenate([m[m > 0] for m in magnitudes.values()] + [np.array([1.0])])
    low = np.floor(np.log10(max(float(nonzero.min()), 1e-12)))
    high = np.ceil(np.log10(float(nonzero.max())))
    if high <= low:
        high = low + 1
    bins = np.logspace(low, high, int(8 * (high - low)) + 1)
    fig = _figure(figsize, dpi)
    zero_ax, ax = fig.subplots(1, 2, sharey=True, gridspec_kw={"width_ratios": [1, 8]})
    count = len(magnitudes)
    for i, (label, m) in enumerate(magnitudes.items()):
        colour = COLOURS[i % len(COLOURS)]
        zeros = int(np.sum(m == 0))
        ax.hist(
            m[m > 0],
            bins=bins,
            histtype="step",
            lw=1.8,
            color=colour,
            label=f"{label}: {zeros:,} of {m.size:,} exactly 0 ({100 * zeros / m.size:.1f}%)",
        )
        if zeros:
            zero_ax.bar(i, zeros, width=0.8, color=colour)
    zero_ax.set_xlim(-0.6, count - 0.4)
    zero_ax.set_xticks([(count - 1) / 2])
    zero_ax.set_xticklabels(["|w| = 0"])
    zero_ax.set_yscale("log")
    zero_ax.set_ylim(0.7, None)
    zero_ax.set_ylabel("number of weights (log scale)")
    zero_ax.set_title("exactly 0", fontsize=10)
    zero_ax.grid(True, axis="y", alpha=0.3)
    ax.set_xscale("log")
    ax.set_xlim(bins[0], bins[-1])
    ax.set_xlabel(f"|w| of layer {layer} (log scale)")
    ax.set_title(title or f"Magnitudes of the layer-{layer} weights")
    ax.legend(loc="upper left", fontsize=9)
    ax.grid(True, which="major", alpha=0.3)
    fig.tight_layout()
    return _finish(fig, path, dpi)


def update_ema(
    history: Any,
    path: str | os.PathLike[str] | None = None,
    *,
    title: str | None = None,
    figsize: tuple[float, float] = (11.0, 4.5),
    dpi: int = 100,
) -> Any:
    """The moving averages of the update per epoch, from an SGD run with ``monitor_update_ema``:
    left, the norm of each layer's per-weight EMA of the change (``history.update_ema_norms``);
    right, the EMA of the mean |change| (``history.update_ema``). Both on log scales.

    A per-weight EMA that keeps falling means the weights still drift one way; one that flattens
    at a level set by eta means they jitter around a minimum (or, if accuracy is poor, are stuck).
    """
    norms = getattr(history, "update_ema_norms", None)
    means = getattr(history, "update_ema", None)
    if not norms or not means:
        raise ValueError("history: no update EMA recorded; train with SGD(..., monitor_update_ema=tau)")
    fig = _figure(figsize, dpi)
    norm_ax, mean_ax = fig.subplots(1, 2)
    epochs = np.arange(1, len(norms) + 1)
    per_layer = np.asarray(norms, float)
    for l in range(per_layer.shape[1]):
        norm_ax.plot(
            epochs,
            per_layer[:, l],
            "-",
            color=COLOURS[l % len(COLOURS)],
            marker=MARKERS[l % len(MARKERS)],
            ms=5,
            lw=1.6,
            label=f"layer {l + 1}",
        )
    norm_ax.set_title("Per-weight EMA of the update: norm per layer")
    norm_ax.set_ylabel("||EMA of dW|| (Frobenius)")
    norm_ax.legend(fontsize=9, frameon=False)
    mean_ax.plot(np.arange(1, len(means) + 1), means, "-", color=COLOURS[0], marker=MARKERS[0], ms=5, lw=1.6)
    mean_ax.set_title("EMA of the mean |dW|")
    mean_ax.set_ylabel("mean |weight change| per mini-batch")
    for ax in (norm_ax, mean_ax):
        ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.grid(True, alpha=0.3)
        ax.xaxis.get_major_locator().set_params(integer=True)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return _finish(fig, path, dpi)
