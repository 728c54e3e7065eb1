"""What both engines share: construction, initial weights, the SGD loop and its monitors,
evaluation, saving, sparsity. Each engine supplies how one epoch is trained and how data is
evaluated (``_train_epoch`` and ``_evaluate``), so both run the same loop on the same random draws.
"""

from __future__ import annotations

import functools
import json
import os
import tempfile
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator, NamedTuple, Sequence, TypeVar

import numpy as np

from .costs import COSTS, Cost, CrossEntropyCost, cost_by_name
from .data import Arrays, to_arrays
from .options import UpdateOptions, check_choice, check_int, check_real, penalty

#: progress(epoch, mini_batches_done, mini_batches_in_epoch), called between chunks of mini-batches
ProgressCallback = Callable[[int, int, int], None]


#: Parameters a network may have: far beyond any network of the book, and small enough that no
#: size product overflows 64-bit integers in the C++ core.
MAX_PARAMETERS = 2**34


class InUse:
    """One call at a time per network. A call from a second thread while one runs (training,
    evaluating, saving) is refused with RuntimeError rather than racing on the parameters; calls
    nested in the same thread (SGD's monitors) pass. A copied or unpickled network gets its own."""

    def __init__(self) -> None:
        self._lock = threading.RLock()

    def __reduce__(self) -> tuple:
        return (InUse, ())

    @contextmanager
    def __call__(self, what: str) -> Iterator[None]:
        if not self._lock.acquire(blocking=False):
            raise RuntimeError(f"{what}: this network is in use in another thread (training or evaluating); "
                               "use one network per thread (copy.deepcopy(net) makes an independent one)")
        try:
            yield
        finally:
            self._lock.release()


F = TypeVar("F", bound=Callable[..., Any])


def exclusive(method: F) -> F:
    """Run ``method`` holding the network's ``InUse`` guard (created on first use)."""
    @functools.wraps(method)
    def guarded(self: Any, *args: Any, **kwargs: Any) -> Any:
        with self.__dict__.setdefault("_in_use", InUse())(method.__name__):
            return method(self, *args, **kwargs)
    return guarded  # type: ignore[return-value]


class DivergenceError(FloatingPointError):
    """Training produced a non-finite weight; the network keeps the weights from before that step."""


class NonFiniteInput(Exception):
    """Raised inside SGD by an engine that checks the training inputs as it reads them."""

    def __init__(self, example: int):
        super().__init__(example)
        self.example = example  # the row of the training data that holds a NaN or an infinity


class History(tuple):
    """The book's four per-epoch lists, ``(evaluation_cost, evaluation_accuracy, training_cost,
    training_accuracy)``, so ``a, b, c, d = net.SGD(...)`` works as in the book; plus
    ``update_ema`` (per epoch, when monitored), ``eta`` (per epoch) and ``stopped_early``."""

    update_ema: list[float]
    eta: list[float]
    stopped_early: bool

    def __new__(cls, evaluation_cost: list, evaluation_accuracy: list, training_cost: list, training_accuracy: list,
                update_ema: list, eta: list, stopped_early: bool) -> "History":
        self = super().__new__(cls, (evaluation_cost, evaluation_accuracy, training_cost, training_accuracy))
        self.update_ema, self.eta, self.stopped_early = update_ema, eta, stopped_early
        return self

    def __reduce__(self):
        return (History, (*self, self.update_ema, self.eta, self.stopped_early))

    evaluation_cost = property(lambda self: self[0])  # type: ignore[assignment]
    evaluation_accuracy = property(lambda self: self[1])  # type: ignore[assignment]
    training_cost = property(lambda self: self[2])  # type: ignore[assignment]
    training_accuracy = property(lambda self: self[3])  # type: ignore[assignment]


class LayerSparsity(NamedTuple):
    layer: int             # 1 = the first weight matrix, as the book counts layers after the input
    zero_fraction: float   # weights exactly 0
    small_fraction: float  # weights with |w| < threshold (zeros included)


@dataclass
class TrainingRun:
    """The checked options of one SGD call, handed to the engine for each epoch."""

    update: UpdateOptions
    mini_batch_size: int
    dropout: float
    ema_tau: float | None
    progress: ProgressCallback | None


