"""The sparse first layer's input cache (cpp/include/nndl/input_cache.hpp): an SGD call of more than
one epoch keeps the nonzeros it gathers of 8-bit pixel data, and its later epochs read them instead
of the rows. It must change no number: every test compares with the dense path bit for bit, and
checks that the cache was (or was not) used, on MNIST and on data made to defeat it."""

from __future__ import annotations

import numpy as np
import pytest

import nndl
import nndl.network2
from nndl import _core

AVAILABLE = nndl.simd_info()["available"]
SIMD_PATHS = [name for name in AVAILABLE if name != "scalar"]
L1 = dict(regularization="l1", lmbda=5.0)


def recording(monkeypatch, max_bytes=None):
    """Makes SGD's input caches (with max_bytes when given) and records them as they are made."""
    made: list[_core.SparseInputCache] = []
    options = {} if max_bytes is None else {"max_bytes": max_bytes}
    cache_type = _core.SparseInputCache

    def make() -> _core.SparseInputCache:
        made.append(cache_type(**options))
        return made[-1]

    monkeypatch.setattr(nndl.network2._core, "SparseInputCache", make)
    return made


@pytest.fixture
def caches(monkeypatch):
    """The caches SGD makes, in order."""
    return recording(monkeypatch)


def params(net):
    return list(net.weights) + list(net.biases)


def train(sparse, X, y, sizes, dtype, m=10, epochs=3, seed=4, **options):
    net = nndl.Network(sizes, dtype=dtype, seed=seed)
    net.SGD((X, y), epochs, m, 0.5, verbose=False, sparse_inputs=sparse, **options)
    return net


def assert_same_bits(a, b):
    for p, q in zip(params(a), params(b)):
        np.testing.assert_array_equal(p, q)


def pixels(rng, n, n_in, density, scale=255, dtype=np.float64):
    """8-bit pixels q/scale (q in 1..255) at about `density` of the inputs, the rest 0."""
    q = rng.integers(1, 256, (n, n_in)) * (rng.random((n, n_in)) < density)
    return (q / scale).astype(dtype)


# 30 units: the forward product's narrow tiles on AVX-512 (and float32 on AVX2), which read one
# example at a time; 100 units: its wide tiles, which read the examples group by group.
@pytest.mark.parametrize("simd", SIMD_PATHS, indirect=True)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("hidden", [30, 100])
def test_mnist_is_kept_and_gives_the_dense_bits(simd, caches, mnist_arrays, dtype, hidden):
    (X, y), _, _ = mnist_arrays
    X, y = X[:1500], y[:1500]
    dense = train(False, X, y, [784, hidden, 10], dtype, **L1)
    sparse = train(True, X, y, [784, hidden, 10], dtype, **L1)
    assert_same_bits(dense, sparse)
    (cache,) = caches
    assert cache.scale == 255
    assert cache.examples_kept == 1500
    # about 150 nonzeros an image, 3 bytes each, plus the group counts
    assert 1500 * 300 < cache.bytes_used < 1500 * 700


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_same_bits_for_one_two_and_three_threads_with_the_cache(restore_threads, caches, mnist_arrays, dtype):
    """Mini-batch 100 is split between threads, which keep and read records side by side."""
    (X, y), _, _ = mnist_arrays
    X, y = X[:2000], y[:2000]
    nets = []
    for threads in (1, 2, 3):
        nndl.set_num_threads(threads)
        nets.append(train(True, X, y, [784, 100, 10], dtype, m=100, momentum=0.5, **L1))
    for other in nets[1:]:
        assert_same_bits(nets[0], other)
    assert [c.examples_kept for c in caches] == [2000, 2000, 2000]


@pytest.mark.parametrize("simd", SIMD_PATHS, indirect=True)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("m", [15, 16, 17])
def test_pixel_codes_up_to_16_examples_and_runs_from_17(restore_threads, simd, caches, mnist_arrays, dtype, m):
    """In the later epochs, a mini-batch of at most 16 examples hands its nonzeros to the update as
    pixel codes (sparse_inputs.hpp's place_codes), on one thread or split by parity halves; from 17,
    as sorted runs. Either way the dense path's bits, on 1, 2 and 3 threads (3: the mini-batch is split
    by examples, whose parts sort runs). Up to 15 examples, rows of at most 2 vectors take their codes
    in pairs, an odd one padded with example 15's zero code (CodedEntries::each_in_pairs). 790 images:
    at m=16 the last mini-batch has 6 examples, whose pairs' padding reads the deltas that an earlier
    mini-batch's example 15 left in row 15."""
    (X, y), _, _ = mnist_arrays
    X, y = X[:790], y[:790]
    dense = train(False, X, y, [784, 30, 10], dtype, m=m, **L1)
    for threads in (1, 2, 3):
        nndl.set_num_threads(threads)
        assert_same_bits(dense, train(True, X, y, [784, 30, 10], dtype, m=m, **L1))
    assert [c.examples_kept for c in caches] == [790, 790, 790]


