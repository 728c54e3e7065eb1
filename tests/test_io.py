"""Saving and loading in the book's JSON format, and MNIST as the book's loader gives it."""

from __future__ import annotations

import json

import numpy as np
import pytest

import nndl
from nndl import reference


def test_save_writes_the_books_keys_and_round_trips(Engine, tmp_path):
    net = Engine([784, 30, 10], seed=1)
    path = tmp_path / "net.json"
    net.save(path)
    data = json.loads(path.read_text())
    assert sorted(data) == ["biases", "cost", "sizes", "weights"]  # exactly the book's keys
    assert data["cost"] == "CrossEntropyCost" and data["sizes"] == [784, 30, 10]
    assert np.array(data["weights"][0]).shape == (30, 784) and np.array(data["biases"][1]).shape == (10, 1)
    for load in (nndl.load, reference.load):
        back = load(path)
        assert back.sizes == net.sizes and back.cost is net.cost
        for a, b in zip(back.weights + back.biases, net.weights + net.biases):
            assert np.array_equal(a, b)  # JSON keeps every bit of a float64 (repr round trip)


def test_load_reads_a_file_written_by_the_books_network2(tmp_path, rng):
    """The book's save() writes json.dump({"sizes", "weights": w.tolist(), "biases", "cost": name})."""
    sizes = [4, 3, 2]
    weights = [rng.standard_normal((3, 4)), rng.standard_normal((2, 3))]
    biases = [rng.standard_normal((3, 1)), rng.standard_normal((2, 1))]
    path = tmp_path / "book.json"
    with open(path, "w") as f:
        json.dump(
            {
                "sizes": sizes,
                "weights": [w.tolist() for w in weights],
                "biases": [b.tolist() for b in biases],
                "cost": "QuadraticCost",
            },
            f,
        )
    net = nndl.load(path)
    assert net.cost is nndl.QuadraticCost
    x = rng.uniform(size=(4, 1))
    a = x
    for w, b in zip(weights, biases):  # the book's feedforward
        a = 1 / (1 + np.exp(-(w @ a + b)))
    np.testing.assert_allclose(net.feedforward(x), a, rtol=1e-14)


def test_activations_and_dtype_survive_save(Engine, tmp_path):
    net = Engine([5, 4, 3], activation="relu", output="softmax", cost=nndl.LogLikelihoodCost, dtype=np.float32, seed=2)
    net.save(tmp_path / "n.json")
    back = nndl.load(tmp_path / "n.json")
    assert back.activations == ["relu", "softmax"] and back.dtype == np.float32 and back.cost is nndl.LogLikelihoodCost
    x = np.linspace(0, 1, 5).reshape(5, 1)
    np.testing.assert_allclose(back.feedforward(x), net.feedforward(x), rtol=1e-6)


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json", "not valid JSON"),
        ('{"sizes": [2, 1], "weights": [[[1, 2]]], "biases": [[[0]]]}', "lacks cost"),
        (
            '{"sizes": [2, 1], "weights": [[[1, 2, 3]]], "biases": [[[0]]], "cost": "CrossEntropyCost"}',
            "should have weights",
        ),
        ('{"sizes": [2, 1], "weights": [[[1, NaN]]], "biases": [[[0]]], "cost": "CrossEntropyCost"}', "non-finite"),
        ('{"sizes": [2, 1], "weights": [[[1, 2]]], "biases": [[[0]]], "cost": "os.system"}', "unknown cost"),
        ('{"sizes": [100000, 100000], "weights": [], "biases": [], "cost": "CrossEntropyCost"}', "too large"),
    ],
)
def test_load_rejects_bad_files(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=message):
        nndl.load(path)


def test_load_mnist_book_format():
    training, validation, test = nndl.load_mnist()
    assert (len(training), len(validation), len(test)) == (50000, 10000, 10000)
    x, y = training[0]
    assert x.shape == (784, 1) and y.shape == (10, 1) and y.sum() == 1
    assert 0.0 <= x.min() and x.max() <= 1.0
    assert isinstance(validation[0][1], int) and isinstance(test[0][1], int)
    assert int(np.argmax(y)) == 5 and test[0][1] == 7  # the first training image is a 5, the first test a 7


def test_load_mnist_arrays_format():
    (X, y), (Xv, _yv), (Xt, _yt) = nndl.load_mnist(format="arrays")
    assert X.shape == (50000, 784) and X.dtype == np.float64 and y.dtype == np.int64
    assert Xv.shape == (10000, 784) and Xt.shape == (10000, 784)
    assert X.max() == 1.0 and X.min() == 0.0
    assert np.bincount(y, minlength=10).min() > 4000  # every digit well represented
    with pytest.raises(ValueError, match="format"):
        nndl.load_mnist(format="pickle")


def test_networks_pickle_mid_training(Engine, mnist_arrays):
    """joblib and Dask ship networks between processes: a pickled network continues exactly."""
    import pickle

    (X, y), _, _ = mnist_arrays
    net = Engine([784, 10, 10], seed=3)
    net.SGD((X[:300], y[:300]), 1, 10, 0.5, lmbda=1.0, momentum=0.5, dropout=0.2, verbose=False)
    copy = pickle.loads(pickle.dumps(net))
    for a in (net, copy):
        a.SGD((X[:300], y[:300]), 1, 10, 0.5, lmbda=1.0, momentum=0.5, dropout=0.2, verbose=False)
    for p, q in zip(net.weights + net.biases, copy.weights + copy.biases):
        assert np.array_equal(p, q)
    history = net.SGD((X[:100], y[:100]), 1, 10, 0.5, monitor_update_ema=0.5, verbose=False)
    assert pickle.loads(pickle.dumps(history)).update_ema == history.update_ema
