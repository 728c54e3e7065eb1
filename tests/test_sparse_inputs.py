"""The sparse first layer (``SGD(sparse_inputs=True)``): on every SIMD kernel set it computes the
dense path's numbers bit for bit, for every update rule, odd shapes, float32 and float64, and 1, 2
or 3 threads; on the scalar set (plain loops, whose sums the compiler may reorder) within the
tolerances test_simd.py uses; and the automatic choice follows the data's density."""

from __future__ import annotations

import numpy as np
import pytest

import nndl
from conftest import max_abs_diff
from nndl import reference
from nndl.sparse_inputs import (
    KEPT_MIN_EPOCHS,
    KEPT_MIN_MINI_BATCH,
    KEPT_MIN_OUTPUT_VECTORS,
    KEPT_SMALL_BATCH_MIN_EPOCHS,
    KEPT_SMALL_BATCH_MIN_FILLED_VECTORS,
    KEPT_SMALL_BATCH_MIN_OUTPUT_VECTORS,
    MAX_DENSITY,
    MAX_GATHER_BYTES,
    MIN_OUTPUT_VECTORS,
    gather_bytes,
    input_density,
    kernel_set_modelled,
    output_vectors,
    pixel_inputs,
    sparse_inputs_pay,
    sparse_inputs_pay_on,
    vector_lanes,
)

AVAILABLE = nndl.simd_info()["available"]
SIMD_PATHS = [name for name in AVAILABLE if name != "scalar"]

RULES = {
    "l1": dict(regularization="l1", lmbda=5.0),
    "l1-proximal": dict(regularization="l1", lmbda=5.0, l1_method="proximal"),
    "l1-cumulative-momentum": dict(regularization="l1", lmbda=5.0, l1_method="cumulative", momentum=0.5),
    "l2-momentum-dropout": dict(regularization="l2", lmbda=5.0, momentum=0.3, dropout=0.2),
    "elastic-net": dict(regularization="elastic_net", lmbda=5.0, l1_ratio=0.3),
    "none": dict(regularization="none"),
}


def params(net):
    return list(net.weights) + list(net.biases)


def train(sparse, X, y, sizes, dtype, m=10, epochs=2, seed=3, **options):
    net = nndl.Network(sizes, dtype=dtype, seed=seed)
    options = {"eta": 0.5, **options}
    eta = options.pop("eta")
    history = net.SGD((X, y), epochs, m, eta, verbose=False, sparse_inputs=sparse, **options)
    return net, history


def sparse_data(rng, n, n_in, density, n_out=10):
    """Inputs in [0, 1] of which about `density` are nonzero; some rows all zero, some values -0.0
    (zero: skipped) and subnormal (nonzero: kept)."""
    X = rng.random((n, n_in)) * (rng.random((n, n_in)) < density)
    X[3] = 0.0
    X[5, ::3] = -0.0
    X[7, 1] = 5e-324
    return X, rng.integers(0, n_out, n)


