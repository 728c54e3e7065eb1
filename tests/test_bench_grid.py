"""nndl bench --grid: its FLOP count, the matrix-form step every peer runs (against the reference
engine), and one nndl worker timing a configuration end to end (a count of seconds, not a speed)."""

from __future__ import annotations

import numpy as np

from nndl import bench, bench_grid, reference


def test_flop_count_matches_the_book_shape_count():
    assert bench_grid.flop_per_image((784, 30, 10)) == bench.FLOP_PER_IMAGE == 95_880
    # 784-30-30-30-10: three more products in the backward pass than in a two-layer network
    products = [784 * 30, 30 * 30, 30 * 30, 30 * 10]
    assert bench_grid.flop_per_image((784, 30, 30, 30, 10)) == 4 * sum(products) + 2 * sum(products[1:])


def test_matrix_form_step_is_the_reference_l1_update():
    """The formulas JAX, PyTorch and numpy run are the update nndl computes (L1 subgradient, eta 0.5,
    lmbda 5 with the training-set size n), on a deeper net than the book's so every layer's rule shows."""
    sizes, n, m = (7, 5, 4, 3), 50, 6
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 1, size=(m, sizes[0]))
    labels = rng.integers(0, sizes[-1], size=m)
    y = np.eye(sizes[-1])[labels]
    params = bench_grid.initial_parameters(sizes, "float64", seed=2)
    net = reference.Network(list(sizes), seed=0)
    net.weights = [w.copy() for w in params[0::2]]
    net.biases = [b.reshape(-1, 1).copy() for b in params[1::2]]
    net.update_mini_batch(
        [(x[i].reshape(-1, 1), y[i].reshape(-1, 1)) for i in range(m)],
        bench_grid.ETA,
        bench_grid.LMBDA,
        n,
        regularization="l1",
    )
    new = bench_grid.matrix_form_step(np, params, x, y, n, lambda z: 1.0 / (1.0 + np.exp(-z)))
    for got, want in zip(new[0::2], net.weights):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)  # summation order only
    for got, want in zip(new[1::2], net.biases):
        np.testing.assert_allclose(got, want.ravel(), rtol=1e-12, atol=1e-14)


def test_nndl_worker_times_a_configuration():
    worker = bench_grid.Worker("nndl", 1)
    config = bench_grid.Config("nndl", (784, 30, 10), 10, "float32", 1, 500)
    seconds = worker.time(config)
    assert np.isfinite(seconds) and seconds > 0
