"""What SGD returns: the book's four per-epoch lists, and nndl's extra monitors beside them."""

from __future__ import annotations


class History(tuple):
    """The book's four per-epoch lists, ``(evaluation_cost, evaluation_accuracy, training_cost,
    training_accuracy)``, so ``a, b, c, d = net.SGD(...)`` works as in the book; plus
    ``update_ema`` (per epoch, when monitored), ``eta`` (per epoch) and ``stopped_early``."""

    update_ema: list[float]
    eta: list[float]
    stopped_early: bool

    def __new__(
        cls,
        evaluation_cost: list,
        evaluation_accuracy: list,
        training_cost: list,
        training_accuracy: list,
        update_ema: list,
        eta: list,
        stopped_early: bool,
    ) -> History:
        self = super().__new__(cls, (evaluation_cost, evaluation_accuracy, training_cost, training_accuracy))
        self.update_ema, self.eta, self.stopped_early = update_ema, eta, stopped_early
        return self

    def __reduce__(self):
        return (History, (*self, self.update_ema, self.eta, self.stopped_early))

    evaluation_cost = property(lambda self: self[0])  # type: ignore[assignment]
    evaluation_accuracy = property(lambda self: self[1])  # type: ignore[assignment]
    training_cost = property(lambda self: self[2])  # type: ignore[assignment]
    training_accuracy = property(lambda self: self[3])  # type: ignore[assignment]
