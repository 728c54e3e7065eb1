"""What both engines of the book's network2 share: construction (its checks are in architecture.py), initial weights,
evaluation, sparsity and pruning. The SGD loop is ``nndl.training.sgd``; saving and loading,
``nndl.network_file``."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from .activations import ACTIVATIONS
from .architecture import check_activations, check_cost, check_cost_and_output, check_dtype, check_sizes
from .checks import check_int, check_real
from .costs import Cost, CrossEntropyCost
from .data.arrays import Arrays, checked_inputs, to_arrays
from .network_file import write_network_file
from .regularization import UpdateOptions, penalty
from .training.errors import NonFiniteInput
from .training.guard import exclusive
from .training.history import History
from .training.sgd import ProgressCallback, TrainingRun, run_sgd


class LayerSparsity(NamedTuple):
    layer: int  # 1 = the first weight matrix, as the book counts layers after the input
    zero_fraction: float  # weights exactly 0
    small_fraction: float  # weights with |w| < threshold (zeros included)


class NetworkBase:
    """Shared by ``nndl.Network`` (C++) and ``nndl.reference.Network`` (pure Python)."""

    engine = ""
    public_name = ""
    weights: list[np.ndarray]
    biases: list[np.ndarray]

    def __init__(
        self,
        sizes: Sequence[int],
        cost: type[Cost] | str = CrossEntropyCost,
        seed: int | None = None,
        dtype: Any = np.float64,
        activation: str | Sequence[str] = "sigmoid",
        output: str | None = None,
    ):
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

    def feedforward(self, a: Any) -> np.ndarray:
        """The output for ``a`` (each engine computes it; see ``_input_rows`` for the forms)."""
        raise NotImplementedError

    def _check_overrides(self) -> None:
        """Refuse (TypeError) methods of a subclass that this engine's SGD would not call."""

    def _check_update_options(self, update: UpdateOptions, dropout: float) -> None:
        """Refuse (ValueError) SGD options that this network cannot apply."""

    def _update_ema_weights_copy(self) -> list[np.ndarray]:
        """Each weight's moving average of its change, per layer as the weights (a copy)."""
        raise NotImplementedError

    def _first_layer_reads_sparse(
        self, X: np.ndarray, requested: bool | None, mini_batch_size: int, epochs: int = 1
    ) -> bool:
        """Whether training on inputs X (for ``epochs`` epochs) uses the sparse first layer (only the
        C++ engine has one)."""
        return False

    def _layer_outputs(self, X: np.ndarray) -> list[np.ndarray]:
        """Each layer's activations for the rows of X, as rows (k, sizes[l]), without dropout. This
        plain numpy pass is the reference engine's; the C++ engine computes each layer itself."""
        outputs = []
        a = np.asarray(X, dtype=self.dtype)
        with np.errstate(over="ignore", invalid="ignore"):
            for w, b, act in zip(self.weights, self.biases, self.activations):
                a = ACTIVATIONS[act].fn((a @ w.T + b.T).T).T
                outputs.append(a)
        return outputs

    def _bias_gradient_sum(self, data: Arrays) -> list[np.ndarray]:
        """Per weight layer, dC_x/db summed over the examples of ``data`` (no regularization, no dropout)."""
        raise NotImplementedError

    # -- the book's API -----------------------------------------------------------------------
    @exclusive
    def default_weight_initializer(self) -> None:
        """The book's chapter 3 default, weights N(0, 1/n_in) and biases N(0, 1), for sigmoid,
        tanh and softmax layers; for ReLU layers He et al.'s (2015) weights N(0, 2/n_in) and biases
        0.1, so that no unit starts dead (z < 0 on every input, hence no gradient ever). Unit
        Gaussian biases kill a ReLU unit whenever they start below about -1: 784-10 ReLU units on
        MNIST lost one digit in three seeds of five. ``book_weight_initializer`` is the book's
        rule for every layer."""
        relu = [a == "relu" for a in self.activations]
        self.biases = [
            np.full((y, 1), 0.1, self.dtype) if r else self._rng.standard_normal((y, 1)).astype(self.dtype)
            for y, r in zip(self.sizes[1:], relu)
        ]
        self.weights = [
            (self._rng.standard_normal((y, x)) * np.sqrt((2.0 if r else 1.0) / x)).astype(self.dtype)
            for x, y, r in zip(self.sizes[:-1], self.sizes[1:], relu)
        ]

    @exclusive
    def book_weight_initializer(self) -> None:
        """Weights N(0, 1/n_in), biases N(0, 1) for every layer: the book's chapter 3 default
        exactly, ReLU layers included."""
        self.biases = [self._rng.standard_normal((y, 1)).astype(self.dtype) for y in self.sizes[1:]]
        self.weights = [
            (self._rng.standard_normal((y, x)) / np.sqrt(x)).astype(self.dtype)
            for x, y in zip(self.sizes[:-1], self.sizes[1:])
        ]

    @exclusive
    def large_weight_initializer(self) -> None:
        """Weights and biases N(0, 1) (the book's chapter 1 initializer)."""
        self.biases = [self._rng.standard_normal((y, 1)).astype(self.dtype) for y in self.sizes[1:]]
        self.weights = [
            self._rng.standard_normal((y, x)).astype(self.dtype) for x, y in zip(self.sizes[:-1], self.sizes[1:])
        ]

    @exclusive
    def SGD(
        self,
        training_data: Any,
        epochs: int,
        mini_batch_size: int,
        eta: float,
        lmbda: float = 0.0,
        evaluation_data: Any = None,
        monitor_evaluation_cost: bool = False,
        monitor_evaluation_accuracy: bool = False,
        monitor_training_cost: bool = False,
        monitor_training_accuracy: bool = False,
        regularization: str | None = "l2",
        l1_method: str = "subgradient",
        l1_ratio: float = 0.5,
        dropout: float = 0.0,
        momentum: float = 0.0,
        monitor_update_ema: float | None = None,
        early_stopping_n: int = 0,
        halve_eta_after: int = 0,
        verbose: bool = True,
        progress: ProgressCallback | bool | None = None,
        dropout_masks: str = "per_example",
        sparse_inputs: bool | None = None,
    ) -> History:
        """Mini-batch stochastic gradient descent, as the book's network2.SGD.

        Returns the book's four per-epoch lists (costs as floats, accuracies as counts) as a
        ``History``. Beyond the book: ``regularization`` ("l2", "l1", "elastic_net", "none"),
        ``l1_method`` ("subgradient", "proximal", "cumulative"), ``l1_ratio`` (elastic net's L1
        share of lmbda), ``dropout`` (probability of dropping a hidden unit; ``dropout_masks``
        "per_example", the default, draws a mask for each example, "per_mini_batch" one set of
        dropped units for the whole mini-batch, as chapter 3 describes it), ``momentum`` (mu),
        ``monitor_update_ema`` (tau of the moving averages of the update, per mini-batch: of the
        mean |weight change|, and of each weight's own change, see ``History``),
        ``early_stopping_n`` (stop after that many epochs without a better evaluation accuracy),
        ``halve_eta_after`` (halve eta after that many epochs without improvement; stop once eta has
        fallen to 1/128 of its start), ``progress`` (True: a progress bar, in a notebook or a
        terminal; or a callback ``progress(epoch, done, total)`` between chunks of mini-batches),
        ``sparse_inputs`` (the C++ engine's first layer reads only the nonzero inputs: True, False,
        or None, the default, to choose from the training data's density, the mini-batch size and
        the number of epochs; the same numbers either way on the SIMD kernel sets, see
        ``nndl.sparse_inputs``). In a call of more than one epoch on 8-bit pixel data (MNIST) the
        sparse layer keeps the nonzeros it reads in the first epoch, at most 32 MB of them, and the
        later epochs read those instead of the rows: the arrays must not change during the call.

        Warns (``nndl.TrainingWarning``) when the run fails quietly: a monitored cost becomes
        infinite, the outputs saturate, ReLU units never fire on the evaluation data (or the
        training data without it), inputs of a sigmoid network are far outside [0, 1].
        """
        return run_sgd(
            self,
            training_data,
            epochs,
            mini_batch_size,
            eta,
            lmbda=lmbda,
            evaluation_data=evaluation_data,
            monitor_evaluation_cost=monitor_evaluation_cost,
            monitor_evaluation_accuracy=monitor_evaluation_accuracy,
            monitor_training_cost=monitor_training_cost,
            monitor_training_accuracy=monitor_training_accuracy,
            regularization=regularization,
            l1_method=l1_method,
            l1_ratio=l1_ratio,
            dropout=dropout,
            momentum=momentum,
            monitor_update_ema=monitor_update_ema,
            early_stopping_n=early_stopping_n,
            halve_eta_after=halve_eta_after,
            verbose=verbose,
            progress=progress,
            dropout_masks=dropout_masks,
            sparse_inputs=sparse_inputs,
        )

    def _input_rows(self, a: Any) -> tuple[np.ndarray, str]:
        """``a`` as rows ``(k, n_in)`` of the network's dtype, and its form: "column" (the book's
        ``(n_in, 1)``), "one" (a flat ``(n_in,)`` vector or one image such as ``(28, 28)``) or
        "rows" (``(k, n_in)``, or k images ``(k, 28, 28)``)."""
        a = checked_inputs("a", a, self.dtype)
        n_in = self.sizes[0]
        if a.ndim == 2 and a.shape == (n_in, 1):
            return a.reshape(1, n_in), "column"
        if a.ndim == 2 and a.shape[1] == n_in:
            return a, "rows"
        if a.size == n_in and a.ndim >= 1:
            return a.reshape(1, n_in), "one"
        if a.ndim >= 3 and a.shape[0] > 0 and a[0].size == n_in:
            return a.reshape(a.shape[0], n_in), "rows"
        raise ValueError(
            f"a: expected one input of {n_in} values (a column ({n_in}, 1), a vector ({n_in},) or an image), rows "
            f"(k, {n_in}) or k images, got shape {a.shape}"
        )

    @staticmethod
    def _output_as(out: np.ndarray, form: str) -> np.ndarray:
        """Outputs ``(k, n_out)`` in the form the input came in."""
        if form == "column":
            return out.reshape(-1, 1)
        return out[0] if form == "one" else out

    @exclusive
    def predict(self, a: Any) -> Any:
        """The class the network picks (argmax of the output): an int for one input (a column, a
        flat vector, an image), an int64 array ``(k,)`` for rows or a stack of images."""
        rows, form = self._input_rows(a)
        labels = np.argmax(np.asarray(self.feedforward(rows)).reshape(len(rows), -1), axis=1).astype(np.int64)
        return labels if form == "rows" else int(labels[0])

    @exclusive
    def accuracy(self, data: Any, convert: bool = False) -> int:
        """How many examples of ``data`` the network classifies correctly (argmax of the output).

        ``convert`` is accepted for the book's signature; the form of the labels (one-hot or int)
        is read from the data itself.
        """
        arrays = to_arrays(
            data,
            self.sizes[0],
            self.sizes[-1],
            self.dtype,
            "data",
            check_finite_inputs=not self.checks_inputs_while_evaluating,
        )
        return self._evaluate_checked(arrays)[1]

    @exclusive
    def total_cost(
        self,
        data: Any,
        lmbda: float,
        convert: bool = False,
        regularization: str | None = "l2",
        l1_ratio: float = 0.5,
        n: int | None = None,
    ) -> float:
        """Mean cost over ``data`` plus the penalty of ``regularization``.

        The penalty is scaled by the training-set size ``n`` (L2: lmbda/(2n) sum w^2, L1: lmbda/n
        sum |w|). SGD passes the training-set size, so the evaluation cost it monitors carries the
        same penalty as the training cost; the book's code used ``len(data)``, which inflates the
        penalty on the 10,000-image validation set five-fold. Called directly with ``n=None``,
        ``len(data)`` is used, as in the book.
        """
        arrays = to_arrays(
            data,
            self.sizes[0],
            self.sizes[-1],
            self.dtype,
            "data",
            check_finite_inputs=not self.checks_inputs_while_evaluating,
        )
        opts = UpdateOptions.checked(
            1.0, lmbda, len(arrays) if n is None else n, regularization, "subgradient", l1_ratio
        )
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
    def save(self, filename: str | os.PathLike[str]) -> None:
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
                    raise ValueError(
                        f"{name}[{l}]: expected finite numbers of shape {shape}; not saving a network "
                        "that could not be loaded"
                    )
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
        write_network_file(filename, data)

    @exclusive
    def bias_gradient_norms(self, data: Any) -> list[float]:
        """The speed of learning of each layer, as chapter 5 measures it: ``||mean over data of dC_x/db^l||``.

        One value per weight layer, hidden layers first and the output layer last (the book plots
        the hidden ones, ``[:-1]``): the Euclidean norm of the gradient of the cost with respect to
        that layer's biases, averaged over the examples of ``data`` (the book's generate_gradient.py
        uses the first 1,000 training images). The penalty has no bias term, so lmbda plays no part.
        """
        arrays = to_arrays(data, self.sizes[0], self.sizes[-1], self.dtype, "data")
        return [float(np.linalg.norm(g) / len(arrays)) for g in self._bias_gradient_sum(arrays)]

    @exclusive
    def sparsity(self, threshold: float = 1e-3) -> list[LayerSparsity]:
        """Per weight matrix: the fraction of weights exactly zero and with |w| < threshold."""
        threshold = check_real("threshold", threshold, low=0.0)
        return [
            LayerSparsity(l, float(np.mean(w == 0)), float(np.mean(np.abs(w) < threshold)))
            for l, w in enumerate(self.weights, start=1)
        ]

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
        return (
            f"{self.public_name}(sizes={self.sizes}, "
            f"cost={self.cost.__name__}, activation={acts!r}, dtype={self.dtype.name}, engine={self.engine!r})"
        )
