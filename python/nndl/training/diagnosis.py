"""What SGD checks around a run to warn (``TrainingWarning``) about failures that look like
success: inputs on a scale that saturates sigmoid units, a cost that became infinite, ReLU units
that never fire, outputs pinned at their limits. Each message names what to change, eta first.

The checks read a sample of the data (at most ``SAMPLE_ROWS`` rows, spread over the set) through
the network's own engine, once per run: for the C++ engine about a millisecond for 784-30-10. (A numpy
forward pass over 10,000 rows cost 0.07 s, a third of an epoch, paid by every SGD call: sweeps and
benchmarks that call SGD once per epoch paid it every epoch.)
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np

from ..wording import count
from .warnings import TrainingWarning

SAMPLE_ROWS = 2_000
# Inputs whose 99th percentile of |x| exceeds this are "far outside [0, 1]": raw 0-255 pixels
# are, standardized features (|x| mostly below 3) are not.
INPUT_SCALE_LIMIT = 20.0
# More than this share of an output layer's values at the exact limit of a sigmoid or tanh (where
# its derivative is 0) means the outputs saturated. A trained network puts at most one output in
# ten there (the right class of a very confident float32 sigmoid); a diverged one almost all.
SATURATED_SHARE = 0.5
# ReLU units are only called dead on a sample at least this large: on a handful of examples a
# unit that is merely selective can be inactive on all of them.
DEAD_UNIT_MIN_ROWS = 100


def sample_rows(X: np.ndarray, limit: int = SAMPLE_ROWS) -> np.ndarray:
    """At most ``limit`` rows of X, evenly spread (a view)."""
    step = max(1, -(-len(X) // limit))
    return X[::step]


def _warn(message: str, depth: int = 0) -> None:
    # Attributed to the caller of SGD: _warn <- check_* <- run_sgd <- SGD <- its guard <- caller
    # (``depth`` more frames when the check is called further down).
    warnings.warn(message, TrainingWarning, stacklevel=6 + depth)


def p99_if_above_limit(values: np.ndarray) -> float | None:
    """The 99th percentile of ``values`` (np.percentile's) when it exceeds INPUT_SCALE_LIMIT, else None.

    np.percentile partitions every value: 4-5 ms for 1,000 MNIST rows, paid by every SGD call (a
    twentieth of a 784-30-10 epoch at mini-batch 100). Its linear interpolation lies between the
    sorted values at ranks floor(q) and floor(q) + 1, q = 0.99 (N - 1), so it can exceed the limit only
    when at least N - floor(q) - 1 values come near it; one counting pass rules that out for inputs on
    a sane scale, and only otherwise is the percentile computed. (A NaN makes np.percentile NaN, which
    exceeds nothing; it is not counted either.)
    """
    n = values.size
    if n == 0:
        return None
    rank_above = min(int(np.floor(0.99 * (n - 1))) + 1, n - 1)
    # "Near": within 0.1% below the limit, so that rounding in the interpolation cannot matter.
    if np.count_nonzero(values > INPUT_SCALE_LIMIT * 0.999) < n - rank_above:
        return None
    with np.errstate(invalid="ignore"):
        p99 = float(np.percentile(values, 99))
    return p99 if p99 > INPUT_SCALE_LIMIT else None


def check_input_scale(activations: Sequence[str], X: np.ndarray, name: str) -> None:
    """Warn when a sigmoid or tanh first layer gets inputs far outside [0, 1]."""
    if activations[0] not in ("sigmoid", "tanh"):
        return
    p99 = p99_if_above_limit(np.abs(sample_rows(X, 1000)))
    if p99 is not None:
        _warn(
            f"{name}: inputs are far outside [0, 1] (99th percentile of |x| is {p99:g}): the first layer's "
            f"{activations[0]} units saturate and learn little; scale the inputs (pixels 0-255: divide by 255)"
        )


def check_cost(cost: float, where: str, epoch: int, eta: float, already: set[str], depth: int = 1) -> None:
    """Warn, once per run (``already`` remembers), when a monitored cost is not finite."""
    if math.isfinite(cost) or "cost" in already:
        return
    already.add("cost")
    _warn(
        f"the cost on {where} is {cost} after epoch {epoch}: training diverged or the outputs saturated; "
        f"eta = {eta:g} is too large, try eta = {eta / 10:g}",
        depth,
    )


def check_units(
    layer_outputs: Sequence[np.ndarray],
    activations: Sequence[str],
    name: str,
    eta: float,
) -> None:
    """Warn about ReLU units never active and about saturated sigmoid/tanh outputs, given each
    layer's activations on a sample as rows (``NetworkBase._layer_outputs`` of ``sample_rows``)."""
    rows = len(layer_outputs[-1])
    for l, (a, act) in enumerate(zip(layer_outputs, activations), start=1):
        if act == "relu" and rows >= DEAD_UNIT_MIN_ROWS:
            dead = int(np.sum(~(a > 0).any(axis=0)))
            if dead:
                _warn(
                    f"{name}: {count(dead, 'ReLU unit')} of {a.shape[1]} in layer {l} never active on "
                    f"{rows:,} examples (dead: their gradient is 0, they stop learning); try a smaller eta "
                    f"(now {eta:g}) or restart from default_weight_initializer()"
                )
    last, a = activations[-1], layer_outputs[-1]
    if last in ("sigmoid", "tanh"):
        with np.errstate(invalid="ignore"):
            limit = np.abs(a) == 1 if last == "tanh" else (a == 0) | (a == 1)
            share = float(np.mean(limit | ~np.isfinite(a)))
        if share > SATURATED_SHARE:
            _warn(
                f"{name}: {100 * share:.0f}% of the outputs are saturated (exactly at the limits of the "
                f"{last}, where its gradient is 0): eta = {eta:g} is too large, try eta = {eta / 10:g}"
            )
