"""nndl bench --grid: its FLOP count, the matrix-form step every peer runs (against the reference
engine), and one nndl worker timing a configuration end to end (a count of seconds, not a speed)."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

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


def test_grid_report_measures_its_noise_on_the_rows_both_nndl_engines_run_alike():
    """On rows where nndl's first layer is dense, nndl and nndl-dense run the same code: the report
    gives their largest difference as the run's noise; sparse rows do not count."""
    shapes = ((784, 30, 10),)
    engines = ["nndl", "nndl-dense", "jax"]
    best = {}
    for m in bench_grid.MINI_BATCHES:
        for dt in bench_grid.DTYPES:
            for t in bench_grid.THREADS:
                best[("nndl", shapes[0], m, dt, t)] = 1.0
                best[("nndl-dense", shapes[0], m, dt, t)] = 1.02
                best[("jax", shapes[0], m, dt, t)] = 2.0
    noisy = (shapes[0], 100, "float32", 2)
    best[("nndl-dense", *noisy)] = 1.25  # the largest spread of a dense row
    sparse = (shapes[0], 10, "float64", 1)
    best[("nndl-dense", *sparse)] = 3.0  # a sparse row: a real difference, not noise
    spread, row, rows = bench_grid.same_code_spread(best, shapes, {sparse})
    assert (round(spread, 6), row, rows) == (0.25, noisy, 7)
    lines = []
    bench_grid.report(best, {"float64": 50.0, "float32": 100.0}, engines, 3, False, shapes, lines.append, {sparse})
    assert any("differ by up to 25% in this run (784-30-10, m=100, float32, 2 threads)" in line for line in lines)
    assert bench_grid.same_code_spread(best, shapes, {(shapes[0], m, dt, t) for (_, _, m, dt, t) in best}) is None


def test_grid_report_gives_the_cross_core_round_trip_of_two_thread_rows():
    shapes = ((784, 30, 10),)
    best = {
        (e, shapes[0], m, dt, t): 1.0
        for e in ("nndl", "jax")
        for m in bench_grid.MINI_BATCHES
        for dt in bench_grid.DTYPES
        for t in bench_grid.THREADS
    }
    far = (shapes[0], 100, "float64", 2)
    lines = []
    bench_grid.report(best, {}, ["nndl", "jax"], 3, False, shapes, lines.append, round_trips={far: 331.4})
    header = next(line for line in lines if line.startswith("| shape"))
    assert "| cross-core (ns) |" in header
    column = header.split(" | ").index("cross-core (ns)")
    cells = [line.split(" | ") for line in lines if line.startswith("| 784-30-10 | ")]
    rows = {tuple(c[1:4]): c[column] for c in cells}
    assert rows[("100", "float64", "2")] == "331"
    assert rows[("100", "float64", "1")] == "" and rows[("10", "float64", "2")] == ""


def test_cross_core_round_trip_is_measured_and_checks_its_arguments():
    from nndl import _core

    ns = _core.cross_core_round_trip_ns(2000, 2)
    if len(os.sched_getaffinity(0)) >= 2:
        assert 1 < ns < 1e6
    else:
        assert np.isnan(ns)
    for bad in (dict(rounds=0), dict(batches=0)):
        with pytest.raises(ValueError, match=next(iter(bad))):
            _core.cross_core_round_trip_ns(**bad)
    one_cpu = "import os; os.sched_setaffinity(0, {min(os.sched_getaffinity(0))}); from nndl import _core; "
    out = subprocess.run(
        [sys.executable, "-c", one_cpu + "print(_core.cross_core_round_trip_ns(100, 1))"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "nan"


# -- nndl bench --chapter6 ---------------------------------------------------------------------------
def test_conv_bench_nndl_epoch_is_the_plain_sgd_the_peers_run():
    """nndl's side of the conv benchmark takes the steps the peers implement (mean log-likelihood,
    eta 0.1, no penalty), from the shared initial parameters: checked against the network3 oracle."""
    from nndl import bench_conv
    from nndl import network3 as n3
    from nndl import network3_reference as ref

    (X, y), _, _ = n3.load_data_shared()
    for network in bench_conv.NETWORKS:
        params = bench_conv.initial_parameters(network, 10)
        after = bench_conv.nndl_epoch(network, 10, params, X[:20], y[:20])
        net = n3.Network(bench_conv.book_layers(network, 10), 10, seed=1)
        oracle = ref.Network.copy_of(net)
        assert all(np.array_equal(a, b) for a, b in zip(params, [p for wb in oracle.params for p in wb]))
        for k in (0, 10):
            oracle.update_mini_batch(X[k : k + 10], y[k : k + 10], bench_conv.ETA, 0.0, 20, regularization="none")
        expected = [p for wb in oracle.params for p in wb]
        assert bench_conv.largest_difference(after, expected) < bench_conv.AGREEMENT_TOLERANCE
        assert bench_conv.largest_difference(after, params) > 10 * bench_conv.AGREEMENT_TOLERANCE  # it moved


def test_conv_bench_report_judges_the_targets_from_the_fastest_peer():
    from nndl import bench_conv

    def timings(nndl_at_10, nndl_at_100):
        best = {}
        for net in bench_conv.NETWORKS:
            for t in bench_conv.THREADS:
                best[("nndl", net, 10, t)], best[("nndl", net, 100, t)] = nndl_at_10, nndl_at_100
                best[("torch", net, 10, t)] = best[("torch", net, 100, t)] = 4.0
                best[("jax", net, 10, t)] = best[("jax", net, 100, t)] = 6.0
        return best

    lines: list[str] = []
    met = bench_conv.report(timings(2.0, 4.0), {"torch": 1e-6}, ["nndl", "torch", "jax"], 500, 1, lines.append)
    assert [m for _, _, m in met] == [True, True]
    assert any("torch: parameters after one mini-batch agree" in line for line in lines)
    met = bench_conv.report(timings(2.5, 4.5), {"torch": 1e-2}, ["nndl", "torch", "jax"], 500, 1, lines.append)
    assert [m for _, _, m in met] == [False, False]  # 1.6x at m=10, 0.89x at m=100
    assert any("DIFFER" in line for line in lines)
    assert bench_conv.report(timings(1.0, 1.0), {}, ["nndl"], 500, 1, lines.append) == []
