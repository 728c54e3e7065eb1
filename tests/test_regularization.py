"""The update rules themselves, checked against the formulas (not only engine against engine)."""

from __future__ import annotations

import numpy as np
import pytest

import nndl


def summed_gradient(net, mini_batch):
    """sum over the mini-batch of each example's nabla_w and nabla_b (from the net's own backprop)."""
    nw = [np.zeros_like(w) for w in net.weights]
    nb = [np.zeros_like(b) for b in net.biases]
    for x, y in mini_batch:
        db, dw = net.backprop(x, y)
        nw = [a + d for a, d in zip(nw, dw)]
        nb = [a + d for a, d in zip(nb, db)]
    return nb, nw


@pytest.fixture
def setting(rng):
    mini_batch = [(rng.uniform(size=(6, 1)), int(rng.integers(3))) for _ in range(4)]
    return mini_batch, 0.7, 2.5, 40  # mini-batch, eta, lmbda, n


def test_l1_is_the_books_rule(Engine, setting):
    """w <- w - (eta*lmbda/n) sgn(w) - (eta/m) sum nabla_w; biases unregularized (eq. 97)."""
    mini_batch, eta, lmbda, n = setting
    net = Engine([6, 5, 3], seed=1)
    net.weights[0][0, :2] = 0.0  # sgn(0) = 0: these move by the gradient only
    nb, nw = summed_gradient(net, mini_batch)
    m = len(mini_batch)
    want_w = [w - eta * lmbda / n * np.sign(w) - eta / m * g for w, g in zip(net.weights, nw)]
    want_b = [b - eta / m * g for b, g in zip(net.biases, nb)]
    net.update_mini_batch(mini_batch, eta, lmbda, n, regularization="l1")
    for got, want in zip(net.weights + net.biases, want_w + want_b):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


def test_l2_is_the_books_rule(Engine, setting):
    """w <- (1 - eta*lmbda/n) w - (eta/m) sum nabla_w (eq. 93)."""
    mini_batch, eta, lmbda, n = setting
    net = Engine([6, 5, 3], seed=1)
    _nb, nw = summed_gradient(net, mini_batch)
    m = len(mini_batch)
    want_w = [(1 - eta * lmbda / n) * w - eta / m * g for w, g in zip(net.weights, nw)]
    net.update_mini_batch(mini_batch, eta, lmbda, n, regularization="l2")
    for got, want in zip(net.weights, want_w):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


def test_proximal_soft_thresholds(Engine, setting):
    mini_batch, eta, lmbda, n = setting
    net = Engine([6, 5, 3], seed=1)
    _nb, nw = summed_gradient(net, mini_batch)
    m = len(mini_batch)
    lmbda = 30.0  # large enough that some weights land on exactly zero
    v = [w - eta / m * g for w, g in zip(net.weights, nw)]
    want = [np.sign(x) * np.maximum(np.abs(x) - eta * lmbda / n, 0) for x in v]
    net.update_mini_batch(mini_batch, eta, lmbda, n, regularization="l1", l1_method="proximal")
    for got, w in zip(net.weights, want):
        np.testing.assert_allclose(got, w, rtol=1e-12, atol=1e-15)
    assert sum(int(np.sum(w == 0)) for w in net.weights) > 0


def test_elastic_net_splits_lmbda(Engine, setting):
    mini_batch, eta, lmbda, n = setting
    net = Engine([6, 5, 3], seed=1)
    _nb, nw = summed_gradient(net, mini_batch)
    m, r = len(mini_batch), 0.25
    want = [
        w - eta * (1 - r) * lmbda / n * w - eta * r * lmbda / n * np.sign(w) - eta / m * g
        for w, g in zip(net.weights, nw)
    ]
    net.update_mini_batch(mini_batch, eta, lmbda, n, regularization="elastic_net", l1_ratio=r)
    for got, w in zip(net.weights, want):
        np.testing.assert_allclose(got, w, rtol=1e-12, atol=1e-15)


def test_elastic_net_ends_are_l1_and_l2(Engine, setting):
    mini_batch, eta, lmbda, n = setting
    for ratio, plain in ((1.0, "l1"), (0.0, "l2")):
        a, b = Engine([6, 5, 3], seed=1), Engine([6, 5, 3], seed=1)
        a.update_mini_batch(mini_batch, eta, lmbda, n, regularization="elastic_net", l1_ratio=ratio)
        b.update_mini_batch(mini_batch, eta, lmbda, n, regularization=plain)
        for x, y in zip(a.weights, b.weights):
            np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-15)


def test_momentum_is_the_books_rule(Engine, setting):
    """v <- mu v - eta grad C; w <- w + v (chapter 3), with grad C including the L2 term."""
    mini_batch, eta, lmbda, n = setting
    net = Engine([6, 5, 3], seed=1)
    mu, m = 0.8, len(mini_batch)
    velocity = [np.zeros_like(w) for w in net.weights]
    want = [w.copy() for w in net.weights]
    for _ in range(3):
        probe = Engine([6, 5, 3], seed=1)
        probe.weights = [w.copy() for w in want]
        probe.biases = [b.copy() for b in net.biases]
        _, nw = summed_gradient(probe, mini_batch)
        velocity = [mu * v - eta * (g / m + lmbda / n * w) for v, g, w in zip(velocity, nw, want)]
        want = [w + v for w, v in zip(want, velocity)]
        net.update_mini_batch(mini_batch, eta, lmbda, n, regularization="l2", momentum=mu)
        # biases follow their own velocity; keep the probe's biases in step
        net_biases = [b.copy() for b in net.biases]
        for got, w in zip(net.weights, want):
            np.testing.assert_allclose(got, w, rtol=1e-10, atol=1e-13)
        net.biases = net_biases


