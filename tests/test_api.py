"""The book's network2 API as a reader uses it: shapes, data forms, in-place edits, repr."""

from __future__ import annotations

import numpy as np
import pytest

import nndl


def test_attributes_as_in_the_book(Engine):
    net = Engine([784, 30, 10], seed=1)
    assert net.num_layers == 3 and net.sizes == [784, 30, 10] and net.cost is nndl.CrossEntropyCost
    assert [w.shape for w in net.weights] == [(30, 784), (10, 30)]
    assert [b.shape for b in net.biases] == [(30, 1), (10, 1)]
    # default_weight_initializer: N(0, 1/n_in) weights
    assert 0.8 / np.sqrt(784) < net.weights[0].std() < 1.2 / np.sqrt(784)
    net.large_weight_initializer()
    assert 0.9 < net.weights[0].std() < 1.1


def test_repr(Engine):
    text = repr(Engine([4, 3, 2], seed=1))
    assert "sizes=[4, 3, 2]" in text and "CrossEntropyCost" in text
    assert text.startswith("nndl.Network(" if Engine is nndl.Network else "nndl.reference.Network(")


def test_in_place_edits_change_the_network(Engine, rng):
    net = Engine([6, 4, 3], seed=1)
    x = rng.uniform(size=(6, 1))
    before = net.feedforward(x)
    net.weights[0][:, :5] = 0  # as a reader would, in the book's shapes
    net.biases[1] += 1.0
    after = net.feedforward(x)
    a = x
    for w, b in zip(net.weights, net.biases):
        a = 1 / (1 + np.exp(-(w @ a + b)))
    np.testing.assert_allclose(after, a, rtol=1e-14)
    assert not np.allclose(before, after)
    # replacing a whole array, or the list, works too
    net.weights[1] = np.zeros((3, 4))
    net.biases = [np.zeros((4, 1)), np.zeros((3, 1))]
    np.testing.assert_allclose(net.feedforward(x), np.full((3, 1), 0.5))
    # the C++ engine checks the shape when it copies into its buffer; the reference, like the
    # book, fails in numpy's matrix product
    with pytest.raises(ValueError, match=r"weights\[1\]" if Engine is nndl.Network else "not aligned"):
        net.weights[1] = np.zeros((4, 3))
        net.feedforward(x)


def test_feedforward_column_and_rows(Engine, rng):
    net = Engine([5, 4, 3], seed=1)
    X = rng.uniform(size=(7, 5))
    rows = net.feedforward(X)
    assert rows.shape == (7, 3)
    for i in range(7):
        column = net.feedforward(X[i].reshape(5, 1))
        assert column.shape == (3, 1)
        np.testing.assert_allclose(column[:, 0], rows[i], rtol=1e-14)


def test_data_in_both_forms_gives_the_same_answers(Engine, mnist_arrays):
    (X, y), (Xv, yv), _ = mnist_arrays
    net = Engine([784, 10, 10], seed=1)
    as_book = nndl.book_form(Xv[:300], yv[:300])  # ints: the book's validation data
    as_book_one_hot = nndl.book_form(Xv[:300], yv[:300], one_hot=True)  # one-hot: its training data
    one_hot = np.eye(10)[yv[:300]]
    answers = {net.accuracy(d) for d in (as_book, as_book_one_hot, (Xv[:300], yv[:300]), (Xv[:300], one_hot))}
    assert len(answers) == 1
    assert net.accuracy(as_book_one_hot, convert=True) == answers.pop()  # the book's flag is accepted
    costs = [net.total_cost(d, 1.0) for d in (as_book, (Xv[:300], one_hot))]
    assert costs[0] == pytest.approx(costs[1], rel=1e-14)
    # training from either form walks the same path
    a, b = Engine([784, 10, 10], seed=2), Engine([784, 10, 10], seed=2)
    a.SGD(nndl.book_form(X[:200], y[:200], one_hot=True), 1, 10, 0.5, verbose=False)
    b.SGD((X[:200], y[:200]), 1, 10, 0.5, verbose=False)
    for p, q in zip(a.weights, b.weights):
        assert np.array_equal(p, q)


