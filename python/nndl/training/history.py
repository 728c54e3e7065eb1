"""What SGD returns: the book's four per-epoch lists, and nndl's extra monitors beside them."""

from __future__ import annotations

from typing import Any


class History(tuple[list[float], list[int], list[float], list[int]]):
    """The book's four per-epoch lists, ``(evaluation_cost, evaluation_accuracy, training_cost,
    training_accuracy)``, so ``a, b, c, d = net.SGD(...)`` works as in the book; plus
    ``update_ema`` (per epoch, when monitored), ``eta`` (per epoch) and ``stopped_early``."""

    update_ema: list[float]
    eta: list[float]
    stopped_early: bool

    def __new__(
        cls,
        evaluation_cost: list[float],
        evaluation_accuracy: list[int],
        training_cost: list[float],
        training_accuracy: list[int],
        update_ema: list[float],
        eta: list[float],
        stopped_early: bool,
    ) -> History:
        self = super().__new__(cls, (evaluation_cost, evaluation_accuracy, training_cost, training_accuracy))
        self.update_ema, self.eta, self.stopped_early = update_ema, eta, stopped_early
        return self

    def __reduce__(self) -> tuple[type[History], tuple[Any, ...]]:
        return (History, (*self, self.update_ema, self.eta, self.stopped_early))

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