def check_sizes(sizes: object) -> list[int]:
    if isinstance(sizes, (str, bytes)) or not isinstance(sizes, (Sequence, np.ndarray)):
        raise TypeError(f"sizes: expected a list of layer sizes such as [784, 30, 10], got {sizes!r}")
    sizes = [check_int(f"sizes[{i}]", s, low=1) for i, s in enumerate(sizes)]
    if len(sizes) < 2:
        raise ValueError(f"sizes: a network needs at least an input and an output layer, got {sizes}")
    num_params = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))  # Python ints: no overflow
    if num_params > MAX_PARAMETERS:
        raise ValueError(f"sizes: {sizes} make {num_params} parameters, more than nndl supports ({MAX_PARAMETERS})")
    return sizes


def check_cost(cost: object) -> type[Cost]:
    if isinstance(cost, str):
        return cost_by_name(cost)
    for known in COSTS.values():
        if cost is known or type(cost) is known:  # the class, as the book passes it, or an instance
            return known
    raise TypeError(f"cost: expected QuadraticCost, CrossEntropyCost or LogLikelihoodCost, got {cost!r}")


def check_activations(activation: object, output: object, num_layers: int) -> list[str]:
    """One activation name per layer after the input."""
    if isinstance(activation, str):
        names = [activation] * (num_layers - 1)
    elif isinstance(activation, Sequence):
        names = list(activation)
        if len(names) != num_layers - 1:
            raise ValueError(f"activation: expected {num_layers - 1} names (one per layer after the input), got {len(names)}")
    else:
        raise TypeError(f"activation: expected a name or a list of names, got {activation!r}")
    for i, name in enumerate(names):
        check_choice(f"activation[{i}]" if not isinstance(activation, str) else "activation", name,
                     ("sigmoid", "tanh", "relu", "softmax"))
    if output is not None:
        names[-1] = check_choice("output", output, ("sigmoid", "tanh", "relu", "softmax"))
    if "softmax" in names[:-1]:
        raise ValueError("activation: softmax is only allowed on the output layer")
    return names


def check_dtype(dtype: object) -> np.dtype:
    try:
        dt = np.dtype(dtype)  # type: ignore[call-overload]
    except TypeError:
        raise TypeError(f"dtype: expected float32 or float64, got {dtype!r}") from None
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"dtype: expected float32 or float64, got {dt}")
    return dt


def check_cost_and_output(cost: type[Cost], output: str) -> None:
    """The pairings whose output-layer error the engines know (the book's, plus quadratic)."""
    if cost.name == "log_likelihood" and output != "softmax":
        raise ValueError("cost: LogLikelihoodCost needs a softmax output layer (output='softmax')")
    if cost.name != "log_likelihood" and output == "softmax":
        raise ValueError(f"output: a softmax output goes with LogLikelihoodCost, not {cost.__name__}")
    if cost.name == "cross_entropy" and output != "sigmoid":
        raise ValueError(f"cost: CrossEntropyCost needs a sigmoid output layer, got {output!r}")


