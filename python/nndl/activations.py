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
        a: np.ndarray = 1.0 / (1.0 + np.exp(-z))
        return a

    @staticmethod
    def prime(z: np.ndarray) -> np.ndarray:
        s = Sigmoid.fn(z)
        ds: np.ndarray = s * (1 - s)
        return ds


class Tanh(Activation):
    name = "tanh"

    @staticmethod
    def fn(z: np.ndarray) -> np.ndarray:
        a: np.ndarray = np.tanh(z)
        return a

    @staticmethod
    def prime(z: np.ndarray) -> np.ndarray:
        da: np.ndarray = 1 - np.tanh(z) ** 2
        return da


class ReLU(Activation):
    name = "relu"

    @staticmethod
    def fn(z: np.ndarray) -> np.ndarray:
        a: np.ndarray = np.maximum(z, 0)
        return a

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
        a: np.ndarray = e / np.sum(e, axis=0, keepdims=True)
        return a

    @staticmethod
    def prime(z: np.ndarray) -> np.ndarray:
        raise ValueError("activation: softmax has no elementwise derivative; pair it with LogLikelihoodCost")


ACTIVATIONS: dict[str, type[Activation]] = {a.name: a for a in (Sigmoid, Tanh, ReLU, Softmax)}