@pytest.mark.parametrize("simd", SIMD_PATHS, indirect=True)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("rule", sorted(RULES))
def test_sparse_gives_the_dense_bits_on_mnist(simd, mnist_arrays, dtype, rule):
    (X, y), _, _ = mnist_arrays
    X, y = X[:2000], y[:2000]
    dense, _ = train(False, X, y, [784, 33, 10], dtype, **RULES[rule])
    sparse, _ = train(True, X, y, [784, 33, 10], dtype, **RULES[rule])
    for a, b in zip(params(dense), params(sparse)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("simd", SIMD_PATHS, indirect=True)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    "n_in, sizes_after, m",
    [(13, [5, 3], 7), (3, [2], 4), (100, [17, 9, 4], 13), (64, [40], 100), (37, [1, 2], 1), (300, [20, 3], 11)],
)
def test_sparse_gives_the_dense_bits_on_odd_shapes(simd, rng, dtype, n_in, sizes_after, m):
    """Input counts that leave a tail after the last whole vector (13, 37) or fit in less than one (3),
    layer widths not a multiple of the vector, a mini-batch that does not divide the data, one example.
    300 inputs: the gather's transposed tiles (AVX-512: 64 float64 or 256 float32 inputs; AVX2: 16
    or 64, so 64 and 100 inputs take them too), then whole vectors, then a tail; 20 outputs: the
    update's and the forward product's tiles of 2 vectors (float32) and of 2 and 1 (float64)."""
    X, y = sparse_data(rng, 300, n_in, 0.3, sizes_after[-1])
    sizes = [n_in, *sizes_after]
    dense, _ = train(False, X, y, sizes, dtype, m=m, **RULES["l1-cumulative-momentum"])
    sparse, _ = train(True, X, y, sizes, dtype, m=m, **RULES["l1-cumulative-momentum"])
    for a, b in zip(params(dense), params(sparse)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("simd", SIMD_PATHS, indirect=True)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("rule", ["l1", "l1-cumulative-momentum"])
@pytest.mark.parametrize("hidden, m", [(30, 10), (30, 40), (12, 33), (16, 10), (128, 10)])
def test_sparse_gives_the_dense_bits_on_rows_of_one_tile(simd, rng, dtype, rule, hidden, m):
    """Rows of the update that are one tile wide go through a loop of their own: 30 outputs are 4
    vectors of float64 on AVX-512 (in pairs of rows from m=32) and 2 of float32, and 4 of float32 on
    AVX2; 12 and 16 outputs are 2 vectors of float64 on AVX-512 and of float32 on AVX2, 16 are 4 of
    float64 on AVX2. A whole tile of the widest kind: 30 float64 outputs on AVX2 (8 vectors), 128
    float64 on AVX-512 (16 vectors)."""
    X, y = sparse_data(rng, 200, 50, 0.3, 10)
    dense, _ = train(False, X, y, [50, hidden, 10], dtype, m=m, **RULES[rule])
    sparse, _ = train(True, X, y, [50, hidden, 10], dtype, m=m, **RULES[rule])
    for a, b in zip(params(dense), params(sparse)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("simd", SIMD_PATHS, indirect=True)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("hidden, m", [(100, 32), (100, 100), (520, 50)])
def test_sparse_gives_the_dense_bits_with_rows_in_pairs(simd, mnist_arrays, dtype, hidden, m):
    """From mini-batch 32 on, with 32 vector registers, the sparse update walks two input rows at a
    time: the dense bits still, for every rule, in tiles of 16, 4, 2 and 1 vectors (100 units: 13
    float64 vectors on AVX-512, 4+4+4+1, or 7 float32, 4+2+1; 520 units: 65 or 33, with tiles of 16)."""
    (X, y), _, _ = mnist_arrays
    X, y = X[:300], y[:300]
    for rule in sorted(RULES):
        dense, _ = train(False, X, y, [784, hidden, 10], dtype, m=m, epochs=1, **RULES[rule])
        sparse, _ = train(True, X, y, [784, hidden, 10], dtype, m=m, epochs=1, **RULES[rule])
        for a, b in zip(params(dense), params(sparse)):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("simd", SIMD_PATHS, indirect=True)
def test_update_moving_averages_agree(simd, mnist_arrays):
    """Each weight's EMA is computed elementwise from the same weights: equal. The EMA of the mean
    |change| adds the changes in another grouping (per input row instead of per neuron): equal to
    rounding."""
    (X, y), _, _ = mnist_arrays
    _, hd = train(False, X[:1000], y[:1000], [784, 30, 10], np.float64, monitor_update_ema=0.1)
    _, hs = train(True, X[:1000], y[:1000], [784, 30, 10], np.float64, monitor_update_ema=0.1)
    for a, b in zip(hd.update_ema_weights[-1], hs.update_ema_weights[-1]):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(hd.update_ema, hs.update_ema, rtol=1e-12)


@pytest.mark.parametrize("dtype, tolerance", [(np.float64, 1e-9), (np.float32, 2e-2)])
def test_scalar_set_agrees_within_rounding(mnist_arrays, dtype, tolerance):
    """The scalar set's dense loops sum in an order of the compiler's choosing: agreement to rounding
    (float32's grows over two epochs of 200 mini-batches, as between any two summation orders)."""
    (X, y), (Xt, yt), _ = mnist_arrays
    before = nndl.simd_info()["path"]
    nndl.set_simd("scalar")
    try:
        dense, _ = train(False, X[:2000], y[:2000], [784, 30, 10], dtype, **RULES["l1"])
        sparse, _ = train(True, X[:2000], y[:2000], [784, 30, 10], dtype, **RULES["l1"])
    finally:
        nndl.set_simd(before)
    assert max_abs_diff(params(dense), params(sparse)) < tolerance
    assert abs(dense.accuracy((Xt, yt)) - sparse.accuracy((Xt, yt))) <= (0 if dtype == np.float64 else 30)


def test_sparse_matches_the_reference_engine(mnist_arrays):
    (X, y), _, _ = mnist_arrays
    ours, _ = train(True, X[:1000], y[:1000], [784, 30, 10], np.float64, epochs=1, **RULES["l1"])
    ref = reference.Network([784, 30, 10], seed=3)
    ref.SGD((X[:1000], y[:1000]), 1, 10, 0.5, lmbda=5.0, regularization="l1", verbose=False)
    assert max_abs_diff(params(ours), params(ref)) < 1e-9


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_same_bits_for_one_two_and_three_threads(restore_threads, mnist_arrays, dtype):
    """Mini-batch 100 splits the gathering by examples and the update by input rows."""
    (X, y), _, _ = mnist_arrays
    runs = []
    for threads in (1, 2, 3):
        nndl.set_num_threads(threads)
        runs.append(
            train(True, X[:3000], y[:3000], [784, 100, 10], dtype, m=100, monitor_update_ema=0.1, **RULES["l1"])
        )
    (one, h1), (two, h2), (three, h3) = runs
    for other in (two, three):
        for a, b in zip(params(one), params(other)):
            np.testing.assert_array_equal(a, b)
    assert h1.update_ema == h2.update_ema == h3.update_ema


@pytest.mark.parametrize("simd", SIMD_PATHS, indirect=True)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("rule", ["l1", "l1-cumulative-momentum"])
def test_small_mini_batches_split_by_parity_halves(restore_threads, simd, mnist_arrays, dtype, rule):
    """At mini-batch 10 two threads split the first layer by parity halves (sparse_inputs.hpp: each
    sorts, sums and updates the rows of the even or of the odd inputs, and the two halves' sums are
    added per example), where one thread keeps the rows in input order: the same weights, in the
    first epoch (rows gathered) and the later ones (read from the input cache). With the moving
    average of the update watched, one thread keeps the halves too, and the average is the same."""
    (X, y), _, _ = mnist_arrays
    X, y = X[:2000].astype(dtype), y[:2000]
    for ema in (None, 0.1):
        runs = []
        for threads in (1, 2):
            nndl.set_num_threads(threads)
            watched = {} if ema is None else {"monitor_update_ema": ema}
            runs.append(train(True, X, y, [784, 30, 10], dtype, m=10, epochs=3, **watched, **RULES[rule]))
        (one, h1), (two, h2) = runs
        for a, b in zip(params(one), params(two)):
            np.testing.assert_array_equal(a, b)
        if ema:
            assert h1.update_ema == h2.update_ema


@pytest.mark.parametrize("simd", SIMD_PATHS, indirect=True)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n_in, hidden", [(300, 40), (301, 70), (64, 300)])
def test_one_two_and_three_threads_give_the_same_bits_on_every_set(restore_threads, simd, rng, dtype, n_in, hidden):
    """Mini-batches large enough to be split between threads (gathered and sorted by examples,
    updated by ranges of inputs), on every kernel set: inputs with a tail (300 and 301 are no multiple
    of the lanes), narrow and wide layers, and the momentum and cumulative L1 rule (its velocity and
    record kept input-major too). The same bits as one thread, and as the dense path."""
    X, y = sparse_data(rng, 600, n_in, 0.25)
    runs = []
    for threads in (1, 2, 3):
        nndl.set_num_threads(threads)
        runs.append(
            train(
                True,
                X,
                y,
                [n_in, hidden, 10],
                dtype,
                m=200,
                epochs=1,
                monitor_update_ema=0.1,
                **RULES["l1-cumulative-momentum"],
            )
        )
    dense, _ = train(False, X, y, [n_in, hidden, 10], dtype, m=200, epochs=1, **RULES["l1-cumulative-momentum"])
    (one, h1), (two, h2), (three, h3) = runs
    for other in (two, three, dense):
        for a, b in zip(params(one), params(other)):
            np.testing.assert_array_equal(a, b)
    assert h1.update_ema == h2.update_ema == h3.update_ema


@pytest.mark.parametrize("epochs", [1, 3])  # 3: the row is met in the first, while the others are kept
def test_nonfinite_input_is_refused_and_the_network_kept(mnist_arrays, epochs):
    (X, y), _, _ = mnist_arrays
    X = X[:500].copy()
    X[321, 400] = np.nan
    net = nndl.Network([784, 30, 10], seed=2)
    before = [p.copy() for p in params(net)]
    with pytest.raises(ValueError, match=r"training_data: inputs contain NaN or infinity \(example 321\)"):
        net.SGD((X, y[:500]), epochs, 10, 0.5, verbose=False, sparse_inputs=True)
    for a, b in zip(before, params(net)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("simd", SIMD_PATHS, indirect=True)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_nonfinite_input_found_at_any_column_of_a_sparse_row(simd, dtype):
    """The gather checks what it reads: NaN, +inf and -inf alone in a row of zeros (so in a tile that
    is otherwise all zeros, which the AVX-512 gather skips), at columns in its tiles, its whole
    vectors and its tail, are refused naming the example."""
    rng = np.random.default_rng(11)
    X = rng.random((40, 300)) * (rng.random((40, 300)) < 0.2)
    y = rng.integers(0, 3, 40)
    columns = sorted({*range(0, 300, 17), 63, 64, 255, 256, 287, 288, 295, 296, 299})
    for column in columns:
        for bad in (np.nan, np.inf, -np.inf):
            Xb = X.copy()
            Xb[29] = 0.0
            Xb[29, column] = bad
            net = nndl.Network([300, 3], seed=1, dtype=dtype)
            with pytest.raises(ValueError, match=r"inputs contain NaN or infinity \(example 29\)"):
                net.SGD((Xb, y), 1, 4, 0.1, verbose=False, sparse_inputs=True)


def assert_divergence_as_on_the_dense_path(make_net, sgd):
    """Trains make_net() with sgd(net, sparse_inputs) on the dense path and on the sparse path, each
    until it diverges: both must name the same mini-batch and keep the same finite weights."""
    kept, messages = [], []
    for sparse in (False, True):
        net = make_net()
        with pytest.raises(nndl.DivergenceError, match="gave non-finite weights") as info:
            sgd(net, sparse)
        assert all(np.isfinite(p).all() for p in params(net))
        kept.append(params(net))
        messages.append(str(info.value))
    assert messages[0] == messages[1]
    for a, b in zip(*kept):
        np.testing.assert_array_equal(a, b)


@pytest.mark.filterwarnings("ignore::nndl.TrainingWarning")  # an eta of 1e308 on purpose: the warnings are right
@pytest.mark.parametrize("rule", ["default", "l1", "elastic-net", "none"])
def test_divergence_keeps_the_same_weights_as_the_dense_path(mnist_arrays, rule):
    """A huge eta: the mini-batch that overflows is undone (replayed up to the one before it on the
    same path), and both paths name the same mini-batch and keep the same weights. (Without momentum
    the sparse update leaves the rows whose input is zero in the whole mini-batch out of the change
    record the divergence check reads: their weights cannot overflow.)"""
    (X, y), _, _ = mnist_arrays
    assert_divergence_as_on_the_dense_path(
        lambda: nndl.Network([784, 30, 10], seed=4),
        lambda net, sparse: net.SGD(
            (X[:2000], y[:2000]), 3, 10, 1e308, verbose=False, sparse_inputs=sparse, **RULES.get(rule, {})
        ),
    )


@pytest.mark.filterwarnings("ignore::nndl.TrainingWarning")  # an L2 factor of -2 on purpose
@pytest.mark.parametrize("simd", SIMD_PATHS, indirect=True)
def test_divergence_in_a_row_without_entries_is_found_as_on_the_dense_path(simd, rng):
    """An L2 step eta*lmbda/n of 3 multiplies every weight by -2 a mini-batch: the weights of an
    input that is zero in every example, without a gradient, overflow first (they start largest).
    The sparse update must then record those rows' change too (bounded_without_gradient is false),
    and find the divergence at the same mini-batch as the dense path, with the same weights kept."""
    X, y = sparse_data(rng, 200, 50, 0.3, 10)
    X[:, 7] = 0.0

    def network_with_input_7_largest():
        net = nndl.Network([50, 12, 10], seed=5)
        weights = [w.copy() for w in net.weights]
        weights[0][:, 7] = 10.0
        net.weights = weights
        return net

    assert_divergence_as_on_the_dense_path(
        network_with_input_7_largest,
        lambda net, sparse: net.SGD(
            (X, y), 200, 10, 0.5, lmbda=3 * 200 / 0.5, regularization="l2", verbose=False, sparse_inputs=sparse
        ),
    )


@pytest.mark.parametrize("simd", SIMD_PATHS, indirect=True)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("rule", ["l1", "l1-proximal", "elastic-net", "none"])
def test_watching_the_moving_average_changes_no_weight(restore_threads, simd, mnist_arrays, dtype, rule):
    """Unwatched, the sparse update skips the gradient term and the change record of the rows whose
    input is zero in the whole mini-batch; watched, it records every row. The weights are the same
    bits either way, on one thread (rows in input order unwatched, parity halves watched) and on two."""
    (X, y), _, _ = mnist_arrays
    X, y = X[:1000].astype(dtype), y[:1000]
    for threads in (1, 2):
        nndl.set_num_threads(threads)
        unwatched, _ = train(True, X, y, [784, 30, 10], dtype, m=10, epochs=2, **RULES[rule])
        watched, history = train(
            True, X, y, [784, 30, 10], dtype, m=10, epochs=2, monitor_update_ema=0.1, **RULES[rule]
        )
        assert np.isfinite(history.update_ema).all() and min(history.update_ema) > 0
        for a, b in zip(params(unwatched), params(watched)):
            np.testing.assert_array_equal(a, b)


def test_sparse_inputs_is_checked(mnist_arrays):
    (X, y), _, _ = mnist_arrays
    net = nndl.Network([784, 30, 10], seed=1)
    before = [p.copy() for p in params(net)]
    with pytest.raises(TypeError, match="sparse_inputs: expected True, False or None"):
        net.SGD((X[:100], y[:100]), 1, 10, 0.5, verbose=False, sparse_inputs="yes")
    for a, b in zip(before, params(net)):
        np.testing.assert_array_equal(a, b)


def test_the_reference_engine_accepts_the_option(mnist_arrays):
    """It has no sparse path; the option changes nothing there, as it changes no number here."""
    (X, y), _, _ = mnist_arrays
    a = reference.Network([784, 10, 10], seed=1)
    b = reference.Network([784, 10, 10], seed=1)
    a.SGD((X[:200], y[:200]), 1, 10, 0.5, verbose=False, sparse_inputs=True)
    b.SGD((X[:200], y[:200]), 1, 10, 0.5, verbose=False)
    for x, z in zip(params(a), params(b)):
        np.testing.assert_array_equal(x, z)


def test_density_is_measured_on_a_sample(mnist_arrays, rng):
    (X, _), _, _ = mnist_arrays
    assert 0.15 < input_density(X) < 0.25  # MNIST: about 19% of the pixels are not black
    assert input_density(np.zeros((10, 4))) == 0.0
    assert input_density(rng.random((5000, 20)) + 0.5) == 1.0


def test_density_is_measured_only_when_the_shape_allows_sparse(mnist_arrays, monkeypatch):
    # The sample costs about a millisecond per SGD call: not paid when the answer is dense anyway.
    import nndl.sparse_inputs as module

    (X, _), _, _ = mnist_arrays
    cases = [
        (30, np.float32, 10, "avx512"),  # 2 vectors: too narrow
        (100, np.float32, 10, "avx512"),
        (500, np.float64, 50_000, "avx2"),  # the gather would copy the set
        (30, np.float64, 10, "avx2"),
    ]
    expected = [sparse_inputs_pay(input_density(X), w, dt, m, 784, kernels) for w, dt, m, kernels in cases]
    assert expected == [False, True, False, True]
    measured = []
    monkeypatch.setattr(module, "input_density", lambda X: measured.append(X) or input_density(X))
    assert [sparse_inputs_pay_on(X, w, dt, m, 784, kernels) for w, dt, m, kernels in cases] == expected
    assert len(measured) == 2
    # dense inputs on a shape that allows sparse: measured, and refused
    assert not sparse_inputs_pay_on(np.ones((100, 784)), 100, np.float32, 10, 784, "avx512")
    assert len(measured) == 3


def test_the_automatic_choice(mnist_arrays, rng):
    # The width threshold is in vectors of outputs of the kernel set in use (the crossovers measured).
    assert vector_lanes(np.float64, "avx2") == 4 and vector_lanes(np.float32, "avx512") == 16
    assert vector_lanes(np.float64, "scalar") == 1
    assert output_vectors(30, np.float64, "avx512") == 4 and output_vectors(30, np.float32, "avx512") == 2
    assert output_vectors(33, np.float32, "avx512") == 3 and output_vectors(1, np.float64, "avx2") == 1
    assert MIN_OUTPUT_VECTORS == {"avx512": 4, "avx2": 7, "baseline": 7}
    assert not sparse_inputs_pay(0.19, 24, np.float64, 10, 784, "avx512")  # 3 vectors
    assert sparse_inputs_pay(0.19, 25, np.float64, 10, 784, "avx512")  # 4
    assert sparse_inputs_pay(0.19, 30, np.float64, 10, 784, "avx512")  # 4: the book's, 1.05-1.16x
    assert not sparse_inputs_pay(0.19, 30, np.float32, 10, 784, "avx512")  # 2: 0.76-0.87x
    assert not sparse_inputs_pay(0.19, 48, np.float32, 10, 784, "avx512")
    assert sparse_inputs_pay(0.19, 49, np.float32, 10, 784, "avx512")
    assert sparse_inputs_pay(0.19, 100, np.float32, 10, 784, "avx512")  # 7: 1.06-1.14x
    assert sparse_inputs_pay(0.19, 30, np.float64, 10, 784, "avx2")  # 8 vectors
    assert not sparse_inputs_pay(0.19, 24, np.float64, 10, 784, "avx2")  # 6
    assert sparse_inputs_pay(0.19, 25, np.float64, 10, 784, "avx2")  # 7
    assert not sparse_inputs_pay(0.19, 30, np.float32, 10, 784, "avx2")  # 4: 0.85-0.96x
    assert not sparse_inputs_pay(0.19, 6, np.float64, 10, 784, "scalar")
    assert sparse_inputs_pay(0.19, 7, np.float64, 10, 784, "scalar")
    assert not sparse_inputs_pay(MAX_DENSITY + 0.01, 500, np.float64, 10, 784, "avx2")
    # full-batch descent on a large set: the gathering slots would be a copy of it
    assert gather_bytes(50_000, 784, np.float64) > MAX_GATHER_BYTES
    assert not sparse_inputs_pay(0.19, 100, np.float64, mini_batch_size=50_000, n_in=784, kernel_set="avx2")
    assert sparse_inputs_pay(0.19, 100, np.float64, mini_batch_size=100, n_in=784, kernel_set="avx2")
    (X, _), _, _ = mnist_arrays
    # the network asks for the kernel set in use
    path = kernel_set_modelled(nndl.simd_info()["path"])
    wide_enough = output_vectors(30, np.float64, path) >= MIN_OUTPUT_VECTORS.get(path, 7)
    assert nndl.Network([784, 30, 10])._first_layer_reads_sparse(X, None, 10) == wide_enough
    assert nndl.Network([784, 500, 10])._first_layer_reads_sparse(X, None, 10)
    assert not nndl.Network([784, 30, 10], dtype=np.float32)._first_layer_reads_sparse(X, None, 10)
    assert not nndl.Network([784, 30, 10])._first_layer_reads_sparse(rng.random((100, 784)), None, 10)
    assert not nndl.Network([784, 30, 10])._first_layer_reads_sparse(X, False, 10)
    assert nndl.Network([784, 30, 10], dtype=np.float32)._first_layer_reads_sparse(X, True, 10)
    assert not reference.Network([784, 30, 10])._first_layer_reads_sparse(X, True, 10)


def test_the_automatic_choice_counts_on_the_input_cache(mnist_arrays, rng):
    """In a call of several epochs on 8-bit pixels, the input cache makes the sparse path pay at
    narrower layers (the crossovers measured in nndl/sparse_inputs.py), from mini-batch 32."""
    (X, _), _, _ = mnist_arrays
    X = X[:2000]
    assert pixel_inputs(X) and pixel_inputs(X.astype(np.float32)) and pixel_inputs(np.rint(X * 255) / 256)
    assert not pixel_inputs(X + 1e-3 * (X != 0))
    assert not pixel_inputs(rng.random((100, 784)) * (rng.random((100, 784)) < 0.2))
    assert KEPT_MIN_OUTPUT_VECTORS == {"avx512": 2, "avx2": 3} and KEPT_MIN_EPOCHS == 3 and KEPT_MIN_MINI_BATCH == 32
    # float32 30 units: 2 vectors on AVX-512, under MIN_OUTPUT_VECTORS
    assert not sparse_inputs_pay_on(X, 30, np.float32, 100, 784, "avx512")
    assert sparse_inputs_pay_on(X, 30, np.float32, 100, 784, "avx512", epochs=3)
    assert sparse_inputs_pay_on(X, 30, np.float32, 32, 784, "avx512", epochs=30)
    assert not sparse_inputs_pay_on(X, 30, np.float32, 100, 784, "avx512", epochs=2)
    assert sparse_inputs_pay_on(X, 30, np.float32, 31, 784, "avx512", epochs=30)  # the rule for m < 32, below
    assert not sparse_inputs_pay_on(X, 27, np.float32, 31, 784, "avx512", epochs=30)
    assert not sparse_inputs_pay_on(X, 16, np.float32, 100, 784, "avx512", epochs=30)  # 1 vector
    assert sparse_inputs_pay_on(X, 20, np.float64, 100, 784, "avx512", epochs=30)  # 3 vectors
    assert sparse_inputs_pay_on(X, 30, np.float32, 100, 784, "avx2", epochs=3)  # 4 vectors of AVX2
    assert sparse_inputs_pay_on(X, 24, np.float32, 100, 784, "avx2", epochs=3)  # 3
    assert not sparse_inputs_pay_on(X, 16, np.float32, 100, 784, "avx2", epochs=30)  # 2
    # under mini-batch 32: from 4 vectors, in calls of 3 epochs or more, on AVX2 only
    assert KEPT_SMALL_BATCH_MIN_OUTPUT_VECTORS == {"avx512": 2, "avx2": 4} and KEPT_SMALL_BATCH_MIN_EPOCHS == 3
    assert KEPT_SMALL_BATCH_MIN_FILLED_VECTORS == {"avx512": 1.75}
    assert sparse_inputs_pay_on(X, 30, np.float32, 10, 784, "avx2", epochs=3)
    assert sparse_inputs_pay_on(X, 30, np.float32, 31, 784, "avx2", epochs=30)
    assert not sparse_inputs_pay_on(X, 30, np.float32, 10, 784, "avx2", epochs=2)
    assert not sparse_inputs_pay_on(X, 24, np.float32, 10, 784, "avx2", epochs=30)  # 3 vectors: 0.96x
    # on AVX-512 from 2 vectors that are at least 1.75 vectors' worth of outputs
    assert sparse_inputs_pay_on(X, 30, np.float32, 10, 784, "avx512", epochs=3)  # 1.27x later, call even
    assert sparse_inputs_pay_on(X, 28, np.float32, 10, 784, "avx512", epochs=3)
    assert not sparse_inputs_pay_on(X, 30, np.float32, 10, 784, "avx512", epochs=2)
    assert not sparse_inputs_pay_on(X, 27, np.float32, 10, 784, "avx512", epochs=30)  # 26: 1.16x, 5 epochs to repay
    assert not sparse_inputs_pay_on(X, 16, np.float32, 10, 784, "avx512", epochs=30)  # 1 vector
    assert sparse_inputs_pay_on(X, 14, np.float64, 10, 784, "avx512", epochs=3)
    assert not sparse_inputs_pay_on(X, 13, np.float64, 10, 784, "avx512", epochs=30)  # 10: 4-5 epochs to repay
    assert not sparse_inputs_pay_on(X, 24, np.float32, 100, 784, "baseline", epochs=30)  # 6: not measured there
    assert not sparse_inputs_pay_on(X + 1e-3 * (X != 0), 30, np.float32, 100, 784, "avx512", epochs=30)
    assert not sparse_inputs_pay_on(np.ones((100, 784)) / 255, 30, np.float32, 100, 784, "avx512", epochs=30)
    path = kernel_set_modelled(nndl.simd_info()["path"])  # a test set chooses as its model
    net = nndl.Network([784, 30, 10], dtype=np.float32)
    assert net._first_layer_reads_sparse(X, None, 100, 3) == (path in ("avx512", "avx2"))
    assert net._first_layer_reads_sparse(X, None, 10, 3) == (path in ("avx512", "avx2"))
    assert not nndl.Network([784, 20, 10], dtype=np.float32)._first_layer_reads_sparse(X, None, 10, 30)
    assert not net._first_layer_reads_sparse(X, None, 10, 2)
    assert not net._first_layer_reads_sparse(X, None, 100, 2)