def test_sgd_returns_the_books_four_lists(Engine, mnist_arrays, capsys):
    (X, y), (Xv, yv), _ = mnist_arrays
    net = Engine([784, 10, 10], seed=1)
    ec, ea, tc, ta = net.SGD(
        (X[:500], y[:500]),
        2,
        10,
        0.5,
        lmbda=1.0,
        evaluation_data=(Xv[:100], yv[:100]),
        monitor_evaluation_cost=True,
        monitor_evaluation_accuracy=True,
        monitor_training_cost=True,
        monitor_training_accuracy=True,
    )
    assert len(ec) == len(ea) == len(tc) == len(ta) == 2
    assert all(isinstance(v, int) for v in ea + ta) and all(isinstance(v, float) for v in ec + tc)
    out = capsys.readouterr().out
    assert "Epoch 1 training complete" in out and "Accuracy on evaluation data:" in out  # the book's prints
    assert net.SGD((X[:100], y[:100]), 0, 10, 0.5, verbose=False) == ([], [], [], [])


def test_same_seed_same_run(mnist_arrays):
    (X, y), _, _ = mnist_arrays
    runs = []
    for _ in range(2):
        net = nndl.Network([784, 10, 10], seed=7)
        net.SGD((X[:1000], y[:1000]), 2, 10, 0.5, dropout=0.2, verbose=False)
        runs.append(net.weights[0].copy())
    assert np.array_equal(runs[0], runs[1])


@pytest.mark.slow
def test_short_mnist_run_reaches_ninety_percent(mnist_arrays):
    """The book's network on the full training set, one epoch: above 90% on validation."""
    (X, y), (Xv, yv), (Xt, yt) = mnist_arrays
    net = nndl.Network([784, 30, 10], seed=1)
    h = net.SGD(
        (X, y),
        2,
        10,
        0.5,
        lmbda=5.0,
        regularization="l1",
        evaluation_data=(Xv, yv),
        monitor_evaluation_accuracy=True,
        verbose=False,
    )
    assert h.evaluation_accuracy[-1] > 9300
    assert net.accuracy((Xt, yt)) > 9300


def test_bad_arguments_name_the_argument(Engine, mnist_arrays):
    (X, y), _, _ = mnist_arrays
    net = Engine([784, 10, 10], seed=1)
    before = [w.copy() for w in net.weights]
    cases = [
        (dict(regularization="l3"), ValueError, "regularization"),
        (dict(l1_method="lasso"), ValueError, "l1_method"),
        (dict(lmbda=-1.0), ValueError, "lmbda"),
        (dict(eta=0.0), ValueError, "eta"),
        (dict(mini_batch_size=0), ValueError, "mini_batch_size"),
        (dict(mini_batch_size=101), ValueError, "mini_batch_size"),
        (dict(epochs=-1), ValueError, "epochs"),
        (dict(epochs=1.5), TypeError, "epochs"),
        (dict(dropout=1.0), ValueError, "dropout"),
        (dict(l1_ratio=1.5), ValueError, "l1_ratio"),
        (dict(training_data=(X[:100, :700], y[:100])), ValueError, "training_data"),
        (dict(training_data=(X[:100], y[:100] + 10)), ValueError, "training_data"),
        (dict(training_data=(X[:100], y[:99])), ValueError, "training_data"),
    ]
    for change, error, name in cases:
        args = dict(training_data=(X[:100], y[:100]), epochs=1, mini_batch_size=10, eta=0.5, verbose=False)
        args.update(change)
        with pytest.raises(error, match=name):
            net.SGD(**args)
    for w, b in zip(net.weights, before):
        assert np.array_equal(w, b)  # nothing changed
    with pytest.raises(ValueError, match="sizes"):
        Engine([784])
    with pytest.raises(ValueError, match="cost"):
        Engine([4, 2], cost=nndl.LogLikelihoodCost)
    with pytest.raises(TypeError, match="cost"):
        Engine([4, 2], cost=len)
