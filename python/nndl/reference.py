"""The book's network2.py in Python 3: the readable engine, and the oracle the C++ one must match.

Backpropagation runs one example at a time, exactly as in the book; the update is the book's,
extended to the regularizations of chapter 3 (see ``update_mini_batch``). Shared bookkeeping
(initializers, the SGD loop, monitors, saving) lives in ``nndl.network_base`` and
``nndl.training``; everything that computes is here, in plain numpy.

As in the book, ``SGD`` calls ``self.update_mini_batch(mini_batch, eta, lmbda, n)`` for every
mini-batch and ``update_mini_batch`` calls ``self.backprop(x, y)`` for every example, so a subclass
that overrides either (the chapter-3 exercise: write L1 into ``update_mini_batch``) is what trains.
"""

from __future__ import annotations

import inspect
import os
from typing import Any

import numpy as np

from .activations import ACTIVATIONS, Activation
from .checks import check_real
from .costs import CrossEntropyCost, LogLikelihoodCost, QuadraticCost
from .data.arrays import Arrays, checked_inputs, to_arrays
from .dropout import dropout_factors
from .network_base import NetworkBase
from .network_file import load_into
from .regularization import UpdateOptions
from .training.errors import DivergenceError
from .training.guard import exclusive
from .training.sgd import TrainingRun

__all__ = ["CrossEntropyCost", "LogLikelihoodCost", "Network", "QuadraticCost", "load"]


