"""The C++ engine agrees with the reference engine at three depths: one backprop (every gradient),
one update_mini_batch (every parameter), a whole epoch (weights and monitors).

Tolerances, float64: both engines compute the same formulas, but the C++ engine sums a
mini-batch's gradient in matrix form and in another order (and may use FMA), so results differ
by a few ulps per step: 1e-12 relative per step. Over an epoch of thousands of steps the
differences stay far below anything that changes a prediction: 1e-9 absolute on the weights, and
accuracy counts exactly equal.
"""

from __future__ import annotations

import numpy as np
import pytest

import nndl
from conftest import max_abs_diff
from nndl import reference

REGULARIZATIONS = [
    ("none", "subgradient"),
    ("l2", "subgradient"),
    ("l1", "subgradient"),
    ("l1", "proximal"),
    ("l1", "cumulative"),
    ("elastic_net", "subgradient"),
    ("elastic_net", "proximal"),
    ("elastic_net", "cumulative"),
]

ARCHITECTURES = [
    # (activation, output, cost)
    ("sigmoid", None, nndl.CrossEntropyCost),
    ("sigmoid", None, nndl.QuadraticCost),
    ("tanh", None, nndl.QuadraticCost),
    ("relu", None, nndl.QuadraticCost),
    ("relu", "softmax", nndl.LogLikelihoodCost),
    ("tanh", "softmax", nndl.LogLikelihoodCost),
    (["relu", "sigmoid"], None, nndl.CrossEntropyCost),
]


def per_layer(activation, sizes):
    """A list activation [hidden, output] stretched to every layer of ``sizes``."""
    if isinstance(activation, str):
        return activation
    return [activation[0]] * (len(sizes) - 2) + [activation[-1]]


def pair(sizes, seed=3, **kwargs):
    """The same network in both engines."""
    return nndl.Network(sizes, seed=seed, **kwargs), reference.Network(sizes, seed=seed, **kwargs)


def params(net):
    return list(net.weights) + list(net.biases)


def test_same_seed_same_initial_weights():
    fast, ref = pair([784, 30, 10], seed=11)
    assert max_abs_diff(params(fast), params(ref)) == 0.0
    fast.large_weight_initializer()
    ref.large_weight_initializer()
    assert max_abs_diff(params(fast), params(ref)) == 0.0
    assert not np.array_equal(nndl.Network([784, 30, 10], seed=12).weights[0], fast.weights[0])


@pytest.mark.parametrize("activation, output, cost", ARCHITECTURES)
def test_backprop_agrees(mnist_arrays, activation, output, cost):
    (X, y), _, _ = mnist_arrays
    fast, ref = pair([784, 20, 10], activation=activation, output=output, cost=cost)
    for i in range(3):
        x = X[i].reshape(-1, 1)
        nb_fast, nw_fast = fast.backprop(x, nndl.vectorized_result(y[i]))
        nb_ref, nw_ref = ref.backprop(x, int(y[i]))  # a label or its one-hot column mean the same
        for a, b in zip(nb_fast + nw_fast, nb_ref + nw_ref):
            assert a.shape == b.shape
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("regularization, l1_method", REGULARIZATIONS)
def test_update_mini_batch_agrees(mnist_arrays, regularization, l1_method):
    (X, y), _, _ = mnist_arrays
    fast, ref = pair([784, 30, 10])
    mini_batch = nndl.book_form(X[:10], y[:10], one_hot=True)  # the book's list of (x, y)
    for _ in range(4):  # several steps, so L1 methods meet weights at and around zero
        for net in (fast, ref):
            net.update_mini_batch(
                mini_batch,
                eta=3.0,
                lmbda=500.0,
                n=1000,
                regularization=regularization,
                l1_method=l1_method,
                l1_ratio=0.3,
            )
    assert max_abs_diff(params(fast), params(ref)) < 1e-12
    if l1_method != "subgradient":
        assert fast.sparsity()[0].zero_fraction > 0.1  # the step was large enough to reach zero


@pytest.mark.parametrize("activation, output, cost", ARCHITECTURES)
def test_update_with_momentum_and_dropout_agrees(mnist_arrays, activation, output, cost):
    (X, y), _, _ = mnist_arrays
    sizes = [784, 16, 12, 10]
    fast, ref = pair(sizes, activation=per_layer(activation, sizes), output=output, cost=cost)
    for step in range(3):
        batch = (X[10 * step : 10 * step + 10], y[10 * step : 10 * step + 10])
        for net in (fast, ref):
            net.update_mini_batch(
                batch, eta=0.1, lmbda=2.0, n=100, regularization="l1", l1_method="cumulative", momentum=0.9, dropout=0.4
            )
    assert max_abs_diff(params(fast), params(ref)) < 1e-12


def test_dropout_zero_is_no_dropout(mnist_arrays):
    (X, y), _, _ = mnist_arrays
    a, b = nndl.Network([784, 30, 10], seed=5), nndl.Network([784, 30, 10], seed=5)
    a.update_mini_batch((X[:10], y[:10]), 0.5, 5.0, 50000, dropout=0.0)
    b.update_mini_batch((X[:10], y[:10]), 0.5, 5.0, 50000)
    assert max_abs_diff(params(a), params(b)) == 0.0
    c = nndl.Network([784, 30, 10], seed=5)
    c.update_mini_batch((X[:10], y[:10]), 0.5, 5.0, 50000, dropout=0.5)
    assert max_abs_diff(params(a), params(c)) > 1e-6  # dropout changes the step


