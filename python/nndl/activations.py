"""Activation functions of a layer: ``fn(z)`` and its derivative ``prime(z)``, as in the book."""

from __future__ import annotations

import numpy as np


class Activation:
    name = ""

    @staticmethod
    def fn(z: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    @staticmethod
    def prime(z: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class Sigmoid(Activation):
    name = "sigmoid"

    @staticmethod
    def fn(z: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-z))

    @staticmethod
    def prime(z: np.ndarray) -> np.ndarray:
        s = Sigmoid.fn(z)
        return s * (1 - s)


class Tanh(Activation):
    name = "tanh"

    @staticmethod
    def fn(z: np.ndarray) -> np.ndarray:
        return np.tanh(z)

    @staticmethod
    def prime(z: np.ndarray) -> np.ndarray:
        return 1 - np.tanh(z) ** 2


class ReLU(Activation):
    name = "relu"

    @staticmethod
    def fn(z: np.ndarray) -> np.ndarray:
        return np.maximum(z, 0)

    @staticmethod
    def prime(z: np.ndarray) -> np.ndarray:
        return (z > 0).astype(z.dtype)


class Softmax(Activation):
    """Output layer only, with the log-likelihood cost (whose delta is a - y)."""

    name = "softmax"

    @staticmethod
    def fn(z: np.ndarray) -> np.ndarray:
        # Along axis 0: a column (n_out, 1) as in the book. Shifted by the max so exp never overflows.
        e = np.exp(z - np.max(z, axis=0, keepdims=True))
        return e / np.sum(e, axis=0, keepdims=True)

    @staticmethod
    def prime(z: np.ndarray) -> np.ndarray:
        raise ValueError("activation: softmax has no elementwise derivative; pair it with LogLikelihoodCost")


ACTIVATIONS: dict[str, type[Activation]] = {a.name: a for a in (Sigmoid, Tanh, ReLU, Softmax)}
