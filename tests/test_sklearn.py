"""nndl.sklearn.NNDLClassifier: scikit-learn's own estimator checks, then the ways people use it
(pipelines, searches, cross-validation, pickling, streaming), and that it trains exactly the
network ``nndl.Network`` trains."""

from __future__ import annotations

import pickle
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn", reason="scikit-learn is an optional extra (pip install .[sklearn])")

import joblib  # noqa: E402  (scikit-learn depends on it)
from sklearn.base import clone  # noqa: E402
from sklearn.datasets import load_digits, make_blobs  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import MinMaxScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import nndl  # noqa: E402
import nndl.sklearn  # noqa: E402
from nndl.sklearn import EXPECTED_FAILED_CHECKS, NNDLClassifier  # noqa: E402

# Two configurations far apart: the book's network, and softmax/relu/L1 in float32 with two
# hidden layers, so every code path of the estimator meets scikit-learn's checks.
CHECKED = [
    NNDLClassifier(),
    NNDLClassifier(
        hidden_layer_sizes=(8, 6),
        activation="relu",
        output="softmax",
        penalty="l1",
        alpha=0.1,
        l1_method="proximal",
        dtype=np.float32,
        random_state=0,
    ),
]


try:  # scikit-learn >= 1.6 takes the expected failures here
    with_checks = parametrize_with_checks(CHECKED, expected_failed_checks=lambda estimator: EXPECTED_FAILED_CHECKS)
except TypeError:  # pragma: no cover - older versions read them from NNDLClassifier._more_tags
    with_checks = parametrize_with_checks(CHECKED)


# scikit-learn's checks train on synthetic data (features near 100, tiny ReLU nets at eta 0.5): the
# TrainingWarnings they draw (inputs far outside [0, 1], dead units) are right, and not what is checked.
@pytest.mark.filterwarnings("ignore::nndl.TrainingWarning")
@with_checks
def test_sklearn_estimator_checks(estimator, check):
    # Checks that need what this environment lacks (pandas, SCIPY_ARRAY_API) skip with the reason.
    check(estimator)


@pytest.fixture(scope="module")
def digits():
    """scikit-learn's bundled 8x8 digits (1797 images), pixels scaled to [0, 1]."""
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


@pytest.fixture(scope="module")
def mnist_small(mnist_arrays):
    (X, y), _, _ = mnist_arrays
    return X[:600], y[:600]


def test_trains_exactly_the_network_nndl_trains(mnist_small):
    X, y = mnist_small
    clf = NNDLClassifier(
        hidden_layer_sizes=(20,),
        learning_rate_init=0.3,
        batch_size=10,
        max_iter=2,
        alpha=2.0,
        penalty="l1",
        random_state=3,
    ).fit(X, y)
    net = nndl.Network([784, 20, 10], seed=3)
    net.SGD((X, y), 2, 10, 0.3, lmbda=2.0, regularization="l1", verbose=False)
    # The same calls on the same data in the same order: bit-for-bit equal.
    for a, b in zip(clf.network_.weights + clf.network_.biases, net.weights + net.biases):
        assert np.array_equal(a, b)
    assert clf.n_iter_ == 2
    assert clf.n_features_in_ == 784
    assert np.array_equal(clf.classes_, np.arange(10))


def test_elasticnet_and_no_penalty_map_to_nndl(mnist_small):
    X, y = mnist_small
    for penalty, regularization in (("elasticnet", "elastic_net"), (None, "none")):
        clf = NNDLClassifier(max_iter=1, alpha=1.0, penalty=penalty, l1_ratio=0.3, random_state=5).fit(X, y)
        net = nndl.Network([784, 30, 10], seed=5)
        net.SGD((X, y), 1, 10, 0.5, lmbda=1.0, regularization=regularization, l1_ratio=0.3, verbose=False)
        assert np.array_equal(clf.network_.weights[0], net.weights[0])


def test_predict_proba_and_predict_agree(digits):
    X, y = digits
    for output in ("sigmoid", "softmax"):
        clf = NNDLClassifier(max_iter=3, output=output, random_state=0).fit(X, y)
        proba = clf.predict_proba(X)
        assert proba.shape == (len(X), 10)
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)  # normalized in float64
        assert np.array_equal(clf.predict(X), clf.classes_[proba.argmax(axis=1)])
        assert clf.score(X, y) > 0.9


def test_string_labels():
    X, y = make_blobs(n_samples=150, centers=3, random_state=0)
    names = np.array(["emu", "cat", "dog"])[y]
    clf = NNDLClassifier(max_iter=10, random_state=0).fit(X, names)
    assert list(clf.classes_) == ["cat", "dog", "emu"]
    predicted = clf.predict(X)
    assert predicted.dtype == names.dtype
    assert np.mean(predicted == names) > 0.9


