"""The book's experiments (nndl.book), the chapter-1 API (nndl.network) and the per-layer speed of learning."""

from __future__ import annotations

import json
import re
import statistics

import numpy as np
import pytest

import nndl
from conftest import max_abs_diff
from nndl import network, reference
from nndl.book import reproduce
from nndl.book.results import make_row, merge_rows, report_table, verdict
from nndl.book.runs import Setting, format_seconds, new_network
from nndl.book.sparsity import Retraining, prune_and_retrain
from nndl.cli.main import main
from nndl.data.arrays import to_arrays


def _book_data(rng, n, sizes):
    """Random book-form data: (x column, one-hot y) training pairs and (x, int label) test pairs."""
    xs = rng.random((n, sizes[0]))
    labels = rng.integers(0, sizes[-1], n)
    train = [(x.reshape(-1, 1), nndl.vectorized_result(int(j), sizes[-1])) for x, j in zip(xs, labels)]
    test = [(x.reshape(-1, 1), int(j)) for x, j in zip(xs, labels)]
    return train, test


# -- nndl.network: the book's chapter-1 API ------------------------------------------------------
def test_network_matches_the_reference_with_quadratic_cost_and_large_init(rng, capsys):
    sizes = [6, 5, 3]
    train, test = _book_data(rng, 40, sizes)
    net = network.Network(sizes, seed=7)
    oracle = reference.Network(sizes, cost=nndl.QuadraticCost, seed=7)
    oracle.large_weight_initializer()
    assert max_abs_diff(net.weights, oracle.weights) == 0 and max_abs_diff(net.biases, oracle.biases) == 0

    net.SGD(iter(train), 3, 4, 3.0, test_data=iter(test))  # iterators, as the book's Python 3 loader gives
    printed = capsys.readouterr().out.splitlines()
    counts = []
    for _ in range(3):
        oracle.SGD(train, 1, 4, 3.0, lmbda=0.0, regularization="none", verbose=False)
        counts.append(oracle.accuracy(test))
    # One SGD call of 3 epochs and three calls of 1 draw the same permutations from the seed.
    assert max_abs_diff(net.weights, oracle.weights) < 1e-12
    assert printed == [f"Epoch {j}: {counts[j]} / {len(test)}" for j in range(3)]
    assert net.evaluate(test) == oracle.accuracy(test)

    x, y = train[0]
    for got, want in zip(net.backprop(x, y), oracle.backprop(x, y)):
        assert max_abs_diff(got, want) < 1e-12
    assert np.allclose(net.cost_derivative(net.feedforward(x), y), net.feedforward(x) - y)
    net.update_mini_batch(train[:4], 0.5)
    oracle.update_mini_batch(train[:4], 0.5, 0.0, 1, regularization="none")
    assert max_abs_diff(net.weights, oracle.weights) < 1e-12


def test_network_without_test_data_prints_epoch_complete(rng, capsys):
    train, _ = _book_data(rng, 12, [4, 3, 2])
    network.Network([4, 3, 2], seed=1).SGD(train, 2, 3, 1.0)
    assert capsys.readouterr().out.splitlines() == ["Epoch 0 complete", "Epoch 1 complete"]
    assert np.allclose(network.sigmoid_prime(0.0), 0.25) and np.allclose(network.sigmoid(0.0), 0.5)


def test_network_refuses_bad_arguments(rng):
    train, _ = _book_data(rng, 8, [4, 3, 2])
    with pytest.raises(ValueError, match="sizes"):
        network.Network([4])
    with pytest.raises(ValueError, match="mini_batch_size"):
        network.Network([4, 3, 2]).SGD(train, 1, 0, 1.0)


# -- the speed of learning: Network.bias_gradient_norms --------------------------------------------
def test_bias_gradient_norms_agree_with_finite_differences(Engine, rng):
    sizes = [5, 4, 4, 3]
    net = Engine(sizes, seed=3)
    X, labels = rng.random((25, 5)), rng.integers(0, 3, 25)
    data = (X, labels)
    norms = net.bias_gradient_norms(data)
    assert len(norms) == 3

    def mean_cost() -> float:
        return net.total_cost(data, 0.0)

    h = 1e-6
    for layer, b in enumerate(net.biases):
        grad = np.zeros(b.size)
        for i in range(b.size):
            saved = b.flat[i]
            b.flat[i] = saved + h
            up = mean_cost()
            b.flat[i] = saved - h
            down = mean_cost()
            b.flat[i] = saved
            grad[i] = (up - down) / (2 * h)
        assert norms[layer] == pytest.approx(np.linalg.norm(grad), rel=1e-6)


