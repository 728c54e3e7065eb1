"""Chapter 3's comparison of regularizers on MNIST, as a Markdown report with figures.

``nndl reproduce`` trains the book's 784-30-10 sigmoid network (cross-entropy, eta 0.5, mini-batch
10) once per configuration: no regularization, L2 with the book's lmbda 5, L1 with each update
method at lmbda 1 and 5, and elastic net; and the two runs the book quotes (none and L2) again
with its large weight initializer. Every run starts from the same initial weights (same seed,
same initializer), so the differences are the regularizer's. It writes into one directory:

    report.md                the table (best and final test accuracy, exact zeros) and the figures
    results.json             every per-epoch number behind the table
    first_layer_weights.npz  each run's first weight matrix (30, 784), keyed by configuration
    learning_curves.png      none vs L2 vs L1 (accuracy and cost, validation and training)
    learning_curves_l1.png   the L1 methods and elastic net against each other
    first_layer_weights.png  the hidden neurons' weights as 28x28 images, L2 beside L1
    weight_histogram.png     |w| on a log scale, with the exact zeros counted
"""

from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

__all__ = ["CONFIGS", "Config", "RunResult", "run", "train_config"]


@dataclass(frozen=True)
class Config:
    """One regularizer to compare."""

    key: str
    label: str
    regularization: str
    lmbda: float
    l1_method: str = "subgradient"
    l1_ratio: float = 0.5
    # "large" is the book's large_weight_initializer (unit Gaussians), which its chapter-3 figures
    # 95.49% (none) and 96.49% (L2, lmbda 5) were measured with; "default" is the 1/sqrt(n_in) one.
    initializer: str = "default"


CONFIGS: list[Config] = [
    Config("none", "no regularization", "none", 0.0),
    Config("l2", "L2, λ=5", "l2", 5.0),
    Config("none-large-init", "no regularization, book's large init", "none", 0.0, initializer="large"),
    Config("l2-large-init", "L2, λ=5, book's large init", "l2", 5.0, initializer="large"),
    Config("l1-subgradient-1", "L1 subgradient, λ=1", "l1", 1.0, "subgradient"),
    Config("l1-subgradient-5", "L1 subgradient, λ=5", "l1", 5.0, "subgradient"),
    Config("l1-proximal-1", "L1 proximal, λ=1", "l1", 1.0, "proximal"),
    Config("l1-proximal-5", "L1 proximal, λ=5", "l1", 5.0, "proximal"),
    Config("l1-cumulative-1", "L1 cumulative, λ=1", "l1", 1.0, "cumulative"),
    Config("l1-cumulative-5", "L1 cumulative, λ=5", "l1", 5.0, "cumulative"),
    Config("elastic-net", "elastic net, λ=5, L1 share 0.5", "elastic_net", 5.0, "proximal", 0.5),
]

# The figures' selections, by key.
MAIN_CURVES = ["none", "l2", "l1-subgradient-5", "l1-proximal-5"]
L1_CURVES = [
    "l1-subgradient-1",
    "l1-subgradient-5",
    "l1-proximal-1",
    "l1-proximal-5",
    "l1-cumulative-1",
    "l1-cumulative-5",
    "elastic-net",
]
WEIGHT_IMAGES = ["l2", "l1-proximal-5"]
HISTOGRAM = ["none", "l2", "l1-subgradient-5", "l1-proximal-5", "l1-cumulative-5"]

FULL = {"n_training": 50000, "epochs": 30}
QUICK = {"n_training": 10000, "epochs": 5}
ETA, MINI_BATCH, SIZES = 0.5, 10, [784, 30, 10]


@dataclass
class RunResult:
    """Per-epoch numbers of one configuration, and its first layer at the end."""

    config: Config
    validation_accuracy: list[int]
    validation_cost: list[float]
    training_accuracy: list[int]
    training_cost: list[float]
    test_accuracy: list[int]
    zero_fraction: float  # first-layer weights exactly 0 at the end
    small_fraction: float  # first-layer weights with |w| < 1e-3 (zeros included)
    seconds: float
    weights: list[np.ndarray]

    def history(self) -> tuple[list[float], list[int], list[float], list[int]]:
        """The book's four lists, for nndl.plots.learning_curves."""
        return (self.validation_cost, self.validation_accuracy, self.training_cost, self.training_accuracy)


