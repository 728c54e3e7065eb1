"""``nndl.network3``: the book's chapter-6 network3 API, trained by nndl's C++ core.

    from nndl.network3 import Network, ConvPoolLayer, FullyConnectedLayer, SoftmaxLayer, ReLU
    training_data, validation_data, test_data = nndl.network3.load_data_shared()
    mini_batch_size = 10
    net = Network([
        ConvPoolLayer(image_shape=(mini_batch_size, 1, 28, 28), filter_shape=(20, 1, 5, 5), poolsize=(2, 2)),
        FullyConnectedLayer(n_in=20*12*12, n_out=100),
        SoftmaxLayer(n_in=100, n_out=10)], mini_batch_size)
    net.SGD(training_data, 60, mini_batch_size, 0.1, validation_data, test_data)

``lmbda`` means what it means in network3 (and chapter 6): the cost carries
``0.5 * lmbda * sum(w**2) / num_training_batches`` with ``num_training_batches = n / m``, i.e.
network2's ``lmbda`` times the mini-batch size. ``lmbda=0.1`` at ``m=10`` is network2's 1.0. The
L1 penalty ``lmbda * sum|w| / num_training_batches`` follows the same convention. Biases are never
penalized (network3 penalizes only ``w`` too).

Differences from network3.py, each stated where it lives: convolution without the filter flip and
inverted dropout (``nndl.network3_layers``); FullyConnectedLayer initialized with the text's
1/n_in; training examples shuffled every epoch from the network's seed (network3 visits them in
the same order every epoch; ``shuffle=False`` does that); parameters float32 by default, as
network3's Theano floatX.
"""

from __future__ import annotations

import copy
import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np

from . import _core
from .alignment import aligned_copy, aligned_require, aligned_zeros
from .checks import check_choice, check_int
from .data.arrays import is_array_form, to_arrays
from .network3_layers import (
    LAYER_TYPES,
    ConvPoolLayer,
    FullyConnectedLayer,
    Layer,
    ReLU,
    SoftmaxLayer,
    check_layer_list,
    linear,
    sigmoid,
    tanh,
)
from .network_file import write_network_file
from .regularization import UpdateOptions
from .training.errors import DivergenceError
from .training.guard import exclusive

__all__ = [
    "ConvPoolLayer",
    "FullyConnectedLayer",
    "History3",
    "Network",
    "ReLU",
    "SoftmaxLayer",
    "linear",
    "load",
    "load_data_shared",
    "sigmoid",
    "size",
    "tanh",
]

#: progress(epoch, mini_batches_done, mini_batches_in_epoch)
ProgressCallback = Callable[[int, int, int], None]

# Multiply-adds per call into C++: a fraction of a second of work, so Ctrl-C and progress come quickly.
# Each call copies the parameters first (the snapshot a divergence restores): at 3e8 that copy took 5%
# of the dropout network's epoch (1.7 million parameters, 7 mini-batches per call; measured 2026-12-04).
WORK_PER_CHUNK = 1_000_000_000


@dataclass
class History3:
    """Per epoch: validation and test accuracy (fractions), eta, seconds; and the book's summary."""

    validation_accuracy: list[float] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)
    eta: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    best_validation_accuracy: float = 0.0
    best_epoch: int = -1
    best_iteration: int = -1
    test_accuracy_at_best: float | None = None  # the book's "corresponding test accuracy"


@dataclass(frozen=True)
class Data:
    """Inputs (n, n_in) in the network's dtype and int64 labels (n,)."""

    X: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return int(self.X.shape[0])


def size(data: Any) -> int:
    """The number of examples in ``data`` (network3's ``size``)."""
    if isinstance(data, tuple) and len(data) == 2:
        return len(data[0])
    return len(data)


def load_data_shared(
    filename: str | os.PathLike[str] | None = None, dtype: Any = np.float32
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The book's three splits as ``[(X, y), (X, y), (X, y)]``: ``X`` (n, 784) in ``dtype``, ``y`` int64,
    as network3's ``load_data_shared`` gives them (without Theano's shared variables). With
    ``filename``, from the book's ``mnist.pkl.gz``; else from the MNIST bundled with nndl."""
    if filename is None:
        from .data.mnist import load_mnist

        splits = load_mnist(format="arrays")
    else:
        from .data.book_pickle import load_mnist_pickle

        splits = load_mnist_pickle(filename, format="arrays")
    return [(np.ascontiguousarray(X, dtype=dtype), np.asarray(y, dtype=np.int64)) for X, y in splits]


