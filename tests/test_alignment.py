"""Arrays the kernels read whole vectors from start on a 64-byte boundary (nndl/alignment.py)."""

import pickle

import numpy as np
import pytest

import nndl
from nndl import network3 as n3
from nndl.alignment import aligned_empty, aligned_require, is_aligned
from nndl.data import to_arrays


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [1, 7, (3, 5), (50, 784)])
def test_aligned_empty(shape, dtype):
    a = aligned_empty(shape, dtype)
    assert is_aligned(a) and a.dtype == dtype and a.flags.c_contiguous and a.flags.writeable
    assert a.shape == (shape if isinstance(shape, tuple) else (shape,))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_network_parameters_are_aligned(dtype):
    net = nndl.Network([784, 30, 10], seed=1, dtype=dtype)
    assert is_aligned(net.weights[0])


def test_bundled_mnist_and_converted_data_are_aligned():
    (X, _y), (Xv, _yv), _ = nndl.load_mnist(format="arrays")
    assert is_aligned(X) and is_aligned(Xv)
    book = nndl.load_mnist()[0][:100]
    for dtype in (np.float32, np.float64):
        arrays = to_arrays(book, 784, 10, np.dtype(dtype))
        assert is_aligned(arrays.X) and arrays.X.dtype == dtype
        np.testing.assert_array_equal(arrays.X, X[:100].astype(dtype))


def test_aligned_require_copies_only_when_it_must():
    a = np.arange(12.0).reshape(3, 4)
    assert np.shares_memory(aligned_require(a, np.dtype(np.float64)), a)  # already fine: no copy
    for other in (a.astype(np.float32), a[:, ::2], np.asfortranarray(a)):
        copy = aligned_require(other, np.dtype(np.float64))
        assert is_aligned(copy) and copy.flags.c_contiguous and not np.shares_memory(copy, other)
        np.testing.assert_array_equal(copy, other)


def test_book_format_rows_of_one_array_are_used_without_a_copy():
    (X, y), _, _ = nndl.load_mnist(format="arrays")
    book = nndl.data.book_form(X, y, one_hot=True)  # what load_mnist() returns, built from X
    arrays = to_arrays(book, 784, 10, np.dtype(np.float64))
    assert np.shares_memory(arrays.X, X) and not arrays.X.flags.writeable  # a read-only view, never written
    np.testing.assert_array_equal(arrays.X, X)
    np.testing.assert_array_equal(arrays.labels, y)


@pytest.mark.parametrize("change", ["shuffled", "one row copied", "every other row", "float32 network"])
def test_book_format_rows_not_of_one_array_are_copied(change):
    X = nndl.load_mnist(format="arrays")[0][0][:300]
    book = nndl.data.book_form(X, np.arange(300) % 10)
    expected, dtype = X, np.float64
    if change == "shuffled":
        order = np.random.default_rng(0).permutation(300)
        book, expected = [book[i] for i in order], X[order]
    elif change == "one row copied":
        book[150] = (book[150][0].copy(), book[150][1])
    elif change == "every other row":
        book, expected = book[::2], X[::2]
    else:
        dtype = np.float32
        expected = X.astype(np.float32)
    arrays = to_arrays(book, 784, 10, np.dtype(dtype))
    assert not np.shares_memory(arrays.X, X) and is_aligned(arrays.X)
    np.testing.assert_array_equal(arrays.X, expected)


def test_training_state_of_network2_is_aligned_also_after_pickling():
    """Momentum's velocity, the cumulative L1 record and the per-weight update EMA are read and
    written by the same kernels as the weights."""
    (X, y), _, _ = nndl.load_mnist(format="arrays")
    net = nndl.Network([784, 12, 10], seed=1)
    options = dict(regularization="l1", l1_method="cumulative", momentum=0.5, monitor_update_ema=0.1, verbose=False)
    net.SGD((X[:40], y[:40]), 1, 10, 0.5, lmbda=5.0, **options)
    for copy in (net, pickle.loads(pickle.dumps(net))):
        s = copy._state
        assert all(is_aligned(a) for a in (s.velocity, s.l1_applied, s.update_ema_weights))
    again = pickle.loads(pickle.dumps(net))
    net.SGD((X[40:80], y[40:80]), 1, 10, 0.5, lmbda=5.0, **options)
    again.SGD((X[40:80], y[40:80]), 1, 10, 0.5, lmbda=5.0, **options)
    np.testing.assert_array_equal(again.weights[0], net.weights[0])  # the copies hold the same state


def test_training_state_of_network3_is_aligned_also_after_a_restore():
    (X, y), _, _ = nndl.load_mnist(format="arrays")
    net = n3.Network([n3.FullyConnectedLayer(784, 12), n3.SoftmaxLayer(12, 10)], mini_batch_size=10, seed=1)
    net.update_mini_batch(X[:10], y[:10], 0.5, 5.0, 100, regularization="l1", l1_method="cumulative", momentum=0.5)
    net._restore(net._snapshot())
    assert is_aligned(net._state.velocity) and is_aligned(net._state.l1_applied)