class NetworkBase:
    """Shared by ``nndl.Network`` (C++) and ``nndl.reference.Network`` (pure Python)."""

    engine = ""
    public_name = ""
    weights: list[np.ndarray]
    biases: list[np.ndarray]

    def __init__(self, sizes: Sequence[int], cost: type[Cost] | str = CrossEntropyCost, seed: int | None = None,
                 dtype: Any = np.float64, activation: str | Sequence[str] = "sigmoid", output: str | None = None):
        self.sizes = check_sizes(sizes)
        self.num_layers = len(self.sizes)
        self.cost = check_cost(cost)
        self.activations = check_activations(activation, output, self.num_layers)
        check_cost_and_output(self.cost, self.activations[-1])
        self.dtype = check_dtype(dtype)
        if seed is not None:
            check_int("seed", seed, low=0)
        self.seed = seed
        # One generator drives everything random, in a fixed order: the dropout key, the initial
        # weights, then one permutation per epoch. Both engines draw the same numbers.
        self._rng = np.random.default_rng(seed)
        self._dropout_key = int(self._rng.integers(0, 2**63))
        self._allocate()
        self.default_weight_initializer()

    # -- hooks each engine implements ---------------------------------------------------------
    # True when _train_epoch checks the training inputs for NaN and infinity as it reads them
    # (raising NonFiniteInput before the offending mini-batch): SGD then skips its own pass over
    # the whole training set, which costs as much as a tenth of an epoch of the C++ engine.
    checks_inputs_while_training = False
    # True when _evaluate raises NonFiniteInput for a NaN or infinite input, found as it reads the
    # rows (and in parallel): accuracy and total_cost then skip their own pass over the data.
    checks_inputs_while_evaluating = False

    def _state_before_training(self) -> Any:
        """What SGD restores when checks_inputs_while_training finds a bad input mid-way."""
        raise NotImplementedError

    def _restore_state_before_training(self, saved: Any) -> None:
        raise NotImplementedError

    def _allocate(self) -> None:
        """Prepare storage for parameters and training state (before the first initializer)."""

    def _train_epoch(self, train: Arrays, order: np.ndarray, run: TrainingRun, epoch: int) -> float | None:
        """Train one epoch in the given order; returns the update EMA when monitored."""
        raise NotImplementedError

    def _evaluate(self, data: Arrays) -> tuple[float, int]:
        """(cost summed over the examples, number classified correctly)."""
        raise NotImplementedError

    def _reset_training_state(self) -> None:
        """Zero momentum velocities and the cumulative-L1 record at the start of a run."""

    # -- the book's API -----------------------------------------------------------------------
    @exclusive
    def default_weight_initializer(self) -> None:
        """Weights N(0, 1/n_in), biases N(0, 1) (the book's chapter 3 default)."""
        self.biases = [self._rng.standard_normal((y, 1)).astype(self.dtype) for y in self.sizes[1:]]
        self.weights = [(self._rng.standard_normal((y, x)) / np.sqrt(x)).astype(self.dtype)
                        for x, y in zip(self.sizes[:-1], self.sizes[1:])]

    @exclusive
    def large_weight_initializer(self) -> None:
        """Weights and biases N(0, 1) (the book's chapter 1 initializer)."""
        self.biases = [self._rng.standard_normal((y, 1)).astype(self.dtype) for y in self.sizes[1:]]
        self.weights = [self._rng.standard_normal((y, x)).astype(self.dtype)
                        for x, y in zip(self.sizes[:-1], self.sizes[1:])]

    @exclusive
    def SGD(self, training_data: Any, epochs: int, mini_batch_size: int, eta: float, lmbda: float = 0.0,
            evaluation_data: Any = None, monitor_evaluation_cost: bool = False,
            monitor_evaluation_accuracy: bool = False, monitor_training_cost: bool = False,
            monitor_training_accuracy: bool = False, regularization: str | None = "l2",
            l1_method: str = "subgradient", l1_ratio: float = 0.5, dropout: float = 0.0, momentum: float = 0.0,
            monitor_update_ema: float | None = None, early_stopping_n: int = 0, halve_eta_after: int = 0,
            verbose: bool = True, progress: ProgressCallback | None = None) -> History:
        """Mini-batch stochastic gradient descent, as the book's network2.SGD.

        Returns the book's four per-epoch lists (costs as floats, accuracies as counts) as a
        ``History``. Beyond the book: ``regularization`` ("l2", "l1", "elastic_net", "none"),
        ``l1_method`` ("subgradient", "proximal", "cumulative"), ``l1_ratio`` (elastic net's L1
        share of lmbda), ``dropout`` (probability of dropping a hidden unit), ``momentum`` (mu),
        ``monitor_update_ema`` (tau of the moving average of |weight change| per mini-batch),
        ``early_stopping_n`` (stop after that many epochs without a better evaluation accuracy),
        ``halve_eta_after`` (halve eta after that many epochs without improvement; stop once eta has
        fallen to 1/128 of its start), ``progress`` (a callback between chunks of mini-batches).
        """
        epochs = check_int("epochs", epochs, low=0)
        update = UpdateOptions.checked(eta, lmbda, 1, regularization, l1_method, l1_ratio, momentum)
        dropout = check_real("dropout", dropout, low=0.0, high=1.0, high_inclusive=False)
        ema_tau = None if monitor_update_ema is None else check_real(
            "monitor_update_ema", monitor_update_ema, low=0.0, low_inclusive=False, high=1.0)
        early_stopping_n = check_int("early_stopping_n", early_stopping_n, low=0)
        halve_eta_after = check_int("halve_eta_after", halve_eta_after, low=0)
        if progress is not None and not callable(progress):
            raise TypeError(f"progress: expected a function progress(epoch, done, total), got {progress!r}")
        # Every epoch reads every example, so an engine that checks inputs as it reads them finds a
        # bad one in the first epoch, before any monitor or early-stopping logic looks at the data.
        inputs_checked_in_training = self.checks_inputs_while_training and epochs > 0
        train = to_arrays(training_data, self.sizes[0], self.sizes[-1], self.dtype, "training_data",
                          check_finite_inputs=not inputs_checked_in_training)
        n = len(train)
        mini_batch_size = check_int("mini_batch_size", mini_batch_size, low=1, high=n)
        evaluation = None
        if evaluation_data is not None:
            evaluation = to_arrays(evaluation_data, self.sizes[0], self.sizes[-1], self.dtype, "evaluation_data")
        if (early_stopping_n or halve_eta_after) and evaluation is None:
            raise ValueError("evaluation_data: early_stopping_n and halve_eta_after watch the evaluation accuracy; give evaluation_data")
        update = UpdateOptions(update.eta, update.lmbda, n, update.regularization, update.l1_method,
                               update.l1_ratio, update.momentum)
        run = TrainingRun(update, mini_batch_size, dropout, ema_tau, progress)
        saved = self._state_before_training() if inputs_checked_in_training else None
        self._reset_training_state()

        evaluation_cost: list[float] = []
        evaluation_accuracy: list[int] = []
        training_cost: list[float] = []
        training_accuracy: list[int] = []
        update_ema: list[float] = []
        etas: list[float] = []
        best_accuracy, epochs_since_best = -1, 0
        eta0 = update.eta
        stopped_early = False
        for epoch in range(epochs):
            order = self._rng.permutation(n)
            etas.append(run.update.eta)
            try:
                ema = self._train_epoch(train, order, run, epoch)
            except DivergenceError as error:
                raise DivergenceError(f"training diverged in epoch {epoch}: {error}") from None
            except NonFiniteInput as bad:
                self._restore_state_before_training(saved)  # as if refused before training, like the other engine
                raise ValueError(f"training_data: inputs contain NaN or infinity (example {bad.example}); "
                                 "the network is unchanged") from None
            if ema_tau is not None and ema is not None:
                update_ema.append(float(ema))
            if verbose:
                print(f"Epoch {epoch} training complete")
            if monitor_training_cost:
                training_cost.append(self._total_cost(train, run.update))
                if verbose:
                    print(f"Cost on training data: {training_cost[-1]}")
            if monitor_training_accuracy:
                training_accuracy.append(self._evaluate(train)[1])
                if verbose:
                    print(f"Accuracy on training data: {training_accuracy[-1]} / {n}")
            eval_correct = None
            if evaluation is not None and (monitor_evaluation_cost or monitor_evaluation_accuracy
                                           or early_stopping_n or halve_eta_after):
                cost_sum, eval_correct = self._evaluate(evaluation)
                if monitor_evaluation_cost:
                    evaluation_cost.append(cost_sum / len(evaluation) + self._penalty(run.update))
                    if verbose:
                        print(f"Cost on evaluation data: {evaluation_cost[-1]}")
                if monitor_evaluation_accuracy:
                    evaluation_accuracy.append(eval_correct)
                    if verbose:
                        print(f"Accuracy on evaluation data: {eval_correct} / {len(evaluation)}")
            if verbose and ema_tau is not None:
                print(f"Update EMA: {update_ema[-1]:.3e}")
            if eval_correct is not None and (early_stopping_n or halve_eta_after):
                if eval_correct > best_accuracy:
                    best_accuracy, epochs_since_best = eval_correct, 0
                else:
                    epochs_since_best += 1
                if early_stopping_n and epochs_since_best >= early_stopping_n:
                    stopped_early = True
                    if verbose:
                        print(f"Early stopping: no improvement in {early_stopping_n} epochs")
                    break
                if halve_eta_after and epochs_since_best >= halve_eta_after:
                    new_eta = run.update.eta / 2
                    epochs_since_best = 0
                    if new_eta < eta0 / 128 * (1 - 1e-12):
                        stopped_early = True
                        if verbose:
                            print("Stopping: eta has fallen to 1/128 of its start")
                        break
                    run.update = UpdateOptions(new_eta, update.lmbda, n, update.regularization, update.l1_method,
                                               update.l1_ratio, update.momentum)
                    if verbose:
                        print(f"Halving eta to {new_eta}")
        return History(evaluation_cost, evaluation_accuracy, training_cost, training_accuracy, update_ema, etas,
                       stopped_early)

    @exclusive
    def accuracy(self, data: Any, convert: bool = False) -> int:
        """How many examples of ``data`` the network classifies correctly (argmax of the output).

        ``convert`` is accepted for the book's signature; the form of the labels (one-hot or int)
        is read from the data itself.
        """
        arrays = to_arrays(data, self.sizes[0], self.sizes[-1], self.dtype, "data",
                           check_finite_inputs=not self.checks_inputs_while_evaluating)
        return self._evaluate_checked(arrays)[1]

    @exclusive
    def total_cost(self, data: Any, lmbda: float, convert: bool = False, regularization: str | None = "l2",
                   l1_ratio: float = 0.5, n: int | None = None) -> float:
        """Mean cost over ``data`` plus the penalty of ``regularization``.

        The penalty is scaled by the training-set size ``n`` (L2: lmbda/(2n) sum w^2, L1: lmbda/n
        sum |w|). SGD passes the training-set size, so the evaluation cost it monitors carries the
        same penalty as the training cost; the book's code used ``len(data)``, which inflates the
        penalty on the 10,000-image validation set five-fold. Called directly with ``n=None``,
        ``len(data)`` is used, as in the book.
        """
        arrays = to_arrays(data, self.sizes[0], self.sizes[-1], self.dtype, "data",
                           check_finite_inputs=not self.checks_inputs_while_evaluating)
        opts = UpdateOptions.checked(1.0, lmbda, len(arrays) if n is None else n, regularization, "subgradient",
                                     l1_ratio)
        return self._total_cost(arrays, opts)

    def _evaluate_checked(self, data: Arrays) -> tuple[float, int]:
        """_evaluate on data the caller named "data", a NaN/infinity found on the way refused."""
        try:
            return self._evaluate(data)
        except NonFiniteInput as bad:
            raise ValueError(f"data: inputs contain NaN or infinity (example {bad.example})") from None

    def _penalty(self, opts: UpdateOptions) -> float:
        return penalty(self.weights, opts.lmbda, opts.n, opts.regularization, opts.l1_ratio)

    def _total_cost(self, data: Arrays, opts: UpdateOptions) -> float:
        return self._evaluate_checked(data)[0] / len(data) + self._penalty(opts)

    @exclusive
    def save(self, filename: str | os.PathLike) -> None:
        """Write the network as the book's JSON (``sizes``, ``weights``, ``biases``, ``cost``).

        Activations and dtype are added only when they differ from the book's, so a plain sigmoid
        network saves exactly the book's keys. The file is written atomically: to a temporary
        file in the same directory, then renamed over ``filename``.
        """
        weights, biases = [np.asarray(w) for w in self.weights], [np.asarray(b) for b in self.biases]
        for name, arrays in (("weights", weights), ("biases", biases)):
            for l, (x, y) in enumerate(zip(self.sizes[:-1], self.sizes[1:])):
                shape = (y, x) if name == "weights" else (y, 1)
                if l >= len(arrays) or arrays[l].shape != shape or not np.isfinite(arrays[l]).all():
                    raise ValueError(f"{name}[{l}]: expected finite numbers of shape {shape}; not saving a network "
                                     "that could not be loaded")
        data: dict[str, Any] = {
            "sizes": self.sizes,
            "weights": [w.tolist() for w in weights],
            "biases": [b.tolist() for b in biases],
            "cost": self.cost.__name__,
        }
        if any(a != "sigmoid" for a in self.activations):
            data["activations"] = self.activations
        if self.dtype != np.float64:
            data["dtype"] = self.dtype.name
        directory = os.path.dirname(os.path.abspath(os.fspath(filename)))
        fd, tmp = tempfile.mkstemp(prefix=".nndl-", suffix=".json.tmp", dir=directory)
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(data, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, filename)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    @exclusive
    def sparsity(self, threshold: float = 1e-3) -> list[LayerSparsity]:
        """Per weight matrix: the fraction of weights exactly zero and with |w| < threshold."""
        threshold = check_real("threshold", threshold, low=0.0)
        return [LayerSparsity(l, float(np.mean(w == 0)), float(np.mean(np.abs(w) < threshold)))
                for l, w in enumerate(self.weights, start=1)]

    @exclusive
    def prune(self, threshold: float) -> int:
        """Set every weight with |w| < threshold to exactly zero; returns how many were changed."""
        threshold = check_real("threshold", threshold, low=0.0)
        changed = 0
        for w in self.weights:
            small = (np.abs(w) < threshold) & (w != 0)
            changed += int(small.sum())
            w[small] = 0
        return changed

    def __repr__(self) -> str:
        acts = self.activations[0] if len(set(self.activations)) == 1 else self.activations
        return (f"{self.public_name}(sizes={self.sizes}, "
                f"cost={self.cost.__name__}, activation={acts!r}, dtype={self.dtype.name}, engine={self.engine!r})")