# What _snapshot saves and _restore puts back: parameters, velocity, l1_applied, l1_total, step,
# update_ema, ema_started. (Optional, not `| None`: an alias is evaluated at run time, also on 3.9.)
_Snapshot = tuple[np.ndarray, Optional[np.ndarray], Optional[np.ndarray], float, int, float, bool]


class Network:
    """The book's ``Network(layers, mini_batch_size)``: the layers' parameters in one buffer that
    the C++ core trains in place. ``seed`` fixes the initial weights, the dropout masks and the
    order of the examples; ``dtype`` is float32 (network3's floatX) or float64."""

    def __init__(
        self, layers: Sequence[Layer], mini_batch_size: int, *, seed: int | None = None, dtype: Any = np.float32
    ):
        self.mini_batch_size = check_int("mini_batch_size", mini_batch_size, low=1)
        self.layers = check_layer_list(layers, self.mini_batch_size)
        if any(layer._w is not None for layer in self.layers):
            raise ValueError("layers: a layer already belongs to another network; create new layer objects")
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise TypeError(f"dtype: expected float32 or float64, got {self.dtype}")
        if seed is not None:
            check_int("seed", seed, low=0)
        self.seed = seed
        self._stack = _core.LayerStack([layer.spec() for layer in self.layers])
        self._params = aligned_zeros(self._stack.num_params, self.dtype)
        for l, layer in enumerate(self.layers):
            w0, b0 = self._stack.weight_offset(l), self._stack.bias_offset(l)
            stored = self._params[w0:b0]
            if isinstance(layer, ConvPoolLayer):
                stored = stored.reshape(layer.filter_shape[0], -1)
            else:
                stored = stored.reshape(layer.n_outputs, layer.n_inputs)
            n_biases = layer.filter_shape[0] if isinstance(layer, ConvPoolLayer) else layer.n_outputs
            layer._bind(stored, self._params[b0 : b0 + n_biases])
        # One generator, in a fixed order: the dropout key, the initial weights, then the epochs' orders.
        self._rng = np.random.default_rng(seed)
        self._dropout_key = int(self._rng.integers(0, 2**63))
        for layer in self.layers:
            w, b = layer.initial_parameters(self._rng)
            layer.w, layer.b = w, b
        self._state = _core.StackTrainState()

    @property
    def n_in(self) -> int:
        return int(self._stack.in_size)

    @property
    def params(self) -> list[np.ndarray]:
        """Every layer's ``w`` then ``b``, as network3's ``params``."""
        return [p for layer in self.layers for p in (layer.w, layer.b)]

    def __repr__(self) -> str:
        return f"nndl.network3.Network({self.layers!r}, {self.mini_batch_size})"

    # -- data ---------------------------------------------------------------------------------
    def _data(self, data: Any, name: str, check_finite: bool) -> Data:
        """(X, y) arrays (X may be (n, maps, height, width)) or the book's list of (x, y) pairs."""
        classes = int(self._stack.classes)
        if is_array_form(data) or (isinstance(data, tuple) and len(data) == 2 and isinstance(data[0], np.ndarray)):
            X, y = data
            if X.ndim < 2 or int(np.prod(X.shape[1:])) != self.n_in:
                raise ValueError(f"{name}: expected inputs of {self.n_in} numbers per example, got shape {X.shape}")
            if not isinstance(y, np.ndarray) or y.ndim != 1 or y.shape[0] != X.shape[0]:
                raise ValueError(f"{name}: expected {X.shape[0]} integer labels, got {getattr(y, 'shape', y)!r}")
            if not np.issubdtype(y.dtype, np.integer):
                raise TypeError(f"{name}: labels must be integers, got {y.dtype}")
            if y.size and (y.min() < 0 or y.max() >= classes):
                raise ValueError(f"{name}: labels must be in [0, {classes})")
            X = aligned_require(np.asarray(X).reshape(X.shape[0], self.n_in), self.dtype)
            if check_finite and not np.isfinite(X).all():
                raise ValueError(f"{name}: inputs contain NaN or infinity")
            return Data(X, np.ascontiguousarray(y, dtype=np.int64))
        arrays = to_arrays(data, self.n_in, classes, self.dtype, name, check_finite_inputs=check_finite)
        return Data(arrays.X, np.ascontiguousarray(arrays.labels, dtype=np.int64))

    # -- evaluation ---------------------------------------------------------------------------
    @exclusive
    def feedforward(self, X: np.ndarray) -> np.ndarray:
        """Output probabilities (k, classes) for inputs (k, n_in) or (k, maps, height, width)."""
        X = np.asarray(X)
        if X.ndim < 2 or int(np.prod(X.shape[1:])) != self.n_in:
            raise ValueError(f"X: expected inputs of {self.n_in} numbers per example, got shape {X.shape}")
        X = aligned_require(X.reshape(X.shape[0], self.n_in), self.dtype)
        if not np.isfinite(X).all():
            raise ValueError("X: inputs contain NaN or infinity")
        return np.asarray(_core.stack_feedforward(self._stack, self._params, X))

    @exclusive
    def accuracy(self, data: Any, name: str = "data") -> float:
        """The fraction of ``data`` classified correctly."""
        d = self._data(data, name, check_finite=False)
        return self._accuracy(d, name)

    def _accuracy(self, d: Data, name: str) -> float:
        _, correct, bad = _core.stack_evaluate(self._stack, self._params, d.X, d.y)
        if bad >= 0:
            raise ValueError(f"{name}: inputs contain NaN or infinity (example {bad})")
        return float(correct) / max(len(d), 1)

    @exclusive
    def backprop(self, X: np.ndarray, y: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """Gradient of the log-likelihood cost summed over examples (X, y), per layer ``(dw, db)`` in the
        shapes of ``w`` and ``b``; no dropout and no penalty."""
        d = self._data((np.asarray(X), np.asarray(y)), "X", check_finite=True)
        grad, _ = _core.stack_backprop(self._stack, self._params, d.X, d.y)
        return self._split(grad)

    def layer_outputs(self, X: np.ndarray) -> list[np.ndarray]:
        """Each layer's output activations (k, out_size) for inputs X (no dropout)."""
        d = self._data((np.asarray(X), np.zeros(len(X), np.int64)), "X", check_finite=True)
        _, outputs = _core.stack_backprop(self._stack, self._params, d.X, d.y)
        return [np.asarray(a) for a in outputs]

    def _split(self, flat: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        out = []
        for l, layer in enumerate(self.layers):
            w0, b0 = self._stack.weight_offset(l), self._stack.bias_offset(l)
            stored = flat[w0:b0]
            if isinstance(layer, ConvPoolLayer):
                gw = stored.reshape(layer.filter_shape)
                gb = flat[b0 : b0 + layer.filter_shape[0]]
            else:
                gw = stored.reshape(layer.n_outputs, layer.n_inputs).T
                gb = flat[b0 : b0 + layer.n_outputs]
            out.append((gw, gb))
        return out

    # -- training -----------------------------------------------------------------------------
    def _rule(self, opts: UpdateOptions, m: int) -> Any:
        # network3's lmbda/num_training_batches = (lmbda*m)/n: network2's lmbda is lmbda*m.
        return _core.UpdateRule(
            opts.regularization, opts.l1_method, opts.eta, opts.lmbda * m, opts.l1_ratio, opts.n, opts.momentum
        )

    @exclusive
    def update_mini_batch(
        self,
        X: np.ndarray,
        y: np.ndarray,
        eta: float,
        lmbda: float,
        n: int,
        regularization: str | None = "l2",
        l1_method: str = "subgradient",
        l1_ratio: float = 0.5,
        momentum: float = 0.0,
    ) -> None:
        """One step on the mini-batch (X, y) (any size); ``n`` is the training-set size, ``lmbda`` network3's."""
        opts = UpdateOptions.checked(eta, lmbda, n, regularization, l1_method, l1_ratio, momentum)
        d = self._data((np.asarray(X), np.asarray(y)), "X", check_finite=True)
        self._run_batches(d, np.arange(len(d), dtype=np.int64), len(d), opts, 0, None, 0)

    def _prepare_state(self, opts: UpdateOptions) -> None:
        s = self._state
        if opts.momentum and s.velocity is None:
            s.velocity = aligned_zeros(self._params.shape, self.dtype)
        if opts.l1_method == "cumulative" and opts.l1_lmbda and s.l1_applied is None:
            s.l1_applied = aligned_zeros(self._params.shape, self.dtype)

    def _run_batches(
        self,
        d: Data,
        order: np.ndarray,
        m: int,
        opts: UpdateOptions,
        num_batches_to_run: int,
        progress: ProgressCallback | None,
        epoch: int,
        on_chunk: Callable[[int, int], None] | None = None,
    ) -> None:
        """Train the first ``num_batches_to_run`` mini-batches of ``order`` (0: all, the last may be short)."""
        self._prepare_state(opts)
        rule = self._rule(opts, m)
        num_batches = num_batches_to_run or (len(d) + m - 1) // m
        macs = max(1.0, _macs_per_example(self.layers) * m)
        per_chunk = max(1, int(WORK_PER_CHUNK // macs))
        for begin in range(0, num_batches, per_chunk):
            end = min(begin + per_chunk, num_batches)
            if on_chunk is not None:
                on_chunk(begin, end)
            snapshot = self._snapshot()
            done, diverged, nonfinite_at = _core.train_stack_minibatches(
                self._stack, self._params, d.X, d.y, order, m, begin, end, rule, self._dropout_key, self._state
            )
            if nonfinite_at >= 0:
                raise _NonFinite(int(order[nonfinite_at]))
            if diverged:
                bad = begin + done - 1
                self._restore(snapshot)
                if bad > begin:  # replay up to the mini-batch before the bad one (the draws are counter-based)
                    _core.train_stack_minibatches(
                        self._stack, self._params, d.X, d.y, order, m, begin, bad, rule, self._dropout_key, self._state
                    )
                raise DivergenceError(
                    f"mini-batch {bad} gave non-finite weights; the network keeps the weights from before it. "
                    f"Try a smaller eta (now {opts.eta})."
                )
            if progress is not None:
                progress(epoch, end, num_batches)

    def _snapshot(self) -> tuple[Any, ...]:
        s = self._state
        return (
            self._params.copy(),
            None if s.velocity is None else s.velocity.copy(),
            None if s.l1_applied is None else s.l1_applied.copy(),
            s.l1_total,
            s.step,
            s.update_ema,
            s.ema_started,
        )

    def _restore(self, snapshot: tuple[Any, ...]) -> None:
        params, velocity, l1_applied, l1_total, step, ema, started = snapshot
        self._params[...] = params
        s = self._state
        s.velocity = None if velocity is None else aligned_copy(velocity)
        s.l1_applied = None if l1_applied is None else aligned_copy(l1_applied)
        s.l1_total, s.step, s.update_ema, s.ema_started = l1_total, step, ema, started

    @exclusive
    def SGD(
        self,
        training_data: Any,
        epochs: int,
        mini_batch_size: int,
        eta: float,
        validation_data: Any,
        test_data: Any = None,
        lmbda: float = 0.0,
        *,
        regularization: str | None = "l2",
        l1_method: str = "subgradient",
        l1_ratio: float = 0.5,
        momentum: float = 0.0,
        shuffle: bool = True,
        progress: ProgressCallback | None = None,
        verbose: bool = True,
    ) -> History3:
        """Train for ``epochs`` with mini-batch SGD, as network3's SGD: after each epoch the validation
        accuracy, and the test accuracy whenever the validation accuracy is the best so far (ties
        included, as the book's ``>=``). Prints what the book prints unless ``verbose=False``.
        ``lmbda`` is network3's (see the module's notes); ``regularization``, ``l1_method``,
        ``l1_ratio`` and ``momentum`` as ``nndl.Network.SGD``. Returns the per-epoch ``History3``.

        A NaN or infinity in the inputs raises ValueError naming the data (the network as it was
        before the call); a step that makes a weight non-finite raises ``nndl.DivergenceError``
        (the network keeps the weights from before that step)."""
        epochs = check_int("epochs", epochs, low=0)
        mini_batch_size = check_int("mini_batch_size", mini_batch_size, low=1)
        if mini_batch_size != self.mini_batch_size:
            raise ValueError(
                f"mini_batch_size: the network was built for mini-batches of {self.mini_batch_size}, "
                f"got {mini_batch_size}"
            )
        opts = UpdateOptions.checked(eta, lmbda, 1, regularization, l1_method, l1_ratio, momentum)
        if progress is not None and not callable(progress):
            raise TypeError(f"progress: expected a function progress(epoch, done, total), got {progress!r}")
        check_choice("shuffle", str(bool(shuffle)), ("True", "False"))
        train = self._data(training_data, "training_data", check_finite=False)  # checked as C++ reads it
        n = len(train)
        if n == 0 or n % mini_batch_size:
            raise ValueError(
                f"mini_batch_size: {mini_batch_size} does not divide the {n} examples of training_data "
                "(network3 trains whole mini-batches only)"
            )
        validation = self._data(validation_data, "validation_data", check_finite=True)
        test = None if test_data is None else self._data(test_data, "test_data", check_finite=True)
        opts = UpdateOptions(opts.eta, opts.lmbda, n, opts.regularization, opts.l1_method, opts.l1_ratio, opts.momentum)
        num_batches = n // mini_batch_size
        saved = (self._snapshot(), self._rng.bit_generator.state)
        self._state.velocity = None
        self._state.l1_applied = None
        self._state.l1_total = 0.0
        history = History3()
        say = print if verbose else (lambda *args: None)
        test_accuracy: float | None = None
        for epoch in range(epochs):
            order = self._rng.permutation(n).astype(np.int64) if shuffle else np.arange(n, dtype=np.int64)
            started = time.perf_counter()

            def announce(begin: int, end: int, epoch: int = epoch) -> None:
                for b in range(begin, end):  # the book prints before training mini-batch 1000k
                    if (num_batches * epoch + b) % 1000 == 0:
                        say(f"Training mini-batch number {num_batches * epoch + b}")

            try:
                self._run_batches(train, order, mini_batch_size, opts, num_batches, progress, epoch, announce)
            except _NonFinite as bad:
                self._restore(saved[0])
                self._rng.bit_generator.state = saved[1]
                raise ValueError(
                    f"training_data: inputs contain NaN or infinity (example {bad.example}); the network is unchanged"
                ) from None
            except DivergenceError as error:
                raise DivergenceError(f"training diverged in epoch {epoch}: {error}") from None
            history.seconds.append(time.perf_counter() - started)
            history.eta.append(opts.eta)
            validation_accuracy = self._accuracy(validation, "validation_data")
            history.validation_accuracy.append(validation_accuracy)
            say(f"Epoch {epoch}: validation accuracy {validation_accuracy:.2%}")
            if validation_accuracy >= history.best_validation_accuracy:
                say("This is the best validation accuracy to date.")
                history.best_validation_accuracy = validation_accuracy
                history.best_epoch = epoch
                history.best_iteration = num_batches * epoch + num_batches - 1
                if test is not None:
                    test_accuracy = self._accuracy(test, "test_data")
                    say(f"The corresponding test accuracy is {test_accuracy:.2%}")
                    history.test_accuracy_at_best = test_accuracy
            history.test_accuracy.append(np.nan if test_accuracy is None else test_accuracy)
        say("Finished training network.")
        say(
            f"Best validation accuracy of {history.best_validation_accuracy:.2%} obtained at iteration "
            f"{history.best_iteration}"
        )
        if history.test_accuracy_at_best is not None:
            say(f"Corresponding test accuracy of {history.test_accuracy_at_best:.2%}")
        return history

    # -- saving, loading, pickling ------------------------------------------------------------
    def _description(self) -> dict[str, Any]:
        return {
            "format": "nndl.network3",
            "version": 1,
            "mini_batch_size": self.mini_batch_size,
            "dtype": self.dtype.name,
            "seed": self.seed,
            "layers": [
                {"type": type(layer).__name__, **layer.describe(), "w": layer.w.tolist(), "b": layer.b.tolist()}
                for layer in self.layers
            ],
        }

    @exclusive
    def save(self, filename: str | os.PathLike[str]) -> None:
        """Write the network as JSON (the layer list with each layer's w and b), atomically."""
        write_network_file(filename, self._description())

    def __getstate__(self) -> dict[str, Any]:
        s = self._state
        return {
            "description": {
                **self._description(),
                "layers": [{"type": type(layer).__name__, **layer.describe()} for layer in self.layers],
            },
            "params": self._params.copy(),
            "rng": self._rng.bit_generator.state,
            "dropout_key": self._dropout_key,
            "train_state": (
                None if s.velocity is None else s.velocity.copy(),
                None if s.l1_applied is None else s.l1_applied.copy(),
                s.l1_total,
                s.step,
            ),
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        desc = state["description"]
        layers = [_layer_from(item, f"layers[{i}]") for i, item in enumerate(desc["layers"])]
        Network.__init__(self, layers, desc["mini_batch_size"], seed=desc["seed"], dtype=desc["dtype"])
        self._params[...] = state["params"]
        self._rng.bit_generator.state = state["rng"]
        self._dropout_key = state["dropout_key"]
        velocity, l1_applied, l1_total, step = state["train_state"]
        s = self._state
        s.velocity, s.l1_applied, s.l1_total, s.step = velocity, l1_applied, l1_total, step

    def __deepcopy__(self, memo: dict[int, Any]) -> Network:
        return copy.copy(self)  # pickling state: new layers, copied parameters

    def __copy__(self) -> Network:
        new = Network.__new__(Network)
        new.__setstate__(self.__getstate__())
        return new


class _NonFinite(Exception):
    def __init__(self, example: int):
        super().__init__(example)
        self.example = example


def _macs_per_example(layers: Sequence[Layer]) -> float:
    total = 0.0
    for layer in layers:
        if isinstance(layer, ConvPoolLayer):
            f, c, fh, fw = layer.filter_shape
            _, _, h, w = layer.image_shape
            total += f * c * fh * fw * (h - fh + 1) * (w - fw + 1)
        else:
            total += layer.n_inputs * layer.n_outputs
    return 3.0 * total  # forward, backward and the update


def _layer_from(item: Any, where: str) -> Layer:
    if not isinstance(item, dict) or item.get("type") not in LAYER_TYPES:
        raise ValueError(f"{where}: expected a layer with type one of {sorted(LAYER_TYPES)}")
    args = {k: v for k, v in item.items() if k not in ("type", "w", "b")}
    try:
        return LAYER_TYPES[item["type"]](**args)
    except TypeError as error:
        raise ValueError(f"{where}: {error}") from None


def load(filename: str | os.PathLike[str]) -> Network:
    """A network written by ``Network.save``. Nothing in the file is executed; a malformed file
    raises ValueError naming it."""
    try:
        with open(filename) as f:
            data = json.load(f)
    except json.JSONDecodeError as error:
        raise ValueError(f"{filename}: not a JSON file ({error})") from None
    if not isinstance(data, dict) or data.get("format") != "nndl.network3":
        raise ValueError(f"{filename}: not a network saved by nndl.network3")
    try:
        layers = [_layer_from(item, f"{filename}: layers[{i}]") for i, item in enumerate(data["layers"])]
        net = Network(layers, data["mini_batch_size"], seed=data.get("seed"), dtype=data.get("dtype", "float32"))
        for i, (layer, item) in enumerate(zip(net.layers, data["layers"])):
            w, b = np.asarray(item["w"], dtype=np.float64), np.asarray(item["b"], dtype=np.float64)
            if w.shape != layer.w.shape or b.shape != layer.b.shape:
                raise ValueError(f"layers[{i}]: w or b has the wrong shape")
            if not (np.isfinite(w).all() and np.isfinite(b).all()):
                raise ValueError(f"layers[{i}]: w or b holds NaN or infinity")
            layer.w, layer.b = w, b
    except (KeyError, TypeError) as error:
        raise ValueError(f"{filename}: malformed network file ({error!r})") from None
    except ValueError as error:
        raise ValueError(f"{filename}: {error}") from None
    return net