def test_one_epoch_keeps_nothing(caches, mnist_arrays):
    (X, y), _, _ = mnist_arrays
    train(True, X[:500], y[:500], [784, 30, 10], np.float64, epochs=1, **L1)
    assert caches == []


def test_the_dense_path_keeps_nothing(caches, mnist_arrays):
    (X, y), _, _ = mnist_arrays
    train(False, X[:500], y[:500], [784, 30, 10], np.float64, epochs=2, **L1)
    assert caches == []


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_data_that_is_not_pixels_is_never_kept(caches, rng, dtype):
    X = rng.random((600, 200)) * (rng.random((600, 200)) < 0.2)
    y = rng.integers(0, 10, 600)
    assert_same_bits(train(False, X, y, [200, 40, 10], dtype, **L1), train(True, X, y, [200, 40, 10], dtype, **L1))
    (cache,) = caches
    assert cache.scale == 0
    assert cache.examples_kept == 0 and cache.bytes_used == 0


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_value_without_a_code_stops_the_keeping_there(caches, rng, dtype):
    """The first rows (which choose the codes) are pixels; row 400 holds a value that is not. The
    rows kept before it are read from the cache, the others gathered every epoch."""
    X = pixels(rng, 800, 200, 0.2)
    X[400, 7] = 0.123456
    y = rng.integers(0, 10, 800)
    assert_same_bits(train(False, X, y, [200, 40, 10], dtype, **L1), train(True, X, y, [200, 40, 10], dtype, **L1))
    (cache,) = caches
    assert cache.scale == 255
    assert 0 < cache.examples_kept < 800


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_pixels_over_256_and_rounded_in_float32(caches, rng, dtype):
    """q/256 (the book's own pickle of MNIST), and q/255 computed in float32 rather than rounded from
    float64: both have codes that give back every bit."""
    for scale, X in (
        (256, pixels(rng, 400, 200, 0.2, scale=256, dtype=dtype)),
        (255, (rng.integers(0, 256, (400, 200)).astype(np.float32) / np.float32(255)).astype(dtype)),
    ):
        X[rng.random(X.shape) < 0.8] = 0
        y = rng.integers(0, 10, 400)
        assert_same_bits(train(False, X, y, [200, 40, 10], dtype, **L1), train(True, X, y, [200, 40, 10], dtype, **L1))
        assert caches[-1].scale == scale
        assert caches[-1].examples_kept == 400


@pytest.mark.parametrize("sizes", [[784, 30, 10], [784, 100, 10]])
def test_a_full_cache_keeps_what_fits(monkeypatch, mnist_arrays, sizes):
    """Mini-batches then mix kept examples with gathered ones, in the sort and the forward product."""
    (X, y), _, _ = mnist_arrays
    X, y = X[:1000], y[:1000]
    made = recording(monkeypatch, max_bytes=100_000)  # about 200 MNIST images
    assert_same_bits(train(False, X, y, sizes, np.float64, **L1), train(True, X, y, sizes, np.float64, **L1))
    (cache,) = made
    assert cache.max_bytes == 100_000
    assert 100 < cache.examples_kept < 400
    assert cache.bytes_used <= 100_000


def test_a_cache_used_with_other_data_starts_again(mnist_arrays):
    """The engine's own entry point: a cache holds the array it was used with, and another array
    (another object, even with the same shape) empties it."""
    (X, y), _, _ = mnist_arrays
    net = nndl.Network([784, 30, 10], seed=1)
    cache = _core.SparseInputCache()
    Y = np.eye(10)[y[:300]]
    order = np.arange(300, dtype=np.int64)
    rule = _core.UpdateRule("l1", "subgradient", 0.5, 5.0, 0.5, 300, 0.0)
    dropout = _core.Dropout(0.0, 0)
    first = np.ascontiguousarray(X[:300])
    _core.train_minibatches(
        net._arch, net._parameters(), first, Y, order, 10, 0, 10, rule, dropout, net._state, True, cache
    )
    assert cache.examples_kept == 100
    second = np.ascontiguousarray(X[300:600])
    _core.train_minibatches(
        net._arch, net._parameters(), second, Y, order, 10, 0, 5, rule, dropout, net._state, True, cache
    )
    assert cache.examples_kept == 50


def test_max_bytes_is_checked():
    with pytest.raises(ValueError, match="max_bytes: must be >= 0, got -1"):
        _core.SparseInputCache(max_bytes=-1)
    assert _core.SparseInputCache(max_bytes=0).max_bytes == 0
