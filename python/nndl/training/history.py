"""What SGD returns: the book's four per-epoch lists, and nndl's extra monitors beside them."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..wording import count


class History(tuple[list[float], list[int], list[float], list[int]]):
    """The book's four per-epoch lists, ``(evaluation_cost, evaluation_accuracy, training_cost,
    training_accuracy)``, so ``a, b, c, d = net.SGD(...)`` works as in the book; plus, per epoch,
    ``eta`` and, when ``monitor_update_ema`` is set, ``update_ema`` (the moving average of the mean
    |weight change|), ``update_ema_weights`` (each weight's moving average of its own change, one
    array per layer, as the weights) and ``update_ema_norms`` (the Frobenius norm of each layer's
    array); and ``stopped_early``."""

    update_ema: list[float]
    eta: list[float]
    stopped_early: bool
    update_ema_weights: list[list[np.ndarray]]
    update_ema_norms: list[list[float]]

    def __new__(
        cls,
        evaluation_cost: list[float],
        evaluation_accuracy: list[int],
        training_cost: list[float],
        training_accuracy: list[int],
        update_ema: list[float],
        eta: list[float],
        stopped_early: bool,
        update_ema_weights: list[list[np.ndarray]] | None = None,
    ) -> History:
        self = super().__new__(cls, (evaluation_cost, evaluation_accuracy, training_cost, training_accuracy))
        self.update_ema, self.eta, self.stopped_early = update_ema, eta, stopped_early
        self.update_ema_weights = [] if update_ema_weights is None else update_ema_weights
        self.update_ema_norms = [[float(np.linalg.norm(e)) for e in epoch] for epoch in self.update_ema_weights]
        return self

    def __reduce__(self) -> tuple[type[History], tuple[Any, ...]]:
        return (History, (*self, self.update_ema, self.eta, self.stopped_early, self.update_ema_weights))

    def __repr__(self) -> str:
        fields = {
            "evaluation_cost": self[0],
            "evaluation_accuracy": self[1],
            "training_cost": self[2],
            "training_accuracy": self[3],
            "eta": self.eta,
            "update_ema": self.update_ema,
            "update_ema_norms": self.update_ema_norms,
            "stopped_early": self.stopped_early,
        }
        text = ", ".join(f"{name}={value!r}" for name, value in fields.items())
        if self.update_ema_weights:  # arrays of every weight: their count, not their values
            text += f", update_ema_weights=<{count(len(self.update_ema_weights), 'epoch')} of per-layer arrays>"
        return f"History({text})"

    @property
    def evaluation_cost(self) -> list[float]:
        return self[0]

    @property
    def evaluation_accuracy(self) -> list[int]:
        return self[1]

    @property
    def training_cost(self) -> list[float]:
        return self[2]

    @property
    def training_accuracy(self) -> list[int]:
        return self[3]
