"""Check backprop against central differences, the way to catch a wrong gradient or update rule."""

from __future__ import annotations

from typing import Any

import numpy as np

from .checks import check_int, check_real
from .regularization import UpdateOptions


def gradcheck(
    net: Any,
    x: np.ndarray,
    y: Any,
    lmbda: float = 0.0,
    n: int = 1,
    regularization: str | None = "none",
    l1_ratio: float = 0.5,
    eps: float = 1e-5,
    max_params: int | None = None,
    seed: int = 0,
) -> float:
    """Largest relative error between backprop and central differences, over the parameters.

    The checked function is ``C(w) = cost(feedforward(x), y) + penalty(w)`` for one example, with
    the penalty of ``regularization`` (L2: lmbda/(2n) sum w^2, L1: lmbda/n sum |w|); backprop's
    gradient gets the penalty's gradient added (L1: its subgradient lmbda/n sgn(w)). L1 has a kink
    at 0, so weights within ``10*eps`` of zero are left out when the penalty has an L1 part.
    ``max_params`` checks a random sample of that many parameters (seeded), for large networks.
    The relative error is |g - f| / max(|g| + |f|, 1e-8). In float64 with eps = 1e-5 the central
    difference is accurate to about 1e-10 absolute (rounding ~1e-16*C/eps, truncation ~eps^2), so
    a correct gradient gives relative errors near 1e-7; a wrong one (a missing 1/m, a sign) near 1.
    """
    opts = UpdateOptions.checked(1.0, lmbda, n, regularization, "subgradient", l1_ratio)
    eps = check_real("eps", eps, low=0.0, low_inclusive=False)
    if max_params is not None:
        max_params = check_int("max_params", max_params, low=1)
    x = np.asarray(x, dtype=np.float64).reshape(-1, 1)
    target = _target(net, y)
    nabla_b, nabla_w = net.backprop(x, y)
    l1, l2 = opts.l1_lmbda / opts.n, opts.l2_lmbda / opts.n

    def cost() -> float:
        penalty = sum(0.5 * l2 * float(np.sum(w * w)) + l1 * float(np.sum(np.abs(w))) for w in net.weights)
        return float(net.cost.fn(net.feedforward(x), target)) + penalty

    # (parameter array, index, analytic gradient) for every parameter that is checked
    candidates = []
    for w, nw in zip(net.weights, nabla_w):
        for index in np.ndindex(w.shape):
            if l1 and abs(w[index]) < 10 * eps:
                continue
            analytic = nw[index] + l2 * w[index] + l1 * np.sign(w[index])
            candidates.append((w, index, analytic))
    for b, nb in zip(net.biases, nabla_b):
        for index in np.ndindex(b.shape):
            candidates.append((b, index, nb[index]))
    if max_params is not None and max_params < len(candidates):
        picks = np.random.default_rng(seed).choice(len(candidates), size=max_params, replace=False)
        candidates = [candidates[i] for i in picks]

    worst = 0.0
    for array, index, analytic in candidates:
        # Perturb in place (the C++ network reads its parameters from these very arrays), restore after.
        original = array[index]
        array[index] = original + eps
        plus = cost()
        array[index] = original - eps
        minus = cost()
        array[index] = original
        numeric = (plus - minus) / (2 * eps)
        error = abs(analytic - numeric) / max(abs(analytic) + abs(numeric), 1e-8)
        worst = max(worst, float(error))
    return worst


def _target(net: Any, y: Any) -> np.ndarray:
    n_out = net.sizes[-1]
    if isinstance(y, (int, np.integer)) and not isinstance(y, bool):
        column = np.zeros((n_out, 1))
        column[int(y)] = 1.0
        return column
    return np.asarray(y, dtype=np.float64).reshape(n_out, 1)
