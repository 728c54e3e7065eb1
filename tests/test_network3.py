"""nndl.network3 (the book's chapter-6 network3 on the C++ core) against its numpy reference
(nndl.network3_reference), finite differences, and its reliability contract.

Tolerances, float64: the C++ dense kernels sum in vector lanes and contract into FMAs, the reference
sums with numpy/einsum; both are a few ulps from exact per operation, so 1e-12 absolute on
gradients and parameters of order 1 after a few steps, 1e-10 after a short run. Images are 8x8 so
that the file runs in about a second.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import nndl
from nndl import network3 as n3
from nndl import network3_reference as ref

M = 4  # mini-batch size of the small networks


def small_net(seed=1, act=n3.tanh, p=0.0, dtype=np.float64, m=M, hidden=7):
    """conv 8x8 -> 3 maps 3x3 filters, pool 2 -> 3x3x3; conv 2x2 no pool -> 4x2x2; FC 16 -> hidden; softmax 5."""
    return n3.Network(
        [
            n3.ConvPoolLayer((3, 1, 3, 3), (m, 1, 8, 8), (2, 2), act),
            n3.ConvPoolLayer((4, 3, 2, 2), (m, 3, 3, 3), (1, 1), act),
            n3.FullyConnectedLayer(16, hidden, act, p_dropout=p),
            n3.SoftmaxLayer(hidden, 5, p_dropout=p),
        ],
        m,
        seed=seed,
        dtype=dtype,
    )


def randomize(net, rng, scale=0.5):
    """Non-zero parameters everywhere (the softmax starts at zero, which would hide the layers below)."""
    for layer in net.layers:
        layer.w = rng.normal(size=layer.w.shape) * scale
        layer.b = rng.normal(size=layer.b.shape) * scale


def data(rng, n=M, classes=5, width=64):
    return rng.random((n, width)), rng.integers(0, classes, n)


@pytest.mark.parametrize("act", [n3.sigmoid, n3.tanh, n3.ReLU, n3.linear])
def test_layer_outputs_and_gradients_match_the_reference(act, rng):
    net = small_net(act=act)
    randomize(net, rng)
    X, y = data(rng)
    oracle = ref.Network.copy_of(net)
    grads, expected = net.backprop(X, y), oracle.backprop(X, y)
    for out, want in zip(net.layer_outputs(X), oracle.outputs):
        np.testing.assert_allclose(out, want.reshape(out.shape), rtol=0, atol=1e-12)
    for (gw, gb), (ew, eb), layer in zip(grads, expected, net.layers):
        assert gw.shape == layer.w.shape and gb.shape == layer.b.shape
        np.testing.assert_allclose(gw, ew, rtol=0, atol=1e-12)
        np.testing.assert_allclose(gb, eb, rtol=0, atol=1e-12)


def summed_cost(net, X, y):
    probs = net.feedforward(X)
    return float(-np.sum(np.log(probs[np.arange(len(y)), y])))


def test_gradients_match_central_differences_for_every_layer_type(rng):
    net = small_net(act=n3.tanh)
    randomize(net, rng)
    X, y = data(rng)
    grads = net.backprop(X, y)
    eps = 1e-6
    for layer, (gw, gb) in zip(net.layers, grads):
        for param, grad in ((layer.w, gw), (layer.b, gb)):
            for index in rng.choice(param.size, size=min(6, param.size), replace=False):
                where = np.unravel_index(index, param.shape)
                old = param[where]
                param[where] = old + eps
                up = summed_cost(net, X, y)
                param[where] = old - eps
                down = summed_cost(net, X, y)
                param[where] = old
                numeric = (up - down) / (2 * eps)
                assert abs(numeric - grad[where]) <= 1e-6 * max(1.0, abs(numeric)), (type(layer).__name__, where)


def test_pooling_tie_sends_the_error_to_the_first_maximum():
    # Filter (1, 1) over a 1x3 row [1, 0, 1]: the two positions both give 1, from patches (1, 0)
    # and (0, 1). The first maximum takes the error, so dL/dw is proportional to (1, 0).
    net = n3.Network(
        [n3.ConvPoolLayer((1, 1, 1, 2), (1, 1, 1, 3), (1, 2), n3.linear), n3.SoftmaxLayer(1, 2)],
        1,
        seed=1,
        dtype=np.float64,
    )
    net.layers[0].w = np.ones((1, 1, 1, 2))
    net.layers[1].w = np.array([[1.0, -1.0]])
    X, y = np.array([[1.0, 0.0, 1.0]]), np.array([1])
    (gw, _), _ = net.backprop(X, y)
    assert gw[0, 0, 0, 1] == 0.0 and gw[0, 0, 0, 0] != 0.0
    (ew, _), _ = ref.Network.copy_of(net).backprop(X, y)
    # The reference's softmax goes through numpy's exp, the engine's through its own: the nonzero
    # gradient agrees to rounding (it differed in the last bit for some random biases), the zero exactly.
    assert ew[0, 0, 0, 1] == 0.0
    np.testing.assert_allclose(gw, ew, rtol=1e-13, atol=0)


def test_pooling_drops_the_border_and_filters_may_fill_the_image(rng):
    # 7x7 image, 2x2 filters -> 6x6, pooled 4x4 -> 1x1 (two rows and columns dropped); a 7x7 filter -> 1x1.
    for filt, pool in (((2, 1, 2, 2), (4, 4)), ((2, 1, 7, 7), (1, 1))):
        net = n3.Network(
            [n3.ConvPoolLayer(filt, (2, 1, 7, 7), pool, n3.sigmoid), n3.SoftmaxLayer(2, 3)], 2, dtype=np.float64
        )
        randomize(net, rng)
        X, y = rng.random((2, 49)), np.array([0, 2])
        for (gw, gb), (ew, eb) in zip(net.backprop(X, y), ref.Network.copy_of(net).backprop(X, y)):
            np.testing.assert_allclose(gw, ew, rtol=0, atol=1e-12)
            np.testing.assert_allclose(gb, eb, rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    "options",
    [
        {"regularization": "l2"},
        {"regularization": "l1"},
        {"regularization": "l1", "l1_method": "proximal", "momentum": 0.5},
        {"regularization": "elastic_net", "l1_method": "cumulative"},
        {"regularization": "none", "momentum": 0.9},
    ],
    ids=lambda o: "-".join(str(v) for v in o.values()),
)
def test_mini_batch_updates_match_the_reference_with_dropout(options, rng):
    net = small_net(p=0.3)
    randomize(net, rng)
    oracle = ref.Network.copy_of(net)
    X, y = data(rng)
    for _ in range(3):
        net.update_mini_batch(X, y, 0.5, 0.1, 100, **options)
        oracle.update_mini_batch(X, y, 0.5, 0.1, 100, **options)
    for layer, (w, b) in zip(net.layers, oracle.params):
        np.testing.assert_allclose(layer.w, w, rtol=0, atol=1e-12)
        np.testing.assert_allclose(layer.b, b, rtol=0, atol=1e-12)


def test_lmbda_is_network3s_convention(rng):
    # network3's cost adds 0.5*lmbda*sum(w^2)/num_training_batches, num_training_batches = n/m, and
    # its update is w - eta * d(mean cost)/dw: w - eta*(g/m + lmbda*(m/n)*w).
    net = small_net()
    randomize(net, rng)
    X, y = data(rng)
    before = [layer.w.copy() for layer in net.layers]
    grads = ref.Network.copy_of(net).backprop(X, y)
    eta, lmbda, n = 0.2, 0.7, 40
    net.update_mini_batch(X, y, eta, lmbda, n)
    for layer, w, (g, _) in zip(net.layers, before, grads):
        np.testing.assert_allclose(layer.w, w - eta * (g / M + lmbda * (M / n) * w), rtol=0, atol=1e-12)


def test_a_short_training_run_matches_the_reference(rng):
    net = small_net(p=0.2, act=n3.ReLU)
    randomize(net, rng, scale=0.3)
    oracle = ref.Network.copy_of(net)
    X, y = data(rng, n=12)
    history = net.SGD((X, y), 2, M, 0.1, (X, y), (X, y), lmbda=0.1, regularization="l1", shuffle=False, verbose=False)
    for _ in range(2):
        for start in range(0, 12, M):
            oracle.update_mini_batch(X[start : start + M], y[start : start + M], 0.1, 0.1, 12, "l1")
    for layer, (w, b) in zip(net.layers, oracle.params):
        np.testing.assert_allclose(layer.w, w, rtol=0, atol=1e-10)
        np.testing.assert_allclose(layer.b, b, rtol=0, atol=1e-10)
    assert history.validation_accuracy[-1] == oracle.accuracy(X, y)
    assert len(history.validation_accuracy) == 2 and history.best_epoch in (0, 1)


def test_sgd_prints_what_the_book_prints(rng, capsys):
    net = small_net()
    X, y = data(rng, n=8)
    history = net.SGD((X, y), 1, M, 0.1, (X, y), (X, y))
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Training mini-batch number 0"
    assert out[1] == f"Epoch 0: validation accuracy {history.validation_accuracy[0]:.2%}"
    assert out[2] == "This is the best validation accuracy to date."
    assert out[3].startswith("The corresponding test accuracy is ")
    assert out[-3:-1] == [
        "Finished training network.",
        "Best validation accuracy of " + f"{history.best_validation_accuracy:.2%} obtained at iteration 1",
    ]
    assert out[-1] == f"Corresponding test accuracy of {history.test_accuracy_at_best:.2%}"


def test_bad_shapes_are_refused_naming_the_argument(rng):
    with pytest.raises(ValueError, match="image_shape"):
        n3.ConvPoolLayer((2, 1, 9, 9), (M, 1, 8, 8))
    with pytest.raises(ValueError, match="filter_shape"):
        n3.ConvPoolLayer((2, 3, 3, 3), (M, 1, 8, 8))
    with pytest.raises(ValueError, match="poolsize"):
        n3.ConvPoolLayer((2, 1, 3, 3), (M, 1, 8, 8), (7, 7))
    with pytest.raises(ValueError, match="n_in"):
        n3.Network([n3.ConvPoolLayer((2, 1, 3, 3), (M, 1, 8, 8)), n3.SoftmaxLayer(17, 10)], M)
    with pytest.raises(ValueError, match="image_shape"):
        n3.Network([n3.ConvPoolLayer((2, 1, 3, 3), (M + 1, 1, 8, 8)), n3.SoftmaxLayer(18, 10)], M)
    with pytest.raises(ValueError, match="layers"):
        n3.Network([n3.SoftmaxLayer(4, 4), n3.FullyConnectedLayer(4, 4)], M)
    with pytest.raises(ValueError, match="activation_fn"):
        n3.FullyConnectedLayer(4, 4, activation_fn=np.exp)
    net = small_net()
    X, y = data(rng, n=10)
    with pytest.raises(ValueError, match="mini_batch_size"):
        net.SGD((X, y), 1, M, 0.1, (X, y))  # 4 does not divide 10
    with pytest.raises(ValueError, match="mini_batch_size"):
        net.SGD((X[:8], y[:8]), 1, 2, 0.1, (X, y))  # not the network's
    with pytest.raises(ValueError, match="training_data"):
        net.SGD((X[:8, :63], y[:8]), 1, M, 0.1, (X, y))  # wrong input width
    with pytest.raises(ValueError, match="validation_data"):
        net.SGD((X[:8], y[:8]), 1, M, 0.1, (X, y + 5))  # labels outside [0, 5)


def test_nan_input_is_refused_and_the_network_kept(rng):
    net = small_net()
    X, y = data(rng, n=16)
    before = [p.copy() for p in net.params]
    bad = X.copy()
    bad[13, 5] = np.nan
    with pytest.raises(ValueError, match="training_data.*example 13"):
        net.SGD((bad, y), 2, M, 0.1, (X, y), verbose=False)
    for p, q in zip(net.params, before):
        np.testing.assert_array_equal(p, q)
    with pytest.raises(ValueError, match="validation_data"):
        net.SGD((X, y), 1, M, 0.1, (bad, y), verbose=False)
    # Nothing moved, the random state included: the next run is a fresh network's run.
    net.SGD((X, y), 1, M, 0.1, (X, y), verbose=False)
    fresh = small_net()
    fresh.SGD((X, y), 1, M, 0.1, (X, y), verbose=False)
    for p, q in zip(net.params, fresh.params):
        np.testing.assert_array_equal(p, q)


def test_divergence_raises_and_keeps_finite_weights(rng):
    net = small_net(act=n3.linear)
    randomize(net, rng, scale=3.0)
    X, y = data(rng, n=16)
    with pytest.raises(nndl.DivergenceError):
        net.SGD((X * 1e3, y), 5, M, 1e30, (X, y), verbose=False)
    assert all(np.isfinite(p).all() for p in net.params)


def threads_net(seed=2):
    # A 200-wide dense layer makes a mini-batch of 64 worth splitting between threads.
    return n3.Network(
        [
            n3.ConvPoolLayer((3, 1, 3, 3), (64, 1, 8, 8), (2, 2), n3.ReLU),
            n3.FullyConnectedLayer(27, 200, n3.sigmoid, p_dropout=0.1),
            n3.SoftmaxLayer(200, 5),
        ],
        64,
        seed=seed,
        dtype=np.float64,
    )


def test_results_do_not_depend_on_the_thread_count(rng):
    X, y = data(rng, n=128)
    results = []
    before = nndl.get_num_threads()
    try:
        for threads in (1, 2, 3):
            nndl.set_num_threads(threads)
            net = threads_net()
            net.SGD((X, y), 2, 64, 0.5, (X, y), verbose=False, regularization="l1")
            results.append(np.concatenate([p.ravel() for p in net.params]))
    finally:
        nndl.set_num_threads(before)
    np.testing.assert_array_equal(results[0], results[1])
    np.testing.assert_array_equal(results[0], results[2])


@pytest.mark.parametrize("path", [p for p in nndl.simd_info()["available"] if p != "scalar"])
def test_every_simd_path_agrees_with_the_scalar_kernels(path, rng):
    X, y = data(rng, n=128)
    results = {}
    before = nndl.simd_info()["path"]
    try:
        for name in ("scalar", path):
            nndl.set_simd(name)
            net = threads_net()
            net.SGD((X, y), 2, 64, 0.5, (X, y), verbose=False)
            results[name] = np.concatenate([p.ravel() for p in net.params])
    finally:
        nndl.set_simd(before)
    np.testing.assert_allclose(results[path], results["scalar"], rtol=0, atol=1e-12)


def wide_patch_net(m, dtype=np.float64, seed=3):
    """Patches of 25 and 300 numbers: every tile width of the gathered-rows kernel (8, 4 or 1 vectors and
    a scalar tail, in float32 and float64) in the filters' gradient and in the error sent down."""
    return n3.Network(
        [
            n3.ConvPoolLayer((12, 1, 5, 5), (m, 1, 16, 16), (2, 2), n3.tanh),
            n3.ConvPoolLayer((6, 12, 5, 5), (m, 12, 6, 6), (1, 1), n3.sigmoid),
            n3.FullyConnectedLayer(24, 10, n3.ReLU),
            n3.SoftmaxLayer(10, 5),
        ],
        m,
        seed=seed,
        dtype=dtype,
    )