def test_bias_gradient_norms_same_on_both_engines(rng):
    X, labels = rng.random((30, 8)), rng.integers(0, 4, 30)
    a = nndl.Network([8, 6, 5, 4], seed=11).bias_gradient_norms((X, labels))
    b = reference.Network([8, 6, 5, 4], seed=11).bias_gradient_norms((X, labels))
    assert np.allclose(a, b, rtol=1e-12)
    with pytest.raises(ValueError, match="data"):
        nndl.Network([8, 6, 4]).bias_gradient_norms((X[:, :3], labels))


# -- results.json rows, verdicts, merging ----------------------------------------------------------
def test_make_row_statistics_and_verdicts():
    row = make_row(3, "x", 0.95, "test accuracy, best epoch", [1, 2, 3], [0.951, 0.953, 0.949], 30, "n")
    assert row["mean"] == pytest.approx(statistics.mean(row["values"]))
    assert row["sd"] == pytest.approx(statistics.stdev(row["values"]))
    assert set(row) == {"chapter", "experiment", "book", "measure", "seeds", "values", "mean", "sd", "epochs", "note"}
    assert verdict(row) == "reproduced"  # within the range
    assert verdict({**row, "book": 0.9545}) == "reproduced"  # within 2 sd of the mean
    assert verdict({**row, "book": 0.96}) == "below" and verdict({**row, "book": 0.94}) == "above"
    assert verdict({**row, "book": 0.96}, "under") == "reproduced" and verdict(row, "over") == "reproduced"
    assert verdict({**row, "book": None}) == "no book figure"
    table = report_table([row], differences={"x": "why"})
    assert "95.10%" in table and "95.00%" in table and "reproduced" in table and "why" not in table
    one = make_row(6, "vote", 0.9967, "test accuracy", [1, 2, 3, 4, 5], [0.9962], 40)
    table = report_table([one], differences={"vote": "one vote"})
    assert "99.62% (one value)" in table and "±" not in table.splitlines()[-1] and "| below | one vote |" in table
    with pytest.raises(ValueError, match="values"):
        make_row(1, "empty", None, "m", [], [], 0)


def test_merge_rows_replaces_one_chapter_and_keeps_the_others(tmp_path):
    path = tmp_path / "results.json"
    merge_rows(path, 5, [make_row(5, "a", None, "m", [1], [1.0], 1)])
    merge_rows(path, 1, [make_row(1, "b", None, "m", [1], [2.0], 1)])
    merged = merge_rows(path, 5, [make_row(5, "c", None, "m", [1], [3.0], 1)])
    assert [(r["chapter"], r["experiment"]) for r in merged] == [(1, "b"), (5, "c")]
    assert json.loads(path.read_text()) == merged
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json"]  # no lock or temporary file left


# -- sparsity: magnitude pruning holds the pruned weights at zero -----------------------------------
def test_prune_and_retrain_keeps_the_pruned_weights_at_zero(mnist_arrays):
    from nndl.book.runs import MNIST

    (X, y), _, (Xt, yt) = mnist_arrays
    dtype = np.dtype(np.float64)
    data = MNIST(
        to_arrays((X[:200], y[:200]), 784, 10, dtype),
        to_arrays((Xt[:100], yt[:100]), 784, 10, dtype),
        to_arrays((Xt[:100], yt[:100]), 784, 10, dtype),
    )
    setting = Setting((784, 8, 10), 0.5, 1, lmbda=5.0, regularization="l2")
    net = new_network(setting, 1)
    net.SGD(data.training, 1, 10, 0.5, lmbda=5.0, verbose=False)
    before = net.weights[0].copy()
    zeros, accuracy = prune_and_retrain(net, 0.9, Retraining((0.5,), 5.0, "l2"), data, None, seed=1)
    assert zeros == pytest.approx(0.9, abs=1 / before.size)
    assert np.array_equal(net.weights[0], before)  # the trained network is left as it was
    assert 0.0 <= accuracy <= 1.0


