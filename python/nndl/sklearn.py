"""scikit-learn estimators over ``nndl.Network``: model selection, pipelines and sweeps on Dask.

    from nndl.sklearn import NNDLClassifier
    from sklearn.model_selection import GridSearchCV

    search = GridSearchCV(NNDLClassifier(max_iter=5, random_state=1),
                          {"penalty": ["l1", "l2"], "alpha": [0.5, 5.0]}, cv=3)
    search.fit(X, y)          # X (n, 784) floats, y labels of any type

``NNDLClassifier`` is a thin layer: ``fit`` validates with scikit-learn's utilities, encodes
labels as ``0..k-1`` through ``classes_``, builds ``nndl.Network([n_features, *hidden, k])``
and calls its ``SGD``. With an integer ``random_state`` the network is seeded with it, so
``NNDLClassifier(random_state=s).fit(X, y)`` trains exactly as
``nndl.Network(sizes, seed=s).SGD((X, y_encoded), max_iter, batch_size, eta, lmbda=alpha, ...)``.

The regularization strength ``alpha`` is the book's ``lmbda``
------------------------------------------------------------
Each mini-batch step shrinks a weight by ``eta * alpha / n`` (L2: times ``w``; L1: times
``sgn(w)``), where ``n`` is the number of training samples given to ``fit`` (with
``GridSearchCV``, the size of the training folds). That is the book's ``lmbda`` exactly: the
book's ``lmbda = 5.0`` on MNIST's 50,000 images is ``alpha=5.0`` here. scikit-learn's
``MLPClassifier`` scales its ``alpha`` differently: with ``solver="sgd"`` its step shrinks by
``learning_rate_init * alpha_mlp / batch_size``, so the two agree when
``alpha_mlp = alpha * batch_size / n`` (``alpha=5`` with batch 10 on 50,000 images is
``alpha_mlp = 0.001``). Because nndl divides by ``n``, the same ``alpha`` means the same
total shrink per epoch whatever the data size, which is why sweeps over subsets transfer.

There is no ``NNDLRegressor``: the C++ core's layers are sigmoid, tanh, relu or softmax, and a
regressor needs an identity (linear) output layer, which the core does not have.

Sweeps on a cluster
-------------------
``NNDLClassifier`` and the networks it holds pickle, so joblib's Dask backend can ship them::

    import joblib
    from dask.distributed import Client
    client = Client("tcp://scheduler-host:8786")   # a running dask scheduler
    with joblib.parallel_backend("dask"):
        search.fit(X, y)

The C++ engine releases the GIL while it trains, so the threading backend
(``joblib.parallel_backend("threading")`` or ``n_jobs`` with threads) also fits in parallel.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from . import _core
from .architecture import check_dtype
from .checks import check_choice, check_int, check_real
from .costs import CrossEntropyCost, LogLikelihoodCost
from .network2 import Network
from .training.history import History

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data as _validate_data
except ImportError:  # pragma: no cover - scikit-learn 1.3 to 1.5

    def _validate_data(estimator: Any, *args: Any, **kwargs: Any) -> Any:
        return estimator._validate_data(*args, **kwargs)


__all__ = ["EXPECTED_FAILED_CHECKS", "NNDLClassifier"]

#: scikit-learn's name of each penalty -> nndl's ``regularization``.
PENALTIES = {"l2": "l2", "l1": "l1", "elasticnet": "elastic_net", None: "none"}

#: Hidden-layer activations; "logistic" is MLPClassifier's name for the sigmoid.
ACTIVATIONS = {"sigmoid": "sigmoid", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu"}

#: Checks of ``sklearn.utils.estimator_checks`` that NNDLClassifier is expected to fail, with why.
#: Kept empty while every check passes; the tests and ``_more_tags`` both read it.
EXPECTED_FAILED_CHECKS: dict[str, str] = {}


def _set_engine_threads(n_threads: int) -> None:
    """Set the C++ engine's thread count, if this build of nndl can (it is process-wide)."""
    import nndl

    setter = getattr(nndl, "set_num_threads", None) or getattr(_core, "set_num_threads", None)
    if setter is not None:
        setter(n_threads)