def test_pipeline(digits):
    X, y = digits
    pipe = make_pipeline(MinMaxScaler(), NNDLClassifier(max_iter=5, random_state=0))
    pipe.fit(X[:1200], y[:1200])
    assert pipe.score(X[1200:], y[1200:]) > 0.85


def test_grid_search_over_penalty_and_alpha(digits):
    X, y = digits
    grid = {"penalty": ["l1", "l2"], "alpha": [0.1, 1.0]}
    search = GridSearchCV(NNDLClassifier(max_iter=3, random_state=0), grid, cv=3).fit(X, y)
    assert search.best_params_["penalty"] in ("l1", "l2")
    assert search.best_params_["alpha"] in (0.1, 1.0)
    assert len(search.cv_results_["mean_test_score"]) == 4
    assert search.best_score_ > 0.85
    assert search.best_estimator_.predict(X[:5]).shape == (5,)


def test_cross_val_score(digits):
    X, y = digits
    scores = cross_val_score(NNDLClassifier(max_iter=3, random_state=0), X, y, cv=3)
    assert scores.shape == (3,)
    assert np.all(scores > 0.8)


def test_grid_search_on_threads_equals_serial(digits):
    # The engine releases the GIL, so the threading backend trains fits side by side; each fit
    # owns its network, so the results are those of the serial search exactly.
    X, y = digits
    grid = {"penalty": ["l1", "l2"], "alpha": [0.1, 1.0]}
    serial = GridSearchCV(NNDLClassifier(max_iter=2, random_state=0), grid, cv=2).fit(X, y)
    with joblib.parallel_backend("threading", n_jobs=2):
        threaded = GridSearchCV(NNDLClassifier(max_iter=2, random_state=0), grid, cv=2, n_jobs=2).fit(X, y)
    assert np.array_equal(serial.cv_results_["mean_test_score"], threaded.cv_results_["mean_test_score"])


