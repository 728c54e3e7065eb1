"""Backprop against central differences, in float64, for every cost and activation pairing."""

from __future__ import annotations

import pytest

import nndl
from nndl import reference
from test_engines import ARCHITECTURES, per_layer


@pytest.mark.parametrize("activation, output, cost", ARCHITECTURES)
def test_backprop_matches_central_differences(Engine, activation, output, cost, rng):
    sizes = [12, 7, 5, 4]
    net = Engine(sizes, seed=8, activation=per_layer(activation, sizes), output=output, cost=cost)
    x = rng.uniform(0, 1, size=(12, 1))
    y = 2
    # Central differences with eps=1e-5 are good to ~1e-10 absolute, so 1e-5 relative leaves room
    # for rounding on small gradients; a wrong sign or a missing factor gives errors near 1.
    assert nndl.gradcheck(net, x, y) < 1e-5


@pytest.mark.parametrize("regularization", ["l2", "l1", "elastic_net"])
def test_penalty_gradient_matches(Engine, regularization, rng):
    net = Engine([10, 6, 3], seed=2)
    x = rng.uniform(0, 1, size=(10, 1))
    assert nndl.gradcheck(net, x, nndl.vectorized_result(1, 3), lmbda=3.0, n=7, regularization=regularization) < 1e-5


def test_gradcheck_catches_a_wrong_gradient(rng, monkeypatch):
    """The check is not vacuous: a gradient off by the 1/m mistake, or a sign, is caught."""
    net = reference.Network([6, 4, 3], seed=1)
    original = net.backprop

    def halved(x, y):
        nb, nw = original(x, y)
        return nb, [w * 0.5 for w in nw]

    monkeypatch.setattr(net, "backprop", halved)
    assert nndl.gradcheck(net, rng.uniform(size=(6, 1)), 0) > 0.1


def test_gradcheck_samples_parameters_of_a_large_net(mnist_arrays):
    (X, y), _, _ = mnist_arrays
    net = nndl.Network([784, 30, 10], seed=1)
    assert nndl.gradcheck(net, X[0], int(y[0]), max_params=300) < 1e-5