def test_eta_schedule_runs_halve_eta_on_the_validation_set(mnist_arrays):
    """A scheduled setting trains until eta has fallen to 1/128 (or the cap), judged by validation."""
    from nndl.book.runs import MNIST, Scale, train

    (X, y), (Xv, yv), (Xt, yt) = mnist_arrays
    dtype = np.dtype(np.float32)
    data = MNIST(
        to_arrays((X[:100], y[:100]), 784, 10, dtype),
        to_arrays((Xv[:50], yv[:50]), 784, 10, dtype),
        to_arrays((Xt[:50], yt[:50]), 784, 10, dtype),
    )
    setting = Setting((784, 8, 10), 0.5, 200, halve_eta_after=1)
    curves = train(setting, 1, data.training, {"validation": data.validation, "test": data.test})
    # Each halving needs at least one epoch without improvement: 8 halvings at least, and the run
    # stopped before the cap (a fixed eta would have run all 200).
    assert 8 <= len(curves.accuracy["test"]) < 200
    assert len(curves.accuracy["validation"]) == len(curves.accuracy["test"])
    with pytest.raises(ValueError, match="validation"):
        train(setting, 1, data.training, {"test": data.test})
    assert Scale((1,)).setting(setting).halve_eta_after == 1


# -- nndl reproduce --chapter ----------------------------------------------------------------------
@pytest.mark.parametrize("chapter", [1, 3, 5])
def test_reproduce_chapter_quick_writes_report_figures_and_rows(tmp_path, chapter, capsys):
    assert main(["reproduce", "--chapter", str(chapter), "--quick", "--seeds", "4", "--out", str(tmp_path)]) == 0
    rows = json.loads((tmp_path / "results.json").read_text())
    assert rows and all(r["chapter"] == chapter for r in rows)
    for r in rows:
        assert r["mean"] == pytest.approx(float(np.mean(r["values"])))
        assert r["seeds"] in ([4], [])  # the baselines are deterministic
    report = (tmp_path / f"chapter{chapter}.md").read_text()
    for png in re.findall(r"\]\(([^)]+\.png)\)", report):
        assert (tmp_path / png).stat().st_size > 1000
    assert "(quick run)" in report
    assert f"## Chapter {chapter}: [chapter{chapter}.md]" in (tmp_path / "README.md").read_text()
    if chapter == 5:
        speeds = [r for r in rows if r["experiment"].startswith("speed of learning")]
        assert len(speeds) == 9 and all(r["values"][0] > 0 for r in speeds)


def test_reproduce_refuses_bad_seeds_and_chapters(tmp_path, capsys):
    with pytest.raises(ValueError, match="seeds"):
        reproduce(5, tmp_path, quick=True, seeds=[-1])
    with pytest.raises(ValueError, match="chapter"):
        reproduce(2, tmp_path, quick=True)
    assert main(["reproduce", "--chapter", "5", "--seeds", "a", "--out", str(tmp_path)]) == 2
    assert main(["reproduce", "--chapter", "5", "--seed", "3", "--out", str(tmp_path)]) == 2
    assert "seeds" in capsys.readouterr().err


def test_format_seconds_and_the_regularizer_comparisons_progress_lines(tmp_path, monkeypatch):
    from nndl import reproduce as comparison

    assert (
        format_seconds(0.26) == "0.26 s" and format_seconds(12.34) == "12.3 s" and format_seconds(125) == "2 min 05 s"
    )
    monkeypatch.setitem(comparison.QUICK, "n_training", 300)
    lines: list[str] = []
    configs = [c for c in comparison.CONFIGS if c.key == "l2"]
    comparison.run(tmp_path, quick=True, epochs=2, configs=configs, log=lines.append)
    so_far = [line for line in lines if "so far" in line]
    assert len(so_far) == 2 and all(re.search(r"\(\d+\.\d+ s so far\)", line) for line in so_far)