def _writeable(X: np.ndarray) -> np.ndarray:
    """``X``, copied if read-only.

    joblib hands GridSearchCV's workers read-only memory maps of large inputs, and builds of
    nndl before 32bc59f refused read-only arrays at the C++ boundary; the copy is made only for
    read-only input, and can go once those builds are gone.
    """
    return X if X.flags.writeable else np.array(X, order="C")


class NNDLClassifier(ClassifierMixin, BaseEstimator):
    """A classifier trained by the book's mini-batch SGD in nndl's C++ engine.

    Parameters
    ----------
    hidden_layer_sizes : int or tuple of int, default=(30,)
        Neurons per hidden layer (``()`` for none: a logistic-regression network).
    learning_rate_init : float, default=0.5
        The book's ``eta``.
    batch_size : int, default=10
        Mini-batch size ``m``; clipped to the number of samples when larger.
    max_iter : int, default=30
        Epochs per ``fit`` (``partial_fit`` trains one epoch per call).
    alpha : float, default=0.0
        The book's ``lmbda``: each step shrinks weights by ``learning_rate_init * alpha / n``,
        ``n`` the number of training samples (see the module docstring for MLPClassifier's alpha).
    penalty : {"l2", "l1", "elasticnet", None}, default="l2"
        The regularizer; biases are never regularized.
    l1_ratio : float, default=0.5
        Elastic net's share of ``alpha`` given to L1.
    l1_method : {"subgradient", "proximal", "cumulative"}, default="subgradient"
        How the L1 part is applied (the book's eq. 97, soft thresholding, or the cumulative
        penalty of Tsuruoka et al.).
    dropout : float, default=0.0
        Probability of dropping each hidden neuron during training.
    momentum : float, default=0.0
        Momentum coefficient ``mu`` (0 is the book's plain SGD).
    activation : {"sigmoid", "logistic", "tanh", "relu"}, default="sigmoid"
        Activation of the hidden layers.
    output : {"sigmoid", "softmax"}, default="sigmoid"
        The output layer: sigmoid with the cross-entropy cost (the book's default), or softmax
        with the log-likelihood cost. With sigmoid outputs ``predict_proba`` normalizes the
        outputs to sum to one (as one-vs-rest does): a ranking, not calibrated probabilities.
    random_state : int, RandomState instance or None, default=None
        An int is the network's ``seed`` (initial weights, then one permutation per epoch, and
        dropout masks); None draws fresh ones.
    dtype : numpy.float32 or numpy.float64, default=numpy.float64
        The network's floating-point type; inputs are converted to it.
    n_threads : int or None, default=None
        Threads of the C++ engine, set with ``nndl.set_num_threads`` before training (a
        process-wide setting; ignored by builds of nndl without it). None leaves it as it is.
    verbose : bool, default=False
        Print the book's per-epoch lines.

    Attributes
    ----------
    classes_ : ndarray (n_classes,)
    n_features_in_ : int
    network_ : nndl.Network, the trained network
    history_ : nndl.History of the last ``fit`` or ``partial_fit``
    n_iter_ : int, epochs trained in total
    """

    def __init__(
        self,
        hidden_layer_sizes: int | Sequence[int] = (30,),
        learning_rate_init: float = 0.5,
        batch_size: int = 10,
        max_iter: int = 30,
        alpha: float = 0.0,
        penalty: str | None = "l2",
        l1_ratio: float = 0.5,
        l1_method: str = "subgradient",
        dropout: float = 0.0,
        momentum: float = 0.0,
        activation: str = "sigmoid",
        output: str = "sigmoid",
        random_state: Any = None,
        dtype: Any = np.float64,
        n_threads: int | None = None,
        verbose: bool = False,
    ):
        # scikit-learn's convention: store the arguments untouched, check them in fit, so that
        # clone and set_params work with anything and errors come when the model is used.
        self.hidden_layer_sizes = hidden_layer_sizes
        self.learning_rate_init = learning_rate_init
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.alpha = alpha
        self.penalty = penalty
        self.l1_ratio = l1_ratio
        self.l1_method = l1_method
        self.dropout = dropout
        self.momentum = momentum
        self.activation = activation
        self.output = output
        self.random_state = random_state
        self.dtype = dtype
        self.n_threads = n_threads
        self.verbose = verbose

    # -- parameter checks, each error naming the parameter -------------------------------------
    def _checked_params(self) -> dict[str, Any]:
        hidden: object = self.hidden_layer_sizes  # whatever the user set; checked here
        if isinstance(hidden, numbers.Integral) and not isinstance(hidden, (bool, np.bool_)):
            hidden = (hidden,)
        if isinstance(hidden, (str, bytes)) or not isinstance(hidden, (Sequence, np.ndarray)):
            raise TypeError(f"hidden_layer_sizes: expected an int or a tuple of ints, got {self.hidden_layer_sizes!r}")
        hidden = tuple(check_int(f"hidden_layer_sizes[{i}]", h, low=1) for i, h in enumerate(hidden))
        if not (self.penalty is None or isinstance(self.penalty, str)) or self.penalty not in PENALTIES:
            raise ValueError(f"penalty: unknown value {self.penalty!r} (one of 'l2', 'l1', 'elasticnet', None)")
        if not isinstance(self.activation, str) or self.activation not in ACTIVATIONS:
            raise ValueError(f"activation: unknown value {self.activation!r} (one of {', '.join(ACTIVATIONS)})")
        if self.n_threads is not None:
            check_int("n_threads", self.n_threads, low=1)
        if not isinstance(self.verbose, (bool, np.bool_, numbers.Integral)):
            raise TypeError(f"verbose: expected a bool, got {self.verbose!r}")
        return {
            "hidden": hidden,
            "eta": check_real("learning_rate_init", self.learning_rate_init, low=0.0, low_inclusive=False),
            "batch_size": check_int("batch_size", self.batch_size, low=1),
            "max_iter": check_int("max_iter", self.max_iter, low=1),
            "alpha": check_real("alpha", self.alpha, low=0.0),
            "regularization": PENALTIES[self.penalty],
            "l1_ratio": check_real("l1_ratio", self.l1_ratio, low=0.0, high=1.0),
            "l1_method": check_choice("l1_method", self.l1_method, ("subgradient", "proximal", "cumulative")),
            "dropout": check_real("dropout", self.dropout, low=0.0, high=1.0, high_inclusive=False),
            "momentum": check_real("momentum", self.momentum, low=0.0, high=1.0, high_inclusive=False),
            "activation": ACTIVATIONS[self.activation],
            "output": check_choice("output", self.output, ("sigmoid", "softmax")),
            "dtype": check_dtype(self.dtype),
        }

    def _seed(self) -> int | None:
        rs = self.random_state
        if rs is None:
            return None
        if isinstance(rs, numbers.Integral) and not isinstance(rs, (bool, np.bool_)):
            # The int itself, so the estimator reproduces nndl.Network(seed=random_state).
            return check_int("random_state", rs, low=0)
        try:
            return int(check_random_state(rs).randint(np.iinfo(np.int32).max))
        except ValueError:
            raise ValueError(f"random_state: expected None, an int >= 0 or a RandomState, got {rs!r}") from None

    # -- training -----------------------------------------------------------------------------
    def fit(self, X: Any, y: Any) -> NNDLClassifier:
        """Train a new network for ``max_iter`` epochs on ``X`` (n, n_features) and labels ``y`` (n,)."""
        params = self._checked_params()
        X, y = _validate_data(self, X, y, dtype=params["dtype"], order="C")
        check_classification_targets(y)
        classes, y_encoded = np.unique(y, return_inverse=True)
        self._check_enough_classes(classes)
        self.classes_ = classes
        self._new_network(params)
        self.n_iter_ = 0
        self._train(X, y_encoded, params, params["max_iter"], len(X))
        return self

    def partial_fit(self, X: Any, y: Any, classes: Any = None, training_set_size: int | None = None) -> NNDLClassifier:
        """Train one epoch on ``X``, continuing from the current network.

        ``classes`` (every label the stream will have) is required on the first call and ignored
        after. ``training_set_size`` is the ``n`` of the penalty when ``X`` is one chunk of a larger
        set: give the whole set's size so that ``alpha`` keeps the book's meaning (scaling by the
        chunk's size instead would make the penalty too strong by the number of chunks, the
        lmbda/m mistake in another guise). It defaults to ``len(X)``.
        """
        first_call = not hasattr(self, "classes_")
        params = self._checked_params()
        if first_call:
            if classes is None:
                raise ValueError("classes: must be given on the first call to partial_fit (every label y may have)")
            classes = np.unique(np.asarray(classes))
            check_classification_targets(classes)
            self._check_enough_classes(classes)
        X, y = _validate_data(self, X, y, dtype=params["dtype"], order="C", reset=first_call)
        check_classification_targets(y)
        known = classes if first_call else self.classes_
        unknown = np.setdiff1d(np.unique(y), known)
        if unknown.size:
            raise ValueError(f"y: labels {unknown.tolist()} are not in classes {known.tolist()}")
        if first_call:
            self.classes_ = classes
            self._new_network(params)
            self.n_iter_ = 0
        y_encoded = np.searchsorted(self.classes_, y)
        n = len(X) if training_set_size is None else check_int("training_set_size", training_set_size, low=1)
        self._train(X, y_encoded, params, 1, n)
        return self

    @staticmethod
    def _check_enough_classes(classes: np.ndarray) -> None:
        if len(classes) < 2:
            raise ValueError(f"y: a classifier needs samples of at least 2 classes, got 1 class ({classes.tolist()})")

    def _new_network(self, params: dict[str, Any]) -> None:
        sizes = [self.n_features_in_, *params["hidden"], len(self.classes_)]
        softmax = params["output"] == "softmax"
        self.network_ = Network(
            sizes,
            cost=LogLikelihoodCost if softmax else CrossEntropyCost,
            seed=self._seed(),
            dtype=params["dtype"],
            activation=[params["activation"]] * len(params["hidden"]) + [params["output"]],
        )

    def _train(self, X: np.ndarray, y_encoded: np.ndarray, params: dict[str, Any], epochs: int, n: int) -> None:
        if self.n_threads is not None:
            _set_engine_threads(self.n_threads)
        # SGD scales the penalty by len(X); rescaling alpha makes the step eta*alpha/n for the n asked.
        lmbda = params["alpha"] * len(X) / n
        X = _writeable(X)
        self.history_: History = self.network_.SGD(
            (X, y_encoded.astype(np.int64)),
            epochs,
            min(params["batch_size"], len(X)),
            params["eta"],
            lmbda=lmbda,
            regularization=params["regularization"],
            l1_method=params["l1_method"],
            l1_ratio=params["l1_ratio"],
            dropout=params["dropout"],
            momentum=params["momentum"],
            verbose=bool(self.verbose),
        )
        self.n_iter_ += epochs

    # -- prediction -----------------------------------------------------------------------------
    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities (n, n_classes), columns in the order of ``classes_``."""
        check_is_fitted(self)
        X = _validate_data(self, X, dtype=self.network_.dtype, order="C", reset=False)
        out = self.network_.feedforward(_writeable(X)).astype(np.float64)
        if self.network_.activations[-1] == "softmax":
            return out
        total = out.sum(axis=1, keepdims=True)
        # Sigmoid outputs can all underflow to 0 in float32; such a row gets a uniform guess.
        uniform = np.full_like(out, 1.0 / out.shape[1])
        proba: np.ndarray = np.divide(out, total, out=uniform, where=total > 0)
        return proba

    def predict_log_proba(self, X: Any) -> np.ndarray:
        with np.errstate(divide="ignore"):
            log_proba: np.ndarray = np.log(self.predict_proba(X))
            return log_proba

    def predict(self, X: Any) -> np.ndarray:
        """The most likely label of each row of ``X``, from ``classes_``."""
        check_is_fitted(self)
        # From predict_proba, so predict always agrees with its argmax.
        labels: np.ndarray = self.classes_[np.argmax(self.predict_proba(X), axis=1)]
        return labels

    # -- scikit-learn's tags ------------------------------------------------------------------
    def __sklearn_tags__(self) -> Any:  # scikit-learn >= 1.6
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = False
        tags.input_tags.allow_nan = False
        return tags

    def _more_tags(self) -> dict[str, Any]:  # pragma: no cover - scikit-learn < 1.6 reads this
        return {"_xfail_checks": dict(EXPECTED_FAILED_CHECKS)} if EXPECTED_FAILED_CHECKS else {}