def test_dropout_masks_are_the_same_numbers_in_both_engines():
    from nndl import _core
    from nndl.dropout import dropout_uniform

    units = np.arange(50)
    for key, step, example, layer in [(0, 0, 0, 1), (2**62 + 7, 123456, 9, 2), (99, 2**40, 99, 7)]:
        python = dropout_uniform(key, step, example, layer, units)
        cpp = np.array([_core.dropout_uniform(key, step, example, layer, int(j)) for j in units])
        assert np.array_equal(python, cpp)
    draws = dropout_uniform(1, 2, 3, 1, np.arange(100_000))
    assert 0.49 < draws.mean() < 0.51 and draws.min() >= 0 and draws.max() < 1


def test_dropout_drops_the_expected_share_and_keeps_the_mean():
    from nndl.dropout import dropout_factors

    factors = np.concatenate([dropout_factors(0.3, 7, step, 0, 1, 1000) for step in range(20)])
    dropped = np.mean(factors == 0)
    assert 0.28 < dropped < 0.32
    assert abs(factors.mean() - 1.0) < 0.03  # inverted dropout: the expected factor is 1


@pytest.mark.parametrize(
    "regularization, l1_method",
    [
        ("l2", "subgradient"),
        ("l1", "subgradient"),
        ("l1", "proximal"),
        ("l1", "cumulative"),
        ("elastic_net", "proximal"),
    ],
)
def test_epoch_agrees(mnist_arrays, regularization, l1_method):
    """A whole epoch on 3,000 MNIST images, monitors included, in both engines."""
    (X, y), (Xv, yv), _ = mnist_arrays
    fast, ref = pair([784, 30, 10], seed=1)
    results = [
        net.SGD(
            (X[:3000], y[:3000]),
            1,
            10,
            0.5,
            lmbda=5.0,
            regularization=regularization,
            l1_method=l1_method,
            evaluation_data=(Xv[:1000], yv[:1000]),
            monitor_evaluation_cost=True,
            monitor_evaluation_accuracy=True,
            monitor_training_cost=True,
            monitor_training_accuracy=True,
            verbose=False,
        )
        for net in (fast, ref)
    ]
    assert max_abs_diff(params(fast), params(ref)) < 1e-9
    (ec_f, ea_f, tc_f, ta_f), (ec_r, ea_r, tc_r, ta_r) = results
    assert ea_f == ea_r and ta_f == ta_r  # accuracy counts exactly equal
    np.testing.assert_allclose(ec_f, ec_r, rtol=1e-10)
    np.testing.assert_allclose(tc_f, tc_r, rtol=1e-10)
    assert ea_f[0] > 700  # and it learned something: > 70% of 1,000 after one small epoch


@pytest.mark.slow
def test_full_mnist_epoch_agrees(mnist_arrays):
    """The foundation's contract: one whole epoch on the book's 50,000 images, same seed."""
    (X, y), (Xv, yv), _ = mnist_arrays
    fast, ref = pair([784, 30, 10], seed=1)
    histories = [
        net.SGD(
            (X, y),
            1,
            10,
            0.5,
            lmbda=5.0,
            regularization="l1",
            evaluation_data=(Xv, yv),
            monitor_evaluation_accuracy=True,
            verbose=False,
        )
        for net in (fast, ref)
    ]
    assert max_abs_diff(params(fast), params(ref)) < 1e-9
    assert histories[0].evaluation_accuracy == histories[1].evaluation_accuracy
    assert histories[0].evaluation_accuracy[0] > 9000  # the book's net passes 90% after one epoch


def test_momentum_epoch_and_update_ema_agree(mnist_arrays):
    (X, y), _, _ = mnist_arrays
    fast, ref = pair([784, 20, 10], seed=4)
    h = [
        net.SGD(
            (X[:2000], y[:2000]),
            2,
            20,
            0.2,
            lmbda=1.0,
            momentum=0.5,
            dropout=0.2,
            monitor_update_ema=0.1,
            verbose=False,
        )
        for net in (fast, ref)
    ]
    assert max_abs_diff(params(fast), params(ref)) < 1e-9
    np.testing.assert_allclose(h[0].update_ema, h[1].update_ema, rtol=1e-9)
    assert len(h[0].update_ema) == 2 and all(v > 0 for v in h[0].update_ema)


def test_float32_tracks_float64(mnist_arrays):
    """float32 differs from float64 by rounding (~6e-8 per operation); after 100 steps of L2
    training the weights stay within 1e-5 of each other (measured: ~1e-6). Not with the L1
    subgradient: a weight near zero whose sign differs between the precisions jumps by
    eta*lmbda/n, so L1 runs are compared by their accuracy instead."""
    (X, y), _, _ = mnist_arrays
    a = nndl.Network([784, 30, 10], seed=2, dtype=np.float32)
    b = nndl.Network([784, 30, 10], seed=2)
    for net in (a, b):
        net.SGD((X[:1000], y[:1000]), 1, 10, 0.5, lmbda=5.0, regularization="l2", verbose=False)
    assert a.weights[0].dtype == np.float32
    assert max_abs_diff([w.astype(np.float64) for w in params(a)], params(b)) < 1e-5
    c = nndl.Network([784, 30, 10], seed=2, dtype=np.float32)
    d = nndl.Network([784, 30, 10], seed=2)
    for net in (c, d):
        net.SGD((X[:1000], y[:1000]), 1, 10, 0.5, lmbda=5.0, regularization="l1", verbose=False)
    assert abs(c.accuracy((X[:1000], y[:1000])) - d.accuracy((X[:1000], y[:1000]))) <= 10
