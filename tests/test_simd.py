"""Every SIMD kernel set this machine can run agrees with the scalar kernels and with the
reference engine (the `simd_path` fixture forces each set in turn).

Tolerances, float64: the SIMD kernels sum dot products in vector lanes (a different order from the
scalar loops) and contract a*b+c into FMAs, and the sigmoid uses the kernels' own exp (within
about 1 ulp of the C library's). Each of these moves a result by a few ulps, so the foundation's
tolerances hold unchanged: 1e-12 per step, 1e-9 after an epoch, accuracy counts exactly equal.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

import nndl
from conftest import max_abs_diff, printed_by_new_python
from nndl import reference

AVAILABLE = nndl.simd_info()["available"]
SIMD_PATHS = [name for name in AVAILABLE if name != "scalar"]
# Built only on request (cmake -DNNDL_AVX512_ON_AVX2=ON, .ci/run's second pass), never chosen automatically.
TEST_SETS = {"avx512-on-avx2"}
BEST = [name for name in AVAILABLE if name not in TEST_SETS][-1]  # the set chosen without NNDL_SIMD


def path_in_a_new_process(env):
    """The kernel set a new Python process with environment `env` runs."""
    return printed_by_new_python("import nndl; print(nndl.simd_info()['path'])", env)


@pytest.fixture(params=SIMD_PATHS)
def simd_path(request):
    """Force one SIMD kernel set for the test, then restore the one chosen at import."""
    before = nndl.simd_info()["path"]
    nndl.set_simd(request.param)
    try:
        yield request.param
    finally:
        nndl.set_simd(before)


def params(net):
    return list(net.weights) + list(net.biases)


def run_with(path, fn):
    """fn() with kernel set `path` forced, restoring the previous set."""
    before = nndl.simd_info()["path"]
    nndl.set_simd(path)
    try:
        return fn()
    finally:
        nndl.set_simd(before)


def test_simd_info_reports_the_sets():
    info = nndl.simd_info()
    assert info["path"] in info["available"]
    assert info["available"][0] == "scalar" and "scalar" in info["compiled"]
    assert set(info["available"]) <= set(info["compiled"])
    assert set(info["compiled"]) <= {"scalar", "baseline", "avx2", "avx512"} | TEST_SETS
    if os.environ.get("NNDL_SIMD") in info["available"]:
        assert info["path"] == os.environ["NNDL_SIMD"]
    else:  # the best the CPU has, a test set never
        assert info["path"] == BEST


def test_a_test_set_runs_only_when_named():
    """The avx512-on-avx2 set, when built, is available on AVX2 but not chosen without NNDL_SIMD."""
    env = {key: value for key, value in os.environ.items() if key != "NNDL_SIMD"}
    assert path_in_a_new_process(env) == BEST
    if "avx512-on-avx2" in nndl.simd_info()["compiled"]:
        assert ("avx512-on-avx2" in AVAILABLE) == ("avx2" in AVAILABLE)


def test_set_simd_rejects_unknown_and_unavailable_sets():
    with pytest.raises(ValueError, match="not available"):
        nndl.set_simd("sse9")
    for name in {"scalar", "baseline", "avx2", "avx512"} - set(AVAILABLE):
        with pytest.raises(ValueError, match="not available"):
            nndl.set_simd(name)


@pytest.mark.parametrize("wanted", ["scalar", "baseline"])
def test_environment_variable_forces_a_lower_set(wanted):
    assert path_in_a_new_process(dict(os.environ, NNDL_SIMD=wanted)) == (wanted if wanted in AVAILABLE else BEST)


# Shapes that exercise every tile edge: widths that are not multiples of any vector length, layers
# narrower than one vector, mini-batches smaller than a tile; hidden layers at the edge of the
# along-the-outputs forward kernel (128 inputs: that kernel; 129: the dot-product one).
ODD_SHAPES = [
    ([13, 7, 3], 3),
    ([37, 11, 5, 2], 7),
    ([784, 30, 10], 10),
    ([50, 33, 17], 100),
    ([5, 1, 1], 1),
    ([9, 128, 129, 33], 13),
]


@pytest.mark.parametrize("sizes, m", ODD_SHAPES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_backprop_and_feedforward_match_scalar(simd_path, rng, sizes, m, dtype):
    X = rng.normal(size=(m, sizes[0])).astype(dtype)
    y = rng.integers(0, sizes[-1], size=m)
    net = nndl.Network(sizes, seed=3, dtype=dtype)
    # float64: a few ulps (see the module docstring); float32: the same, at float32's epsilon.
    rtol, atol = (1e-12, 1e-15) if dtype == np.float64 else (2e-5, 1e-6)
    for x, label in zip(X[:3], y[:3]):
        simd = net.backprop(x.reshape(-1, 1), int(label))
        scalar = run_with("scalar", lambda x=x, label=label: net.backprop(x.reshape(-1, 1), int(label)))
        for a, b in zip(simd[0] + simd[1], scalar[0] + scalar[1]):
            np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)
    out_simd = net.feedforward(X)
    out_scalar = run_with("scalar", lambda: net.feedforward(X))
    np.testing.assert_allclose(out_simd, out_scalar, rtol=rtol, atol=atol)


RULES = [
    dict(regularization="none"),
    dict(regularization="l2"),
    dict(regularization="l1", l1_method="subgradient"),
    dict(regularization="l1", l1_method="proximal"),
    dict(regularization="l1", l1_method="cumulative"),
    dict(regularization="elastic_net", l1_method="subgradient", l1_ratio=0.3),
    dict(regularization="l1", l1_method="subgradient", momentum=0.9),
    dict(regularization="elastic_net", l1_method="proximal", momentum=0.5),
    dict(regularization="l1", l1_method="cumulative", momentum=0.9, dropout=0.3),
]


@pytest.mark.parametrize("rule", RULES, ids=lambda r: "-".join(str(v) for v in r.values()))
@pytest.mark.parametrize("sizes", [[784, 30, 10], [37, 11, 5, 2]])
def test_update_matches_scalar_and_reference(simd_path, mnist_arrays, rng, rule, sizes):
    """Every specialization of the fused update (by rule, momentum and L1 method), several steps,
    against the scalar kernels and the reference engine: 1e-12 per step."""
    (X, y), _, _ = mnist_arrays
    if sizes[0] != 784:
        X = rng.normal(size=(40, sizes[0]))
        y = rng.integers(0, sizes[-1], size=40)
    nets = [nndl.Network(sizes, seed=3), nndl.Network(sizes, seed=3), reference.Network(sizes, seed=3)]
    rule = dict(rule)
    dropout = rule.pop("dropout", 0.0)
    for step in range(4):  # big steps, so L1 methods meet weights at and around zero
        batch = (X[10 * step : 10 * step + 10], y[10 * step : 10 * step + 10])
        for i, net in enumerate(nets):

            def update(net=net, batch=batch):
                return net.update_mini_batch(batch, eta=3.0, lmbda=500.0, n=1000, dropout=dropout, **rule)

            run_with("scalar", update) if i == 1 else update()
    simd, scalar, ref = nets
    assert max_abs_diff(params(simd), params(scalar)) < 1e-12
    assert max_abs_diff(params(simd), params(ref)) < 1e-12


@pytest.mark.parametrize("mini_batch_size", [10, 100])
def test_epoch_matches_reference(simd_path, mnist_arrays, mini_batch_size):
    """An epoch on 3,000 images with monitors: weights within 1e-9, accuracy counts equal."""
    (X, y), (Xv, yv), _ = mnist_arrays
    fast, ref = nndl.Network([784, 30, 10], seed=1), reference.Network([784, 30, 10], seed=1)
    histories = [
        net.SGD(
            (X[:3000], y[:3000]),
            1,
            mini_batch_size,
            0.5,
            lmbda=5.0,
            regularization="l1",
            evaluation_data=(Xv[:1000], yv[:1000]),
            monitor_evaluation_accuracy=True,
            monitor_evaluation_cost=True,
            verbose=False,
        )
        for net in (fast, ref)
    ]
    assert max_abs_diff(params(fast), params(ref)) < 1e-9
    assert histories[0].evaluation_accuracy == histories[1].evaluation_accuracy
    np.testing.assert_allclose(histories[0].evaluation_cost, histories[1].evaluation_cost, rtol=1e-10)


def test_float32_tracks_float64_on_every_path(simd_path, mnist_arrays):
    """float32 rounds at ~6e-8 per operation; after an epoch of L2 training on 1,000 images the
    weights stay within 1e-5 of float64's (measured ~1e-6), and the accuracies within 1%."""
    (X, y), _, _ = mnist_arrays
    a = nndl.Network([784, 30, 10], seed=2, dtype=np.float32)
    b = nndl.Network([784, 30, 10], seed=2)
    for net in (a, b):
        net.SGD((X[:1000], y[:1000]), 1, 10, 0.5, lmbda=5.0, regularization="l2", verbose=False)
    assert max_abs_diff([w.astype(np.float64) for w in params(a)], params(b)) < 1e-5
    assert abs(a.accuracy((X[:1000], y[:1000])) - b.accuracy((X[:1000], y[:1000]))) <= 10


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("sparse_inputs", [False, True])
def test_l1_step_at_zero_subnormal_and_huge_weights(simd_path, rng, dtype, sparse_inputs):
    """The book's L1 step on weights whose gradient is exactly 0 (their input is 0 in every example):
    w - (eta*lmbda/n) sgn(w), sgn(0) = 0, bit for bit, at +-0, subnormals, +-l1 itself, l1/2 (which
    crosses zero), and the largest finite values. On AVX-512 sgn(w) is a vfixupimm table."""
    eta, lmbda, n = 0.5, 0.02, 10  # n: the training set's size
    l1 = dtype(eta * lmbda / n)
    tiny, big = np.finfo(dtype).smallest_subnormal, np.finfo(dtype).max
    column = np.array([0.0, -0.0, tiny, -tiny, l1, -l1, l1 / 2, -l1 / 2, big, -big, 1.0, -1.0, 0.25, -3.5], dtype)
    column = np.resize(column, 33)  # 33 outputs: whole vectors and a tail on every set
    X = rng.uniform(size=(n, 20)).astype(dtype)
    X[:, 0] = 0.0
    y = rng.integers(0, 4, size=n)
    net = nndl.Network([20, 33, 4], seed=0, dtype=dtype)
    net.weights[0][:, 0] = column
    net.SGD((X, y), 1, n, eta, lmbda=lmbda, regularization="l1", sparse_inputs=sparse_inputs, verbose=False)
    np.testing.assert_array_equal(net.weights[0][:, 0], column - l1 * np.sign(column))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sigmoid_saturates_like_the_scalar_path(simd_path, dtype):
    """The kernels' exp: inf beyond the overflow point, 0 beyond underflow, so outputs saturate to
    exactly 0 and 1 as with the C library; in between within a few ulps."""
    net = nndl.Network([1, 1], seed=0, dtype=dtype)
    net.weights[0][...] = 1.0
    net.biases[0][...] = 0.0
    z = (
        np.concatenate(
            [
                [-1e4, -800, -746, -745, -700, -104, -88, -30, -1e-3, 0, 1e-3, 5, 30, 40, 88, 800, 1e4],
                np.linspace(-50, 50, 1001),
            ]
        )
        .astype(dtype)
        .reshape(-1, 1)
    )
    simd = net.feedforward(z).ravel()
    scalar = run_with("scalar", lambda: net.feedforward(z)).ravel()
    assert simd[0] == 0 and simd[-1] == 1 and scalar[0] == 0 and scalar[-1] == 1
    ulps = 4 * np.finfo(dtype).eps
    np.testing.assert_allclose(simd, scalar, rtol=ulps, atol=np.finfo(dtype).tiny)
    from nndl import _core  # the public API refuses NaN inputs; the kernel must still pass NaN through

    assert np.isnan(_core.feedforward(net._arch, net._params, np.array([[np.nan]], dtype=dtype))).all()