def train_config(
    config: Config,
    training: Any,
    validation: Any,
    test: Any,
    epochs: int,
    seed: int,
    log: Callable[[str], None] | None = None,
) -> RunResult:
    """Train one configuration with the C++ engine; test accuracy is recorded after every epoch."""
    import nndl

    from .book.runs import format_seconds
    from .data.arrays import to_arrays
    from .regularization import penalty

    net = nndl.Network(SIZES, cost=nndl.CrossEntropyCost, seed=seed)
    if config.initializer == "large":
        net.large_weight_initializer()
    train_arrays = to_arrays(training, SIZES[0], SIZES[-1], net.dtype, "training")
    val_arrays = to_arrays(validation, SIZES[0], SIZES[-1], net.dtype, "validation")
    test_arrays = to_arrays(test, SIZES[0], SIZES[-1], net.dtype, "test")
    n = len(train_arrays)
    curves: dict[str, list[Any]] = {
        "validation_accuracy": [],
        "validation_cost": [],
        "training_accuracy": [],
        "training_cost": [],
        "test_accuracy": [],
    }
    clock = [time.perf_counter()]

    def progress(epoch: int, done: int, total: int) -> None:
        if done != total:
            return
        # The end of an epoch. The monitors are computed here rather than by SGD's monitor flags:
        # one pass per data set gives both cost and accuracy (SGD's flags take two passes over the
        # 50,000 training images), and the test set is measured every epoch too. The cost carries
        # the same penalty SGD adds (scaled by the training-set size n).
        reg = penalty(net.weights, config.lmbda, n, config.regularization, config.l1_ratio)
        for name, arrays in (("validation", val_arrays), ("training", train_arrays)):
            cost_sum, correct = net._evaluate(arrays)
            curves[f"{name}_cost"].append(cost_sum / len(arrays) + reg)
            curves[f"{name}_accuracy"].append(correct)
        curves["test_accuracy"].append(net._evaluate(test_arrays)[1])
        if log is not None:
            log(
                f"  {config.label}: epoch {epoch + 1}/{epochs}, test accuracy "
                f"{100 * curves['test_accuracy'][-1] / len(test_arrays):.2f}% "
                f"({format_seconds(time.perf_counter() - clock[0])} so far)"
            )

    start = time.perf_counter()
    net.SGD(
        train_arrays,
        epochs,
        MINI_BATCH,
        ETA,
        lmbda=config.lmbda,
        regularization=config.regularization,
        l1_method=config.l1_method,
        l1_ratio=config.l1_ratio,
        verbose=False,
        progress=progress,
    )
    seconds = time.perf_counter() - start
    layer1 = net.sparsity()[0]
    return RunResult(
        config,
        curves["validation_accuracy"],
        curves["validation_cost"],
        curves["training_accuracy"],
        curves["training_cost"],
        curves["test_accuracy"],
        layer1.zero_fraction,
        layer1.small_fraction,
        seconds,
        [w.copy() for w in net.weights],
    )


def _pct(correct: int, total: int) -> str:
    return f"{100.0 * correct / total:.2f}%"


