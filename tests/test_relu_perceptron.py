"""The single-layer ReLU/MSE perceptron a reader brings: it works with the defaults, dead units
are warned about, and the per-weight EMA of the update agrees between the engines."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import nndl
from nndl import reference


def test_relu_layers_start_with_he_weights_and_positive_biases(Engine):
    net = Engine([784, 200, 10], activation=["relu", "sigmoid"], seed=1)
    assert np.all(net.biases[0] == 0.1)
    assert 0.9 < net.weights[0].std() * np.sqrt(784 / 2) < 1.1  # N(0, 2/n_in)
    assert 0.5 < net.biases[1].std() < 1.5 and 0.8 < net.weights[1].std() * np.sqrt(200) < 1.2  # the book's
    net.book_weight_initializer()
    assert 0.5 < net.biases[0].std() < 1.5 and 0.9 < net.weights[0].std() * np.sqrt(784) < 1.1


def test_dead_units_are_warned_about_naming_eta(Engine, mnist_arrays):
    (X, y), (Xv, yv), _ = mnist_arrays
    net = Engine([784, 10], activation="relu", cost=nndl.QuadraticCost, seed=1)
    with pytest.warns(nndl.TrainingWarning, match=r"10 ReLU units of 10 in layer 1 never active .* eta \(now 0.5\)"):
        net.SGD(
            (X[:500], y[:500]),
            1,
            10,
            0.5,
            lmbda=5.0,
            regularization="l1",
            verbose=False,
            evaluation_data=(Xv[:500], yv[:500]),
        )
    assert np.all(net.feedforward(Xv[:500]) == 0)  # the warning is right: nothing fires
    healthy = Engine([784, 10], activation="relu", cost=nndl.QuadraticCost, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error", nndl.TrainingWarning)
        healthy.SGD(
            (X[:500], y[:500]),
            1,
            10,
            0.02,
            lmbda=5.0,
            regularization="l1",
            verbose=False,
            evaluation_data=(Xv[:500], yv[:500]),
        )


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_per_weight_update_ema_agrees_between_engines_and_follows_its_definition(mnist_arrays, dtype):
    (X, y), _, _ = mnist_arrays
    data, tau = (X[:60], y[:60]), 0.2
    cpp = nndl.Network([784, 6, 10], seed=4, dtype=dtype)
    ref = reference.Network([784, 6, 10], seed=4, dtype=dtype)
    h_cpp = cpp.SGD(data, 2, 20, 0.5, lmbda=5.0, regularization="l1", monitor_update_ema=tau, verbose=False)
    h_ref = ref.SGD(data, 2, 20, 0.5, lmbda=5.0, regularization="l1", monitor_update_ema=tau, verbose=False)
    rtol = 1e-9 if dtype == np.float64 else 2e-3
    for epoch_cpp, epoch_ref in zip(h_cpp.update_ema_weights, h_ref.update_ema_weights):
        for a, b in zip(epoch_cpp, epoch_ref):
            np.testing.assert_allclose(a, b, rtol=rtol, atol=1e-6 * float(np.abs(b).max()))
    np.testing.assert_allclose(h_cpp.update_ema_norms, h_ref.update_ema_norms, rtol=rtol)
    # By hand, mini-batch by mini-batch, with the book's update_mini_batch on a copy.
    hand = reference.Network([784, 6, 10], seed=4, dtype=dtype)
    ema = None
    for _epoch in range(2):
        order = hand._rng.permutation(60)
        for k in range(0, 60, 20):
            before = [w.copy() for w in hand.weights]
            hand.update_mini_batch((X[order[k : k + 20]], y[order[k : k + 20]]), 0.5, 5.0, 60, regularization="l1")
            change = [w - b for w, b in zip(hand.weights, before)]
            ema = change if ema is None else [(1 - tau) * e + tau * c for e, c in zip(ema, change)]
    for a, b in zip(h_ref.update_ema_weights[-1], ema):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=1e-7)
    assert h_ref.update_ema_norms[-1] == pytest.approx([float(np.linalg.norm(e)) for e in ema], rel=rtol)


@pytest.mark.slow
def test_the_readers_perceptron_reaches_88_percent_with_the_defaults(mnist_arrays):
    """784-10 ReLU, quadratic cost, L1 lmbda 5, mini-batch 10, 10 epochs, the recommended eta 0.02
    (docs: README, "A single-layer ReLU perceptron"). Measured: 90.8-91.2% for seeds 1-5."""
    training, _, (Xt, yt) = mnist_arrays
    for seed in range(1, 6):
        net = nndl.Network([784, 10], activation="relu", cost=nndl.QuadraticCost, seed=seed)
        net.SGD(training, 10, 10, 0.02, lmbda=5.0, regularization="l1", verbose=False)
        assert net.accuracy((Xt, yt)) >= 8800, seed
