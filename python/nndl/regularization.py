"""The regularized update's options and the penalty term of the cost.

The rule itself is implemented once in C++ (``cpp/include/nndl/update_rule.hpp``) and once, readably,
in ``nndl.reference``; this module holds what both take: eta, lmbda, the training-set size ``n``,
which penalty, which L1 method, momentum.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .checks import check_choice, check_int, check_real

REGULARIZATIONS = ("none", "l2", "l1", "elastic_net")
L1_METHODS = ("subgradient", "proximal", "cumulative")


@dataclass(frozen=True)
class UpdateOptions:
    """How one mini-batch moves the weights: everything but the data.

    ``n`` is the size of the whole training set: the penalty is scaled by lmbda/n, not lmbda/m.
    """

    eta: float
    lmbda: float
    n: int
    regularization: str = "l2"
    l1_method: str = "subgradient"
    l1_ratio: float = 0.5
    momentum: float = 0.0

    @classmethod
    def checked(
        cls,
        eta: object,
        lmbda: object,
        n: object,
        regularization: object = "l2",
        l1_method: object = "subgradient",
        l1_ratio: object = 0.5,
        momentum: object = 0.0,
    ) -> UpdateOptions:
        if regularization is None:
            regularization = "none"
        return cls(
            eta=check_real("eta", eta, low=0.0, low_inclusive=False),
            lmbda=check_real("lmbda", lmbda, low=0.0),
            n=check_int("n", n, low=1),
            regularization=check_choice("regularization", regularization, REGULARIZATIONS),
            l1_method=check_choice("l1_method", l1_method, L1_METHODS),
            l1_ratio=check_real("l1_ratio", l1_ratio, low=0.0, high=1.0),
            momentum=check_real("momentum", momentum, low=0.0, high=1.0, high_inclusive=False),
        )

    @property
    def l1_lmbda(self) -> float:
        """The lmbda of the L1 part of the penalty."""
        if self.regularization == "l1":
            return self.lmbda
        if self.regularization == "elastic_net":
            return self.lmbda * self.l1_ratio
        return 0.0

    @property
    def l2_lmbda(self) -> float:
        """The lmbda of the L2 part of the penalty."""
        if self.regularization == "l2":
            return self.lmbda
        if self.regularization == "elastic_net":
            return self.lmbda * (1.0 - self.l1_ratio)
        return 0.0


def penalty(
    weights: list[np.ndarray], lmbda: float, n: int, regularization: str = "l2", l1_ratio: float = 0.5
) -> float:
    """The regularization term of the total cost: L2 lmbda/(2n) sum w^2, L1 lmbda/n sum |w|."""
    opts = UpdateOptions(eta=1.0, lmbda=lmbda, n=n, regularization=regularization, l1_ratio=l1_ratio)
    total = 0.0
    if opts.l2_lmbda:
        total += 0.5 * (opts.l2_lmbda / n) * sum(float(np.sum(np.square(w, dtype=np.float64))) for w in weights)
    if opts.l1_lmbda:
        total += (opts.l1_lmbda / n) * sum(float(np.sum(np.abs(w), dtype=np.float64)) for w in weights)
    return total