def test_fma_peak_is_measured():
    from nndl import _core

    for dtype in (np.float32, np.float64):
        assert _core.fma_peak_gflops(dtype, 0.01) > 0.1
    with pytest.raises(TypeError):
        _core.fma_peak_gflops(np.int32, 0.01)


@pytest.mark.filterwarnings("ignore::nndl.TrainingWarning")  # extreme data on purpose: the warnings are right
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("path", AVAILABLE)
def test_nonfinite_inputs_found_at_any_column(path, dtype):
    """The training loop's input check (kernels' first_nonfinite_row): NaN, +inf and -inf at every
    column of a 37-wide row (vector body and tail on every path) are found; huge finite values are
    not mistaken for them."""
    rng = np.random.default_rng(5)
    X = rng.random((40, 37))
    y = rng.integers(0, 3, 40)
    huge = np.finfo(dtype).max
    X[7, :5] = huge
    X[8, :5] = -huge

    def check():
        nndl.Network([37, 3], seed=1, dtype=dtype).SGD((X, y), 1, 4, 0.1, verbose=False)  # finite: trains
        for column in range(37):
            for bad in (np.nan, np.inf, -np.inf):
                Xb = X.copy()
                Xb[29, column] = bad
                net = nndl.Network([37, 3], seed=1, dtype=dtype)
                with pytest.raises(ValueError, match=r"inputs contain NaN or infinity \(example 29\)"):
                    net.SGD((Xb, y), 1, 4, 0.1, verbose=False)

    run_with(path, check)