def test_fits_in_threads_equal_serial_fits(mnist_small):
    X, y = mnist_small
    estimators = [NNDLClassifier(max_iter=2, alpha=a, penalty="l1", random_state=1) for a in (0.5, 5.0)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        fitted = list(pool.map(lambda est: clone(est).fit(X, y), estimators))
    for est, in_thread in zip(estimators, fitted):
        serial = clone(est).fit(X, y)
        assert np.array_equal(serial.network_.weights[0], in_thread.network_.weights[0])


def test_pickle_round_trip(mnist_small):
    X, y = mnist_small
    clf = NNDLClassifier(max_iter=2, penalty="l1", alpha=1.0, l1_method="cumulative", random_state=2).fit(X, y)
    again = pickle.loads(pickle.dumps(clf))
    assert np.array_equal(clf.predict_proba(X), again.predict_proba(X))
    assert np.array_equal(clf.predict(X), again.predict(X))
    # The network's generator and L1 record travel too: training on continues identically.
    clf.partial_fit(X, y)
    again.partial_fit(X, y)
    assert np.array_equal(clf.predict_proba(X), again.predict_proba(X))


def test_partial_fit_first_epoch_is_fit_with_one_epoch(mnist_small):
    X, y = mnist_small
    streamed = NNDLClassifier(alpha=3.0, random_state=4).partial_fit(X, y, classes=np.arange(10))
    fitted = NNDLClassifier(alpha=3.0, max_iter=1, random_state=4).fit(X, y)
    assert np.array_equal(streamed.network_.weights[0], fitted.network_.weights[0])
    assert streamed.n_iter_ == 1
    streamed.partial_fit(X, y)
    assert streamed.n_iter_ == 2


def test_partial_fit_training_set_size_scales_the_penalty(mnist_small):
    # One chunk of a set twice its size: the penalty is alpha/(2 len(X)), as fit with alpha/2 on the chunk.
    X, y = mnist_small
    chunk = NNDLClassifier(alpha=3.0, random_state=4).partial_fit(
        X, y, classes=np.arange(10), training_set_size=2 * len(X)
    )
    halved = NNDLClassifier(alpha=1.5, max_iter=1, random_state=4).fit(X, y)
    assert np.array_equal(chunk.network_.weights[0], halved.network_.weights[0])


def test_partial_fit_streams_chunks(digits):
    X, y = digits
    clf = NNDLClassifier(random_state=0)
    for _epoch in range(3):
        for start in range(0, 1200, 300):
            clf.partial_fit(
                X[start : start + 300], y[start : start + 300], classes=np.unique(y), training_set_size=1200
            )
    assert clf.n_iter_ == 12
    assert clf.score(X[1200:], y[1200:]) > 0.8


def test_partial_fit_errors(digits):
    X, y = digits
    with pytest.raises(ValueError, match="^classes: must be given on the first call"):
        NNDLClassifier().partial_fit(X, y)
    clf = NNDLClassifier().partial_fit(X[:100], y[:100], classes=np.arange(10))
    with pytest.raises(ValueError, match=r"^y: labels \[11\] are not in classes"):
        clf.partial_fit(X[:3], np.array([1, 2, 11]))
    with pytest.raises(ValueError, match="features"):
        clf.partial_fit(X[:10, :-1], y[:10])
    with pytest.raises(ValueError, match="^training_set_size"):
        clf.partial_fit(X[:10], y[:10], training_set_size=0)


def test_one_class_is_refused():
    with pytest.raises(ValueError, match="^y: a classifier needs samples of at least 2 classes"):
        NNDLClassifier().fit(np.ones((5, 2)), np.zeros(5))


@pytest.mark.parametrize(
    "param, value, error",
    [
        ("hidden_layer_sizes", "30", TypeError),
        ("hidden_layer_sizes", (30, 0), ValueError),
        ("learning_rate_init", 0.0, ValueError),
        ("learning_rate_init", "fast", TypeError),
        ("batch_size", 0, ValueError),
        ("batch_size", 2.5, TypeError),
        ("max_iter", 0, ValueError),
        ("alpha", -1.0, ValueError),
        ("alpha", float("nan"), ValueError),
        ("penalty", "l3", ValueError),
        ("penalty", "elastic_net", ValueError),  # scikit-learn's spelling is "elasticnet"
        ("l1_ratio", 1.5, ValueError),
        ("l1_method", "lasso", ValueError),
        ("dropout", 1.0, ValueError),
        ("momentum", -0.1, ValueError),
        ("activation", "softmax", ValueError),
        ("output", "tanh", ValueError),
        ("random_state", -1, ValueError),
        ("random_state", "seed", ValueError),
        ("dtype", np.int32, ValueError),
        ("n_threads", 0, ValueError),
    ],
)
def test_invalid_parameters_are_named(param, value, error):
    X, y = make_blobs(n_samples=20, centers=2, random_state=0)
    clf = NNDLClassifier(max_iter=1).set_params(**{param: value})  # accepted until fit, as scikit-learn asks
    with pytest.raises(error, match=f"^{param}"):
        clf.fit(X, y)


def test_hidden_layer_sizes_int_and_empty():
    X, y = make_blobs(n_samples=60, centers=2, random_state=0)
    assert NNDLClassifier(hidden_layer_sizes=7, max_iter=1).fit(X, y).network_.sizes == [2, 7, 2]
    assert NNDLClassifier(hidden_layer_sizes=(), max_iter=1).fit(X, y).network_.sizes == [2, 2]


def test_batch_size_larger_than_data_is_clipped():
    X, y = make_blobs(n_samples=8, centers=2, random_state=0)
    clf = NNDLClassifier(batch_size=100, max_iter=1, random_state=0).fit(X, y)
    assert clf.n_iter_ == 1


def test_n_threads_and_verbose(capsys, digits):
    X, y = digits
    get = getattr(nndl, "get_num_threads", None) or getattr(nndl._core, "get_num_threads", None)
    before = get() if get is not None else None
    try:
        NNDLClassifier(max_iter=2, n_threads=1, verbose=True, random_state=0).fit(X[:200], y[:200])
        if get is not None:  # builds with the engine's thread pool
            assert get() == 1
    finally:
        if before is not None:
            nndl.sklearn._set_engine_threads(before)
    out = capsys.readouterr().out
    assert "Epoch 0 training complete" in out and "Epoch 1 training complete" in out


def test_read_only_input(mnist_small):
    # joblib gives worker processes read-only memory maps of large arrays.
    X, y = mnist_small
    X = X.copy()
    X.setflags(write=False)
    clf = NNDLClassifier(max_iter=1, random_state=0).fit(X, y)
    assert clf.predict(X).shape == (len(X),)


def test_random_state_instance_is_reproducible(mnist_small):
    X, y = mnist_small
    a = NNDLClassifier(max_iter=1, random_state=np.random.RandomState(7)).fit(X, y)
    b = NNDLClassifier(max_iter=1, random_state=np.random.RandomState(7)).fit(X, y)
    assert np.array_equal(a.network_.weights[0], b.network_.weights[0])