@pytest.mark.parametrize("l1_method", ["proximal", "cumulative"])
def test_sparse_methods_give_exact_zeros_and_keep_them(Engine, mnist_arrays, l1_method):
    (X, y), _, _ = mnist_arrays
    net = Engine([784, 30, 10], seed=1)
    net.SGD((X[:2000], y[:2000]), 2, 10, 0.5, lmbda=5.0, regularization="l1", l1_method=l1_method, verbose=False)
    zero = net.sparsity()[0].zero_fraction
    assert zero > 0.3  # the border pixels of MNIST are always 0: their weights decay to exactly 0
    sub = Engine([784, 30, 10], seed=1)
    sub.SGD((X[:2000], y[:2000]), 2, 10, 0.5, lmbda=5.0, regularization="l1", verbose=False)
    assert sub.sparsity()[0].zero_fraction < 0.01  # the subgradient rule oscillates around 0 instead


def test_penalty_uses_n_not_m(Engine, setting):
    """The classic mistake: lmbda/m instead of lmbda/n. The shrink must not depend on m."""
    mini_batch, eta, lmbda, n = setting
    a, b = Engine([6, 5, 3], seed=1), Engine([6, 5, 3], seed=1)
    zero_inputs = [(np.zeros((6, 1)), y) for _, y in mini_batch]  # gradient of weights is then zero
    a.update_mini_batch(zero_inputs[:1], eta, lmbda, n, regularization="l2")
    b.update_mini_batch(zero_inputs, eta, lmbda, n, regularization="l2")
    np.testing.assert_allclose(a.weights[0], b.weights[0], rtol=1e-14)
    np.testing.assert_allclose(a.weights[0], (1 - eta * lmbda / n) * Engine([6, 5, 3], seed=1).weights[0], rtol=1e-14)


def test_total_cost_penalties(Engine, mnist_arrays):
    (X, y), _, _ = mnist_arrays
    net = Engine([784, 10, 10], seed=1)
    data = (X[:50], y[:50])
    base = net.total_cost(data, 0.0)
    sq = sum(float(np.sum(w**2)) for w in net.weights)
    ab = sum(float(np.sum(np.abs(w))) for w in net.weights)
    np.testing.assert_allclose(net.total_cost(data, 4.0, n=1000), base + 0.5 * 4.0 / 1000 * sq, rtol=1e-12)
    np.testing.assert_allclose(
        net.total_cost(data, 4.0, regularization="l1", n=1000), base + 4.0 / 1000 * ab, rtol=1e-12
    )
    np.testing.assert_allclose(
        net.total_cost(data, 4.0, regularization="elastic_net", l1_ratio=0.25, n=1000),
        base + 0.25 * 4.0 / 1000 * ab + 0.5 * 0.75 * 4.0 / 1000 * sq,
        rtol=1e-12,
    )
    # without n, the book's len(data)
    np.testing.assert_allclose(net.total_cost(data, 4.0), base + 0.5 * 4.0 / 50 * sq, rtol=1e-12)
    # the mean cost itself: the book's per-example cost averaged
    want = np.mean([net.cost.fn(net.feedforward(X[i].reshape(-1, 1)), nndl.vectorized_result(y[i])) for i in range(50)])
    np.testing.assert_allclose(base, want, rtol=1e-12)


def test_prune_and_sparsity(Engine):
    net = Engine([20, 10, 5], seed=3)
    small = sum(int(np.sum(np.abs(w) < 0.05)) for w in net.weights)
    assert net.prune(0.05) == small
    report = net.sparsity(threshold=0.05)
    assert [r.layer for r in report] == [1, 2]
    for r, w in zip(report, net.weights):
        assert r.zero_fraction == pytest.approx(np.mean(w == 0)) and r.zero_fraction > 0
        assert r.small_fraction == r.zero_fraction  # everything below the threshold is now zero


def test_early_stopping_and_eta_halving(Engine, mnist_arrays):
    (X, y), (Xv, yv), _ = mnist_arrays
    net = Engine([784, 10, 10], seed=1)
    # eta this large makes validation accuracy stall quickly
    h = net.SGD(
        (X[:500], y[:500]),
        30,
        10,
        0.5,
        evaluation_data=(Xv[:200], yv[:200]),
        monitor_evaluation_accuracy=True,
        early_stopping_n=2,
        verbose=False,
    )
    assert h.stopped_early and len(h.evaluation_accuracy) < 30
    best = max(h.evaluation_accuracy)
    assert h.evaluation_accuracy.index(best) == len(h.evaluation_accuracy) - 3  # 2 epochs without improvement
    net = Engine([784, 10, 10], seed=1)
    h = net.SGD(
        (X[:500], y[:500]),
        40,
        10,
        0.5,
        evaluation_data=(Xv[:200], yv[:200]),
        monitor_evaluation_accuracy=True,
        halve_eta_after=1,
        verbose=False,
    )
    assert h.eta[0] == 0.5 and min(h.eta) < 0.5
    assert all(e in [0.5 / 2**k for k in range(8)] for e in h.eta)
