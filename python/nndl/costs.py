"""The book's cost functions, as classes with static methods ``fn`` and ``delta``.

``fn(a, y)`` is the cost of one example with output ``a`` and target ``y`` (both ``(n_out, 1)``);
``delta(z, a, y)`` is the error of the output layer, dC/dz. As in the book's network2, ``delta``
assumes a sigmoid output unless told the layer's activation.
"""

from __future__ import annotations

import numpy as np

from .activations import Activation, Sigmoid


class Cost:
    """What the engines need of a cost: its name (the C++ engine's key) and the book's methods."""

    name = ""

    @staticmethod
    def fn(a: np.ndarray, y: np.ndarray) -> float:
        raise NotImplementedError

    @staticmethod
    def delta(z: np.ndarray, a: np.ndarray, y: np.ndarray, activation: type[Activation] = Sigmoid) -> np.ndarray:
        raise NotImplementedError


class QuadraticCost(Cost):
    """C = ||a - y||^2 / 2 (the book's chapter 1 cost); works with any elementwise output."""

    name = "quadratic"

    @staticmethod
    def fn(a: np.ndarray, y: np.ndarray) -> float:
        return float(0.5 * np.linalg.norm(a - y) ** 2)

    @staticmethod
    def delta(z: np.ndarray, a: np.ndarray, y: np.ndarray, activation: type[Activation] = Sigmoid) -> np.ndarray:
        delta: np.ndarray = (a - y) * activation.prime(z)
        return delta


class CrossEntropyCost(Cost):
    """C = -sum(y ln a + (1-y) ln(1-a)) (chapter 3); needs a sigmoid output."""

    name = "cross_entropy"

    @staticmethod
    def fn(a: np.ndarray, y: np.ndarray) -> float:
        # nan_to_num: 0*ln(0) is nan in numpy and counts as 0, as in the book.
        with np.errstate(divide="ignore", invalid="ignore"):
            return float(np.sum(np.nan_to_num(-y * np.log(a) - (1 - y) * np.log(1 - a))))

    @staticmethod
    def delta(z: np.ndarray, a: np.ndarray, y: np.ndarray, activation: type[Activation] = Sigmoid) -> np.ndarray:
        delta: np.ndarray = a - y
        return delta


class LogLikelihoodCost(Cost):
    """C = -ln a_y (chapter 3's softmax with log-likelihood); needs a softmax output."""

    name = "log_likelihood"

    @staticmethod
    def fn(a: np.ndarray, y: np.ndarray) -> float:
        with np.errstate(divide="ignore", invalid="ignore"):
            return float(np.sum(np.nan_to_num(np.where(y != 0, -y * np.log(a), 0.0))))

    @staticmethod
    def delta(z: np.ndarray, a: np.ndarray, y: np.ndarray, activation: type[Activation] = Sigmoid) -> np.ndarray:
        delta: np.ndarray = a - y  # softmax with the log-likelihood: the derivative cancels, whatever is passed
        return delta


COSTS: dict[str, type[Cost]] = {
    "QuadraticCost": QuadraticCost,
    "CrossEntropyCost": CrossEntropyCost,
    "LogLikelihoodCost": LogLikelihoodCost,
}


def cost_by_name(name: str) -> type[Cost]:
    """The cost class saved under ``name`` (the book saves ``cost.__name__``)."""
    try:
        return COSTS[name]
    except (KeyError, TypeError):
        raise ValueError(f"cost: unknown cost {name!r} (one of {', '.join(COSTS)})") from None