class Network(NetworkBase):
    """The book's ``Network``: ``weights[l]`` is ``(n_out, n_in)``, ``biases[l]`` is ``(n_out, 1)``."""

    public_name = "nndl.reference.Network"
    engine = "python"

    def _allocate(self) -> None:
        self._reset_training_state()
        self._step = 0  # mini-batches trained so far: the dropout counter

    def _reset_training_state(self) -> None:
        self._velocity_w = [np.zeros((y, x), self.dtype) for x, y in zip(self.sizes[:-1], self.sizes[1:])]
        self._velocity_b = [np.zeros((y, 1), self.dtype) for y in self.sizes[1:]]
        self._l1_applied = [np.zeros((y, x), self.dtype) for x, y in zip(self.sizes[:-1], self.sizes[1:])]
        self._l1_total = 0.0
        self._update_ema: float | None = None
        self._update_ema_w: list[np.ndarray] | None = None  # each weight's EMA of its change

    def _activation(self, layer: int) -> type[Activation]:
        """The activation class of weight layer ``layer`` (1-based)."""
        return ACTIVATIONS[self.activations[layer - 1]]

    @exclusive
    def feedforward(self, a: np.ndarray) -> np.ndarray:
        """The output for ``a``: a ``(n_in, 1)`` column as in the book gives a column, one flat
        vector or image gives ``(n_out,)``, rows ``(k, n_in)`` or k images give ``(k, n_out)``."""
        X, form = self._input_rows(a)
        a = X.T  # columns, one per example, as the book computes
        # A saturated sigmoid overflows exp(-z) on the way to its exact limit 0: not worth a warning
        # (the C++ engine gives the same outputs silently). Finite float32 weights near its limit can
        # overflow a product to inf and inf - inf to NaN: the output is then NaN, as in C++, and an
        # accuracy count scores it wrong rather than stopping evaluation with a warning.
        with np.errstate(over="ignore", invalid="ignore"):
            for l, (b, w) in enumerate(zip(self.biases, self.weights), start=1):
                a = self._activation(l).fn(np.dot(w, a) + b)
        return self._output_as(a.T.copy(), form)

    def _overridden(self, name: str) -> bool:
        """Whether a subclass replaced the method ``name`` of this class."""
        return getattr(type(self), name) is not getattr(Network, name)

    def _check_update_options(self, update: UpdateOptions, dropout: float) -> None:
        if self._overridden("update_mini_batch"):
            accepted = self._override_keywords()
            given = {
                "regularization": update.regularization != "l2",
                "l1_method": update.l1_method != "subgradient",
                "l1_ratio": update.l1_ratio != 0.5,
                "momentum": update.momentum != 0.0,
                "dropout": dropout != 0.0,
            }
            for name, non_default in given.items():
                if non_default and accepted is not None and name not in accepted:
                    raise ValueError(
                        f"{name}: SGD calls your update_mini_batch(mini_batch, eta, lmbda, n) as the book does, "
                        f"and it takes no {name}; leave {name} at its default or accept it as a keyword"
                    )
        elif self._overridden("backprop") and dropout:
            raise ValueError(
                "dropout: your backprop(x, y) computes the gradient without dropout masks; train without dropout "
                "or override update_mini_batch too"
            )

    def _override_keywords(self) -> set[str] | None:
        """Keywords an overridden update_mini_batch accepts beyond the book's four (None: any)."""
        parameters = inspect.signature(self.update_mini_batch).parameters.values()
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
            return None
        return {p.name for p in parameters}

    def _train_epoch(self, train: Arrays, order: np.ndarray, run: TrainingRun, epoch: int) -> float | None:
        n, m = len(train), run.mini_batch_size
        num_batches = (n + m - 1) // m
        override = self._overridden("update_mini_batch")
        extras: dict[str, Any] = {}
        if override:  # the options an override accepts, passed by name (the book's four by position)
            accepted = self._override_keywords()
            options = {
                "regularization": run.update.regularization,
                "l1_method": run.update.l1_method,
                "l1_ratio": run.update.l1_ratio,
                "momentum": run.update.momentum,
                "dropout": run.dropout,
            }
            extras = {k: v for k, v in options.items() if accepted is None or k in accepted}
        for batch, k in enumerate(range(0, n, m)):
            # The book's mini-batch: a list of (x, y), x a (n_in, 1) column and y a one-hot column.
            mini_batch = [(train.X[i].reshape(-1, 1), train.Y[i].reshape(-1, 1)) for i in order[k : k + m]]
            before = [w.copy() for w in self.weights] if run.ema_tau is not None else None
            if override:
                self.update_mini_batch(mini_batch, run.update.eta, run.update.lmbda, run.update.n, **extras)
            else:
                self._checked_update(mini_batch, run.update, run.dropout, batch, run.dropout_masks == "per_mini_batch")
            if before is not None and run.ema_tau is not None:
                self._advance_update_emas(before, run.ema_tau)
            if run.progress is not None and (batch + 1 == num_batches or (batch + 1) % 200 == 0):
                run.progress(epoch, batch + 1, num_batches)
        return self._update_ema

    def _advance_update_emas(self, before: list[np.ndarray], tau: float) -> None:
        """One mini-batch into the moving averages of the update: of the mean |change| of all
        weights, and of each weight's own change (started at the first change, as in C++)."""
        changes = [np.asarray(w, self.dtype) - b for w, b in zip(self.weights, before)]
        mean_change = sum(float(np.sum(np.abs(c))) for c in changes) / sum(c.size for c in changes)
        if self._update_ema is None or self._update_ema_w is None:
            self._update_ema, self._update_ema_w = mean_change, changes
        else:
            self._update_ema = (1 - tau) * self._update_ema + tau * mean_change
            self._update_ema_w = [(1 - tau) * e + tau * c for e, c in zip(self._update_ema_w, changes)]

    def _update_ema_weights_copy(self) -> list[np.ndarray]:
        shapes = [w.shape for w in self.weights]
        if self._update_ema_w is None:
            return [np.zeros(s, self.dtype) for s in shapes]
        return [e.copy() for e in self._update_ema_w]

    @exclusive
    def update_mini_batch(
        self,
        mini_batch: Any,
        eta: float,
        lmbda: float,
        n: int,
        regularization: str | None = "l2",
        l1_method: str = "subgradient",
        l1_ratio: float = 0.5,
        momentum: float = 0.0,
        dropout: float = 0.0,
    ) -> None:
        """One step of gradient descent on ``mini_batch`` (a list of ``(x, y)``), as the book.

        ``n`` is the size of the whole training set: the penalty is eta*lmbda/n per step.
        """
        opts = UpdateOptions.checked(eta, lmbda, n, regularization, l1_method, l1_ratio, momentum)
        dropout = check_real("dropout", dropout, low=0.0, high=1.0, high_inclusive=False)
        arrays = to_arrays(mini_batch, self.sizes[0], self.sizes[-1], self.dtype, "mini_batch")
        columns = [(arrays.X[i].reshape(-1, 1), arrays.Y[i].reshape(-1, 1)) for i in range(len(arrays))]
        self._checked_update(columns, opts, dropout, 0)

    def _checked_update(
        self,
        mini_batch: list[tuple[np.ndarray, np.ndarray]],
        opts: UpdateOptions,
        dropout: float,
        batch: int,
        mask_per_batch: bool = False,
    ) -> None:
        """``_update``, undone with DivergenceError when it makes a weight or bias non-finite."""
        # _update replaces arrays rather than writing into them, so shallow copies keep the old state
        saved = (
            list(self.weights),
            list(self.biases),
            list(self._velocity_w),
            list(self._velocity_b),
            list(self._l1_applied),
            self._l1_total,
            self._step,
        )
        with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported as divergence below
            self._update(mini_batch, opts, dropout, mask_per_batch)
        if not all(np.isfinite(p).all() for p in self.weights + self.biases):
            (
                self.weights,
                self.biases,
                self._velocity_w,
                self._velocity_b,
                self._l1_applied,
                self._l1_total,
                self._step,
            ) = saved
            raise DivergenceError(
                f"mini-batch {batch} gave non-finite weights; the network keeps the weights from before it. "
                f"Try a smaller eta (now {opts.eta})."
            )

    def _update(
        self,
        mini_batch: list[tuple[np.ndarray, np.ndarray]],
        opts: UpdateOptions,
        dropout: float,
        mask_per_batch: bool = False,
    ) -> None:
        nabla_b = [np.zeros(b.shape, self.dtype) for b in self.biases]
        nabla_w = [np.zeros(w.shape, self.dtype) for w in self.weights]
        own_backprop = self._overridden("backprop")  # the book calls self.backprop(x, y): so do we
        for i, (x, y) in enumerate(mini_batch):
            if own_backprop:
                delta_nabla_b, delta_nabla_w = self.backprop(x, y)
            else:
                # one mask per example, or the first example's for the whole mini-batch (as C++ draws it)
                masks = self._dropout_masks(dropout, 0 if mask_per_batch else i) if dropout > 0 else None
                delta_nabla_b, delta_nabla_w = self._backprop(x, y, masks)
            nabla_b = [nb + dnb for nb, dnb in zip(nabla_b, delta_nabla_b)]
            nabla_w = [nw + dnw for nw, dnw in zip(nabla_w, delta_nabla_w)]
        m = len(mini_batch)
        eta, n = opts.eta, opts.n
        l1, l2 = opts.l1_lmbda, opts.l2_lmbda
        if opts.l1_method == "cumulative":
            self._l1_total += eta * l1 / n  # the penalty each weight could have received so far
        new_weights = []
        for l, (w, nw) in enumerate(zip(self.weights, nabla_w)):
            # The smooth part of the step: the gradient averaged over the mini-batch (never over a
            # layer), the L2 shrink and the book's L1 subgradient, each scaled by 1/n, never 1/m.
            # With l2 alone, w + step = (1 - eta*lmbda/n) w - (eta/m) nw: the book's eq. (93).
            step = -(eta / m) * nw - (eta * l2 / n) * w
            if l1 and opts.l1_method == "subgradient":
                step = step - (eta * l1 / n) * np.sign(w)  # eq. (97); np.sign(0) == 0
            if opts.momentum:
                self._velocity_w[l] = opts.momentum * self._velocity_w[l] + step
                v = w + self._velocity_w[l]
            else:
                v = w + step
            if l1 and opts.l1_method == "proximal":
                # Soft-thresholding: the exact minimizer of the L1 term around v; small weights land on 0.
                v = np.sign(v) * np.maximum(np.abs(v) - eta * l1 / n, 0)
            elif l1 and opts.l1_method == "cumulative":
                # Tsuruoka et al. (2009): clip at zero, charging a weight at most the total penalty so
                # far minus what it has already been charged (q), so zeros survive gradient noise.
                u, q = self._l1_total, self._l1_applied[l]
                clipped = np.where(v > 0, np.maximum(0, v - (u + q)), np.where(v < 0, np.minimum(0, v + (u - q)), v))
                self._l1_applied[l] = q + (clipped - v)
                v = clipped
            new_weights.append(v.astype(self.dtype, copy=False))
        new_biases = []
        for l, (b, nb) in enumerate(zip(self.biases, nabla_b)):  # biases are never regularized
            if opts.momentum:
                self._velocity_b[l] = opts.momentum * self._velocity_b[l] - (eta / m) * nb
                new_biases.append(b + self._velocity_b[l])
            else:
                new_biases.append(b - (eta / m) * nb)
        self.weights, self.biases = new_weights, new_biases
        self._step += 1

    def _dropout_masks(self, p: float, example: int) -> list[np.ndarray]:
        """0 or 1/(1-p) for each unit of each hidden layer, for example ``example`` of this step."""
        return [
            dropout_factors(p, self._dropout_key, self._step, example, l, self.sizes[l]).astype(self.dtype)
            for l in range(1, self.num_layers - 1)
        ]

    @exclusive
    def backprop(self, x: np.ndarray, y: Any) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """``(nabla_b, nabla_w)``: the gradient of the cost of one example, layer by layer.

        ``x`` is a ``(n_in, 1)`` column (any shape with n_in values); ``y`` the target column or
        an integer label.
        """
        x = checked_inputs("x", x, self.dtype)
        if x.size != self.sizes[0]:
            raise ValueError(f"x: expected {self.sizes[0]} inputs, got shape {x.shape}")
        return self._backprop(x.reshape(-1, 1), self._target_column(y), None)

    def _target_column(self, y: Any) -> np.ndarray:
        n_out = self.sizes[-1]
        if isinstance(y, (int, np.integer)) and not isinstance(y, bool):
            if not 0 <= y < n_out:
                raise ValueError(f"y: label {y} is outside [0, {n_out})")
            column = np.zeros((n_out, 1), self.dtype)
            column[y] = 1
            return column
        y = checked_inputs("y", y, self.dtype)
        if y.size != n_out:
            raise ValueError(f"y: expected {n_out} target values or an integer label, got shape {y.shape}")
        target: np.ndarray = y.reshape(-1, 1)
        return target

    def _backprop(
        self, x: np.ndarray, y: np.ndarray, masks: list[np.ndarray] | None
    ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        nabla_b = [np.zeros(b.shape, self.dtype) for b in self.biases]
        nabla_w = [np.zeros(w.shape, self.dtype) for w in self.weights]
        # feedforward, keeping every layer's weighted input z and activation
        activation = x
        activations = [x]
        zs = []
        for l, (b, w) in enumerate(zip(self.biases, self.weights), start=1):
            z = np.dot(w, activation) + b
            zs.append(z)
            activation = self._activation(l).fn(z)
            if masks is not None and l < self.num_layers - 1:
                activation = activation * masks[l - 1]  # dropout on hidden layers only
            activations.append(activation)
        # backward pass
        output = self._activation(self.num_layers - 1)
        delta = self.cost.delta(zs[-1], activations[-1], y, output)
        nabla_b[-1] = delta
        nabla_w[-1] = np.dot(delta, activations[-2].transpose())
        for l in range(2, self.num_layers):
            z = zs[-l]
            sp = self._activation(self.num_layers - l).prime(z)
            if masks is not None:
                sp = sp * masks[-l + 1]
            delta = np.dot(self.weights[-l + 1].transpose(), delta) * sp
            nabla_b[-l] = delta
            nabla_w[-l] = np.dot(delta, activations[-l - 1].transpose())
        return nabla_b, nabla_w

    def _bias_gradient_sum(self, data: Arrays) -> list[np.ndarray]:
        total = [np.zeros(b.shape, self.dtype) for b in self.biases]
        for x, y in zip(data.X, data.Y):
            nabla_b, _ = self._backprop(x.reshape(-1, 1), y.reshape(-1, 1), None)
            total = [t + nb for t, nb in zip(total, nabla_b)]
        return total

    def _evaluate(self, data: Arrays) -> tuple[float, int]:
        cost_sum, correct = 0.0, 0
        with np.errstate(over="ignore"):  # a saturated float32 output's cost sums to inf: say so, no warning
            for x, y, label in zip(data.X, data.Y, data.labels):
                a = self.feedforward(x.reshape(-1, 1))
                cost_sum += self.cost.fn(a, y.reshape(-1, 1))
                correct += int(np.argmax(a) == label)
        return cost_sum, correct


def load(filename: str | os.PathLike[str]) -> Network:
    """A reference ``Network`` from a file written by ``save`` (or by the book's network2)."""
    return load_into(Network, filename)