def read_network_file(filename: str | os.PathLike) -> dict[str, Any]:
    """Read and check a saved network (the book's JSON, or nndl's with optional keys).

    Nothing from the file is executed: the cost is looked up by name among the known classes.
    Whatever is wrong with the file's contents raises ValueError naming the file; a file that
    cannot be opened raises OSError.
    """
    with open(filename, "rb") as f:
        raw = f.read()
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as error:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise ValueError(f"filename: {os.fspath(filename)!r} is not a saved network: not valid JSON "
                         f"({type(error).__name__}: {error})") from None
    try:
        return _check_saved_network(data)
    except (TypeError, ValueError, OverflowError) as error:
        raise ValueError(f"filename: {os.fspath(filename)!r} is not a valid saved network: {error}") from None


def _check_saved_network(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValueError("a saved network is a JSON object")
    missing = [k for k in ("sizes", "weights", "biases", "cost") if k not in data]
    if missing:
        raise ValueError(f"saved network lacks {', '.join(missing)}")
    sizes = check_sizes(data["sizes"])
    if sum(a * b for a, b in zip(sizes[:-1], sizes[1:])) > 500_000_000:
        raise ValueError(f"sizes {sizes} are too large to load")
    weights, biases = data["weights"], data["biases"]
    if not isinstance(weights, list) or not isinstance(biases, list) or len(weights) != len(sizes) - 1 \
            or len(biases) != len(sizes) - 1:
        raise ValueError(f"expected {len(sizes) - 1} weight and bias arrays for sizes {sizes}")
    out_w, out_b = [], []
    for l, (x, y) in enumerate(zip(sizes[:-1], sizes[1:])):
        try:
            w = np.array(weights[l], dtype=np.float64)
            b = np.array(biases[l], dtype=np.float64)
        except (TypeError, ValueError, OverflowError):
            raise ValueError(f"weights or biases of layer {l + 1} are not arrays of numbers") from None
        if w.shape != (y, x) or b.shape != (y, 1):
            raise ValueError(f"layer {l + 1} should have weights ({y}, {x}) and biases ({y}, 1), "
                             f"got {w.shape} and {b.shape}")
        if not (np.isfinite(w).all() and np.isfinite(b).all()):
            raise ValueError(f"layer {l + 1} has non-finite weights or biases")
        out_w.append(w)
        out_b.append(b)
    cost = cost_by_name(data["cost"])
    activations = check_activations(data.get("activations", "sigmoid"), None, len(sizes))
    check_cost_and_output(cost, activations[-1])
    dtype = data.get("dtype", "float64")
    if not isinstance(dtype, str):
        raise ValueError(f"dtype: expected 'float32' or 'float64', got {dtype!r}")
    check_dtype(dtype)
    return {"sizes": sizes, "cost": cost, "activation": activations, "dtype": dtype, "weights": out_w,
            "biases": out_b}


def load_into(cls: type, filename: str | os.PathLike) -> Any:
    """A network of class ``cls`` with the parameters saved in ``filename``."""
    saved = read_network_file(filename)
    net = cls(saved["sizes"], cost=saved["cost"], activation=saved["activation"], dtype=saved["dtype"])
    net.weights = [w.astype(net.dtype) for w in saved["weights"]]
    net.biases = [b.astype(net.dtype) for b in saved["biases"]]
    return net