@pytest.mark.parametrize("path", nndl.simd_info()["available"])
def test_wide_patches_match_the_reference_on_every_kernel_set(path, rng):
    net = wide_patch_net(6)
    randomize(net, rng, scale=0.3)
    oracle = ref.Network.copy_of(net)
    X, y = data(rng, n=6, width=256)
    before = nndl.simd_info()["path"]
    try:
        nndl.set_simd(path)
        grads = net.backprop(X, y)
        for (gw, gb), (ew, eb) in zip(grads, oracle.backprop(X, y)):
            np.testing.assert_allclose(gw, ew, rtol=0, atol=1e-12)
            np.testing.assert_allclose(gb, eb, rtol=0, atol=1e-12)
        for _ in range(2):
            net.update_mini_batch(X, y, 0.5, 0.1, 60, regularization="l1", momentum=0.5)
            oracle.update_mini_batch(X, y, 0.5, 0.1, 60, regularization="l1", momentum=0.5)
    finally:
        nndl.set_simd(before)
    for layer, (w, b) in zip(net.layers, oracle.params):
        np.testing.assert_allclose(layer.w, w, rtol=0, atol=1e-12)
        np.testing.assert_allclose(layer.b, b, rtol=0, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_wide_patches_give_the_same_bits_for_any_thread_count(dtype, rng):
    X, y = data(rng, n=120, width=256)  # 60 examples of 50,000 multiply-adds: worth splitting
    results = []
    before = nndl.get_num_threads()
    try:
        for threads in (1, 2, 3):
            nndl.set_num_threads(threads)
            net = wide_patch_net(60, dtype=dtype)
            net.SGD((X.astype(dtype), y), 2, 60, 0.5, (X.astype(dtype), y), verbose=False, lmbda=0.1)
            results.append(np.concatenate([p.ravel() for p in net.params]))
    finally:
        nndl.set_num_threads(before)
    np.testing.assert_array_equal(results[0], results[1])
    np.testing.assert_array_equal(results[0], results[2])


def test_save_load_and_pickle_round_trip(tmp_path, rng):
    net = small_net(p=0.25)
    randomize(net, rng)
    X, y = data(rng)
    net.save(tmp_path / "net.json")
    loaded = n3.load(tmp_path / "net.json")
    np.testing.assert_array_equal(loaded.feedforward(X), net.feedforward(X))
    assert [type(a) for a in loaded.layers] == [type(b) for b in net.layers]
    assert loaded.layers[2].p_dropout == 0.25
    copy = pickle.loads(pickle.dumps(net))
    net.update_mini_batch(X, y, 0.1, 0.0, 10)
    copy.update_mini_batch(X, y, 0.1, 0.0, 10)
    for p, q in zip(net.params, copy.params):
        np.testing.assert_array_equal(p, q)
    (tmp_path / "bad.json").write_text('{"format": "nndl.network3", "layers": [{"type": "os.system"}]}')
    with pytest.raises(ValueError, match="bad.json"):
        n3.load(tmp_path / "bad.json")


def test_float32_trains_like_float64(rng):
    X, y = data(rng, n=8)
    nets = [small_net(dtype=dt) for dt in (np.float32, np.float64)]
    for net in nets:
        net.SGD((X, y), 2, M, 0.3, (X, y), verbose=False)
    for p, q in zip(nets[0].params, nets[1].params):
        assert p.dtype == np.float32
        np.testing.assert_allclose(p, q, rtol=0, atol=1e-4)


def test_expand_mnist_shifts_each_image_by_one_pixel_and_caches(tmp_path, monkeypatch):
    from nndl.data import expand_mnist as expand

    image = np.arange(1, 785, dtype=np.float64).reshape(1, 784) % 256 / 255
    monkeypatch.setattr(expand, "load_mnist", lambda format: ((image, np.array([7])), None, None))
    X, y = expand.expand_mnist(tmp_path)
    assert X.shape == (5, 784) and list(y) == [7] * 5
    pixels = np.rint(image * 255).reshape(28, 28)
    shifted = np.rint(X * 255).reshape(5, 28, 28)
    np.testing.assert_array_equal(shifted[0], pixels)
    np.testing.assert_array_equal(shifted[1][1:], pixels[:-1])  # down
    np.testing.assert_array_equal(shifted[2][:-1], pixels[1:])  # up
    np.testing.assert_array_equal(shifted[3][:, 1:], pixels[:, :-1])  # right
    np.testing.assert_array_equal(shifted[4][:, :-1], pixels[:, 1:])  # left
    assert not shifted[1][0].any() and not shifted[4][:, -1].any()
    monkeypatch.setattr(expand, "load_mnist", None)  # the second call reads the cache
    X2, _ = expand.expand_mnist(tmp_path)
    np.testing.assert_array_equal(X2, X)