def _table(results: list[RunResult], n_test: int) -> str:
    lines = [
        "| run | best test accuracy (epoch) | final test accuracy | test accuracy at best validation epoch "
        "| layer-1 weights exactly 0 | layer-1 \\|w\\| < 1e-3 | time (with monitors) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        best = int(np.argmax(r.test_accuracy))
        by_validation = int(np.argmax(r.validation_accuracy))
        lines.append(
            f"| {r.config.label} | {_pct(r.test_accuracy[best], n_test)} ({best + 1}) "
            f"| {_pct(r.test_accuracy[-1], n_test)} | {_pct(r.test_accuracy[by_validation], n_test)} "
            f"| {100 * r.zero_fraction:.1f}% | {100 * r.small_fraction:.1f}% | {r.seconds:.0f} s |"
        )
    return "\n".join(lines)


def run(
    out: str | os.PathLike[str],
    quick: bool = False,
    epochs: int | None = None,
    seed: int = 1,
    log: Callable[[str], None] | None = print,
    configs: list[Config] | None = None,
) -> Path:
    """Train every configuration, write the report, the figures and results.json into ``out``.

    Returns the path of report.md. ``quick`` trains on the first 10,000 training images for 5
    epochs (about a minute); the full run uses the book's 50,000 images and 30 epochs.
    """
    import nndl

    from . import plots

    plots.require_matplotlib()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    settings = dict(QUICK if quick else FULL)
    if epochs is not None:
        settings["epochs"] = epochs
    configs = CONFIGS if configs is None else configs
    training, validation, test = nndl.load_mnist(format="arrays")
    training = (training[0][: settings["n_training"]], training[1][: settings["n_training"]])
    n_train, n_val, n_test = len(training[0]), len(validation[0]), len(test[0])

    results = []
    for i, config in enumerate(configs, 1):
        if log is not None:
            log(f"[{i}/{len(configs)}] {config.label}")
        results.append(train_config(config, training, validation, test, settings["epochs"], seed, log))
    by_key = {r.config.key: r for r in results}

    def pick(keys: list[str]) -> dict[str, RunResult]:
        return {by_key[k].config.label: by_key[k] for k in keys if k in by_key}

    scope = f"{n_train:,} training images, {settings['epochs']} epochs" + (", quick run" if quick else "")
    figures = {}
    main = pick(MAIN_CURVES)
    if main:
        figures["learning_curves.png"] = plots.learning_curves(
            {k: r.history() for k, r in main.items()},
            out / "learning_curves.png",
            n_training=n_train,
            n_evaluation=n_val,
            evaluation_name="validation",
            title=f"784-30-10 on MNIST: no regularization vs L2 vs L1 ({scope})",
        )
    l1 = pick(L1_CURVES)
    if l1:
        figures["learning_curves_l1.png"] = plots.learning_curves(
            {k: r.history() for k, r in l1.items()},
            out / "learning_curves_l1.png",
            n_training=n_train,
            n_evaluation=n_val,
            evaluation_name="validation",
            show_training=False,
            title=f"The L1 update methods and elastic net, validation data ({scope})",
        )
    images = pick(WEIGHT_IMAGES)
    if images:
        figures["first_layer_weights.png"] = plots.first_layer_weights(
            {k: r.weights[0] for k, r in images.items()}, out / "first_layer_weights.png"
        )
    histogram = pick(HISTOGRAM)
    if histogram:
        figures["weight_histogram.png"] = plots.weight_histogram(
            {k: r.weights for k, r in histogram.items()},
            out / "weight_histogram.png",
            title=f"|w| of the first layer after training ({scope})",
        )

    (out / "results.json").write_text(
        json.dumps(
            {
                "settings": {
                    **settings,
                    "n_validation": n_val,
                    "n_test": n_test,
                    "eta": ETA,
                    "mini_batch_size": MINI_BATCH,
                    "sizes": SIZES,
                    "cost": "CrossEntropyCost",
                    "seed": seed,
                    "quick": quick,
                },
                "runs": [
                    {
                        **asdict(r.config),
                        "validation_accuracy": r.validation_accuracy,
                        "validation_cost": r.validation_cost,
                        "training_accuracy": r.training_accuracy,
                        "training_cost": r.training_cost,
                        "test_accuracy": r.test_accuracy,
                        "zero_fraction": r.zero_fraction,
                        "small_fraction": r.small_fraction,
                        "seconds": r.seconds,
                    }
                    for r in results
                ],
            },
            indent=1,
        )
    )

    # The first layers too, so the figures can be redrawn without training again.
    # Any values: numpy's stub would match a dict of arrays against savez_compressed's allow_pickle.
    first_layers: dict[str, Any] = {r.config.key: r.weights[0] for r in results}
    np.savez_compressed(out / "first_layer_weights.npz", **first_layers)
    report = out / "report.md"
    report.write_text(_report(results, settings, quick, seed, n_train, n_val, n_test, figures))
    return report


def _report(
    results: list[RunResult],
    settings: dict[str, Any],
    quick: bool,
    seed: int,
    n_train: int,
    n_val: int,
    n_test: int,
    figures: dict[str, Path],
) -> str:
    import nndl

    parts = [
        f"# Chapter 3 regularizers on MNIST{' (quick run)' if quick else ''}",
        "",
        f"The book's network 784-30-10 (sigmoid, cross-entropy), trained by `nndl.Network` with SGD: "
        f"eta {ETA}, mini-batch {MINI_BATCH}, {settings['epochs']} epochs on {n_train:,} training images; "
        f"validation on the book's {n_val:,} held-out images, test on the {n_test:,} test images. Every run "
        f"starts from the same weights (seed {seed}) and sees the same mini-batches. The penalty is scaled by "
        f"lmbda/n with n = {n_train:,}, as in the book.",
        "",
        _table(results, n_test),
        "",
        "*Best test accuracy* is the best epoch on the test set, as the book reports it (optimistic: the test "
        "set picks the epoch); *at best validation epoch* lets the validation set pick it instead. *Exactly 0* "
        "counts first-layer weights that are 0.0 in floating point, the ones a sparse format could drop; "
        "*|w| < 1e-3* also counts the tiny ones. The book's L1 step `w -= eta*lmbda/n * sgn(w)` (subgradient) "
        "steps over zero rather than landing on it, so it leaves tiny weights but few exact zeros; the proximal "
        "(soft-thresholding) and cumulative (clipped) methods set them to exactly 0.",
        "",
        f"nndl {nndl.__version__}, Python {platform.python_version()}, numpy {np.__version__}, "
        f"{platform.machine()}; total training time {sum(r.seconds for r in results):.0f} s.",
        "",
    ]
    captions = {
        "learning_curves.png": "Accuracy and cost per epoch: validation data solid, training data dashed.",
        "learning_curves_l1.png": "The L1 methods and elastic net: accuracy and cost on the validation data. "
        "Subgradient and proximal runs at the same lmbda nearly coincide in accuracy; "
        "they differ in how many weights end exactly at 0.",
        "first_layer_weights.png": "Each hidden neuron's 784 input weights as a 28x28 image; black marks weights "
        "exactly 0.",
        "weight_histogram.png": "Histogram of |w| in the first layer; the bar at the left counts exact zeros, "
        "which a log axis cannot show.",
    }
    for name in figures:
        parts += [f"## {captions[name].split(':')[0].split(';')[0]}", "", f"![{name}]({name})", "", captions[name], ""]
    return "\n".join(parts)
