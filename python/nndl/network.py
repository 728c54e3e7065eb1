"""``nndl.network``: the book's chapter-1 ``network.py``, computed by the C++ engine.

The book's scripts run unchanged with the import changed::

    from nndl import network, load_mnist
    training_data, validation_data, test_data = load_mnist()
    net = network.Network([784, 30, 10])
    net.SGD(training_data, 30, 10, 3.0, test_data=test_data)

As in the book: sigmoid neurons, the quadratic cost, weights and biases drawn from N(0, 1), no
regularization, and SGD printing ``Epoch j: correct / n_test`` (or ``Epoch j complete``) after
every epoch. Underneath is an ``nndl.Network`` (``net.network2``) with that cost and initializer,
so a ``seed`` makes runs repeatable and the result equals ``nndl.reference`` for the same seed.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from .activations import Sigmoid
from .costs import QuadraticCost
from .data.arrays import to_arrays
from .network2 import Network as Network2

__all__ = ["Network", "sigmoid", "sigmoid_prime"]


def _listed(data: Any) -> Any:
    # The book's Python 3 loader hands out zip objects; SGD reads the data once per epoch.
    return list(data) if isinstance(data, Iterator) else data


class Network:
    """The book's ``network.Network(sizes)``: quadratic cost, N(0, 1) initial weights and biases."""

    def __init__(self, sizes: Sequence[int], seed: int | None = None):
        self.network2 = Network2(sizes, cost=QuadraticCost, seed=seed)
        self.network2.large_weight_initializer()
        self.num_layers = self.network2.num_layers
        self.sizes = self.network2.sizes

    @property
    def weights(self) -> list[np.ndarray]:
        return self.network2.weights

    @weights.setter
    def weights(self, values: list[np.ndarray]) -> None:
        self.network2.weights = values

    @property
    def biases(self) -> list[np.ndarray]:
        return self.network2.biases

    @biases.setter
    def biases(self, values: list[np.ndarray]) -> None:
        self.network2.biases = values

    def feedforward(self, a: np.ndarray) -> np.ndarray:
        """The network's output for input ``a`` (a ``(n_in, 1)`` column, or rows ``(k, n_in)``)."""
        return self.network2.feedforward(a)

    def SGD(self, training_data: Any, epochs: int, mini_batch_size: int, eta: float, test_data: Any = None) -> None:
        """Mini-batch stochastic gradient descent; with ``test_data``, prints the test accuracy after each epoch."""
        training_data = _listed(training_data)
        test = None
        if test_data is not None:
            test = to_arrays(_listed(test_data), self.sizes[0], self.sizes[-1], self.network2.dtype, "test_data")
        net = self.network2

        def after_epoch(epoch: int, done: int, total: int) -> None:
            if done != total:
                return
            if test is not None:
                print(f"Epoch {epoch}: {net._evaluate(test)[1]} / {len(test)}")
            else:
                print(f"Epoch {epoch} complete")

        net.SGD(
            training_data,
            epochs,
            mini_batch_size,
            eta,
            lmbda=0.0,
            regularization="none",
            verbose=False,
            progress=after_epoch,
        )

    def update_mini_batch(self, mini_batch: Any, eta: float) -> None:
        """One gradient-descent step on ``mini_batch`` (a list of ``(x, y)``), learning rate ``eta``."""
        # n only scales a penalty, and there is none here.
        self.network2.update_mini_batch(_listed(mini_batch), eta, 0.0, 1, regularization="none")

    def backprop(self, x: np.ndarray, y: Any) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """``(nabla_b, nabla_w)``: the gradient of the quadratic cost of one example, layer by layer."""
        return self.network2.backprop(x, y)

    def evaluate(self, test_data: Any) -> int:
        """How many test inputs the network classifies correctly (the output neuron with the highest activation)."""
        return self.network2.accuracy(_listed(test_data))

    def cost_derivative(self, output_activations: np.ndarray, y: np.ndarray) -> np.ndarray:
        """dC_x/da of the quadratic cost for the output activations."""
        difference: np.ndarray = np.asarray(output_activations) - np.asarray(y)
        return difference

    def __repr__(self) -> str:
        return f"nndl.network.Network(sizes={self.sizes}, engine='c++')"


def sigmoid(z: Any) -> Any:
    """The sigmoid function, elementwise."""
    return Sigmoid.fn(np.asarray(z))


def sigmoid_prime(z: Any) -> Any:
    """Derivative of the sigmoid function, elementwise."""
    return Sigmoid.prime(np.asarray(z))
