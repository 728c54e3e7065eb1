"""``nndl.Network``: the book's network2 API, computed by the C++ engine.

The parameters live in one contiguous numpy buffer (per layer: weights, then biases).
``net.weights[l]`` and ``net.biases[l]`` are views into it, shaped as in the book, so in-place
edits (``net.weights[0][:, :5] = 0``) change the network and C++ updates it with no copies.
Replacing a list element (``net.weights[0] = w``) or the whole list also works: the new values
are copied into the buffer before the next computation.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Optional

import numpy as np

from . import _core
from .alignment import aligned_copy, aligned_zeros
from .checks import check_real
from .data.arrays import Arrays, checked_inputs, to_arrays
from .network_base import NetworkBase
from .network_file import load_into
from .regularization import UpdateOptions
from .sparse_inputs import kernel_set_modelled, sparse_inputs_pay_on
from .training.errors import DivergenceError, NonFiniteInput
from .training.guard import exclusive
from .training.sgd import TrainingRun

# Mini-batches per call into C++: small enough that Ctrl-C and progress reports come within a
# fraction of a second, large enough that the per-call cost does not show. That cost grows with the
# network: each call snapshots the parameters (to restore them if a step diverges), and the sparse
# first layer transposes its weights in and out. The work of an example grows with the parameters
# too: WORK_PER_CHUNK example-parameters is ~0.1 s at the ~1e10 per second the engine reaches, so
# big networks get fewer examples per call (never less than a mini-batch). With 1e8 (tuned when
# the engine did ~1e9) 784-500-10 float32 trained 2 mini-batches of 100 per call and its sparse
# epoch took 1.03 s instead of 0.39 s (AVX-512, 2026-12-02).
EXAMPLES_PER_CHUNK = 10_000
WORK_PER_CHUNK = 1_000_000_000
# The sparse first layer's set-up per call (transposing the first layer in and out, ~5 ns per
# weight) costs as much as ~250 examples of its training: at least this many examples per call
# keep it under a few percent.
SPARSE_MIN_EXAMPLES_PER_CHUNK = 5_000


# What _snapshot saves and _restore puts back: parameters, velocity, l1_applied, l1_total, step,
# update_ema, ema_started. (Optional, not `| None`: an alias is evaluated at run time, also on 3.9.)
_Snapshot = tuple[np.ndarray, Optional[np.ndarray], Optional[np.ndarray], float, int, float, bool, Optional[np.ndarray]]


class Network(NetworkBase):
    """The book's ``Network``, trained by the C++ engine (``nndl._core``).

    SGD trains whole chunks of mini-batches in C++, so a subclass that overrides
    ``update_mini_batch`` or ``backprop`` is refused (TypeError) rather than silently not called:
    subclass ``nndl.reference.Network`` to try a rule of your own (docs/l1_from_the_book.md).
    """

    public_name = "nndl.Network"
    engine = "c++"
    checks_inputs_while_training = True  # train_minibatches checks each mini-batch's rows as it reads them
    checks_inputs_while_evaluating = True  # and evaluate each block's

    def _allocate(self) -> None:
        self._arch = _core.Architecture(self.sizes, self.activations, self.cost.name)
        self._params = aligned_zeros(self._arch.num_params, self.dtype)  # whole-vector rows, see alignment.py
        self._weight_views = []
        self._bias_views = []
        for l, (x, y) in enumerate(zip(self.sizes[:-1], self.sizes[1:]), start=1):
            w0, b0 = self._arch.weight_offset(l), self._arch.bias_offset(l)
            self._weight_views.append(self._params[w0 : w0 + x * y].reshape(y, x))
            self._bias_views.append(self._params[b0 : b0 + y].reshape(y, 1))
        self._weights = list(self._weight_views)
        self._biases = list(self._bias_views)
        self._state = _core.TrainState()
        self._reset_training_state()

    def _reset_training_state(self) -> None:
        self._state.velocity = None
        self._state.l1_applied = None
        self._state.l1_total = 0.0
        self._state.update_ema = 0.0
        self._state.ema_started = False
        self._state.update_ema_weights = None

    # -- parameters: lists of views into one buffer ---------------------------------------------
    @property
    def weights(self) -> list[np.ndarray]:
        return self._weights

    @weights.setter
    def weights(self, values: list[np.ndarray]) -> None:
        self._weights = list(values)
        self._sync_parameters()

    @property
    def biases(self) -> list[np.ndarray]:
        return self._biases

    @biases.setter
    def biases(self, values: list[np.ndarray]) -> None:
        self._biases = list(values)
        self._sync_parameters()

    def _sync_parameters(self) -> None:
        """Copy any array the user put in place of a view into the buffer, and restore the view."""
        for name, current, views in (
            ("weights", self._weights, self._weight_views),
            ("biases", self._biases, self._bias_views),
        ):
            if len(current) != len(views):
                raise ValueError(f"{name}: expected {len(views)} arrays, got {len(current)}")
            for l, (value, view) in enumerate(zip(current, views)):
                if value is view:
                    continue
                value = np.asarray(value)
                if value.shape != view.shape:
                    raise ValueError(f"{name}[{l}]: expected shape {view.shape}, got {value.shape}")
                view[...] = value
                current[l] = view

    def _parameters(self) -> np.ndarray:
        self._sync_parameters()
        return self._params

    # -- computation ----------------------------------------------------------------------------
    @exclusive
    def feedforward(self, a: np.ndarray) -> np.ndarray:
        """The output for ``a``: a ``(n_in, 1)`` column as in the book gives a column, one flat
        vector or image gives ``(n_out,)``, rows ``(k, n_in)`` or k images give ``(k, n_out)``."""
        X, form = self._input_rows(a)
        out = _core.feedforward(self._arch, self._parameters(), np.ascontiguousarray(X, dtype=self.dtype))
        return self._output_as(out, form)

    @exclusive
    def backprop(self, x: np.ndarray, y: Any) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """``(nabla_b, nabla_w)``: the gradient of the cost of one example, layer by layer."""
        x = checked_inputs("x", x, self.dtype)
        if x.size != self.sizes[0]:
            raise ValueError(f"x: expected {self.sizes[0]} inputs, got shape {x.shape}")
        n_out = self.sizes[-1]
        if isinstance(y, (int, np.integer)) and not isinstance(y, bool):
            if not 0 <= y < n_out:
                raise ValueError(f"y: label {y} is outside [0, {n_out})")
            target = np.zeros((1, n_out), self.dtype)
            target[0, y] = 1
        else:
            target = checked_inputs("y", y, self.dtype)
            if target.size != n_out:
                raise ValueError(f"y: expected {n_out} target values or an integer label, got shape {target.shape}")
            target = np.ascontiguousarray(target.reshape(1, n_out), dtype=self.dtype)
        X = np.ascontiguousarray(x.reshape(1, -1), dtype=self.dtype)
        grad = _core.backprop(self._arch, self._parameters(), X, target)
        return self._split(grad)

    def _first_layer_reads_sparse(
        self, X: np.ndarray, requested: bool | None, mini_batch_size: int, epochs: int = 1
    ) -> bool:
        if requested is not None:
            return requested
        kernel_set = kernel_set_modelled(_core.simd_info()["path"])
        return sparse_inputs_pay_on(X, self.sizes[1], self.dtype, mini_batch_size, self.sizes[0], kernel_set, epochs)

    def _layer_outputs(self, X: np.ndarray) -> list[np.ndarray]:
        # One layer at a time, each as a one-layer network over its slice of the parameter buffer
        # (a layer's weights are followed by its biases there): the engine's forward kernels, no copy.
        params = self._parameters()
        outputs = []
        a = np.ascontiguousarray(X, dtype=self.dtype)
        for l, act in enumerate(self.activations, start=1):
            n_in, n_out = self.sizes[l - 1], self.sizes[l]
            layer = _core.Architecture([n_in, n_out], [act], "log_likelihood" if act == "softmax" else "quadratic")
            first = self._arch.weight_offset(l)
            a = _core.feedforward(layer, params[first : first + n_out * n_in + n_out], a)
            outputs.append(a)
        return outputs

    def _bias_gradient_sum(self, data: Arrays) -> list[np.ndarray]:
        # The core's backprop sums the gradient over the rows it is given.
        return self._split(_core.backprop(self._arch, self._parameters(), data.X, data.Y))[0]

    def _split(self, flat: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """A buffer laid out as the parameters, as (biases, weights) lists of views."""
        nabla_b, nabla_w = [], []
        for l, (x, y) in enumerate(zip(self.sizes[:-1], self.sizes[1:]), start=1):
            w0, b0 = self._arch.weight_offset(l), self._arch.bias_offset(l)
            nabla_w.append(flat[w0 : w0 + x * y].reshape(y, x))
            nabla_b.append(flat[b0 : b0 + y].reshape(y, 1))
        return nabla_b, nabla_w

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
        """One step of gradient descent on ``mini_batch``; ``n`` is the training-set size."""
        opts = UpdateOptions.checked(eta, lmbda, n, regularization, l1_method, l1_ratio, momentum)
        dropout = check_real("dropout", dropout, low=0.0, high=1.0, high_inclusive=False)
        arrays = to_arrays(mini_batch, self.sizes[0], self.sizes[-1], self.dtype, "mini_batch")
        m = len(arrays)
        order = np.arange(m, dtype=np.int64)
        self._run_chunks(arrays, order, TrainingRun(opts, m, dropout, None, None), epoch=0)

    def _check_overrides(self) -> None:
        # The C++ loop trains whole chunks of mini-batches without returning to Python: a method a
        # subclass overrides would silently not be called. The reference engine calls them as the book.
        for name in ("update_mini_batch", "backprop"):
            if getattr(type(self), name) is not getattr(Network, name):
                raise TypeError(
                    f"{name}: nndl.Network trains in C++ and never calls an overridden {name}; subclass "
                    f"nndl.reference.Network instead, whose SGD calls update_mini_batch and backprop as the book's does"
                )

    def _update_ema_weights_copy(self) -> list[np.ndarray]:
        ema = self._state.update_ema_weights
        if ema is None:
            return [np.zeros_like(w) for w in self._weight_views]
        return [
            ema[self._arch.weight_offset(l) : self._arch.weight_offset(l) + w.size].reshape(w.shape).copy()
            for l, w in enumerate(self._weight_views, start=1)
        ]

    def _train_epoch(self, train: Arrays, order: np.ndarray, run: TrainingRun, epoch: int) -> float:
        self._run_chunks(train, order.astype(np.int64), run, epoch)
        return self._state.update_ema

    @exclusive
    def _run_chunks(self, data: Arrays, order: np.ndarray, run: TrainingRun, epoch: int) -> None:
        opts, m = run.update, run.mini_batch_size
        params = self._parameters()
        if opts.momentum and self._state.velocity is None:
            self._state.velocity = aligned_zeros(params.shape, params.dtype)
        if opts.l1_method == "cumulative" and opts.l1_lmbda and self._state.l1_applied is None:
            self._state.l1_applied = aligned_zeros(params.shape, params.dtype)
        self._state.ema_tau = run.ema_tau or 0.0
        if run.ema_tau and self._state.update_ema_weights is None:
            self._state.update_ema_weights = aligned_zeros(params.shape, params.dtype)
        rule = _core.UpdateRule(
            opts.regularization, opts.l1_method, opts.eta, opts.lmbda, opts.l1_ratio, opts.n, opts.momentum
        )
        dropout = _core.Dropout(run.dropout, self._dropout_key, run.dropout_masks == "per_mini_batch")
        num_batches = (len(data) + m - 1) // m
        # Kept for the whole SGD call: its later epochs read the kept nonzeros, not the rows.
        cache = run.engine_cache.get("sparse_inputs")
        if cache is None and run.sparse_inputs and run.keep_inputs:
            cache = run.engine_cache["sparse_inputs"] = _core.SparseInputCache()
        examples_per_chunk = min(EXAMPLES_PER_CHUNK, WORK_PER_CHUNK // self._arch.num_params)
        if run.sparse_inputs:
            examples_per_chunk = max(examples_per_chunk, SPARSE_MIN_EXAMPLES_PER_CHUNK)
        per_chunk = max(1, examples_per_chunk // m)

        def train(begin: int, end: int) -> tuple[int, bool, int]:
            return _core.train_minibatches(
                self._arch,
                params,
                data.X,
                data.Y,
                order,
                m,
                begin,
                end,
                rule,
                dropout,
                self._state,
                run.sparse_inputs,
                cache,
            )

        for begin in range(0, num_batches, per_chunk):
            end = min(begin + per_chunk, num_batches)
            snapshot = self._snapshot()
            done, diverged, nonfinite_at = train(begin, end)
            if nonfinite_at >= 0:
                raise NonFiniteInput(int(order[nonfinite_at]))
            if diverged:
                # Replay the chunk up to the mini-batch before the bad one: the network keeps
                # the last finite weights (the draws are counter-based, so the replay is exact).
                bad = begin + done - 1
                self._restore(snapshot)
                if bad > begin:
                    train(begin, bad)
                raise DivergenceError(
                    f"mini-batch {bad} gave non-finite weights; the network keeps the weights from before it. "
                    f"Try a smaller eta (now {opts.eta})."
                )
            if run.progress is not None:
                run.progress(epoch, end, num_batches)

    def _state_before_training(self) -> tuple[_Snapshot, Mapping[str, Any]]:
        return self._snapshot(), self._rng.bit_generator.state

    def _restore_state_before_training(self, saved: tuple[_Snapshot, Mapping[str, Any]]) -> None:
        snapshot, rng_state = saved
        self._restore(snapshot)
        self._rng.bit_generator.state = rng_state

    def _snapshot(self) -> _Snapshot:
        s = self._state
        return (
            self._params.copy(),
            None if s.velocity is None else s.velocity.copy(),
            None if s.l1_applied is None else s.l1_applied.copy(),
            s.l1_total,
            s.step,
            s.update_ema,
            s.ema_started,
            None if s.update_ema_weights is None else s.update_ema_weights.copy(),
        )

    def _restore(self, snapshot: _Snapshot) -> None:
        params, velocity, l1_applied, l1_total, step, ema, started, ema_weights = snapshot
        self._params[...] = params
        s = self._state
        # A buffer saved in the snapshot is still there: training only ever adds buffers to the state.
        if velocity is not None:
            assert s.velocity is not None
            s.velocity[...] = velocity
        if l1_applied is not None:
            assert s.l1_applied is not None
            s.l1_applied[...] = l1_applied
        if ema_weights is not None:
            assert s.update_ema_weights is not None
            s.update_ema_weights[...] = ema_weights
        s.l1_total, s.step, s.update_ema, s.ema_started = l1_total, step, ema, started

    @exclusive
    def _evaluate(self, data: Arrays) -> tuple[float, int]:
        cost_sum, correct, nonfinite_row = _core.evaluate(
            self._arch, self._parameters(), data.X, labels=data.labels, Y=data.Y
        )
        if nonfinite_row >= 0:
            raise NonFiniteInput(int(nonfinite_row))
        return float(cost_sum), int(correct)

    # -- pickling (joblib and Dask ship networks to worker processes) ----------------------------
    def __getstate__(self) -> dict[str, Any]:
        s = self._state
        return {
            "sizes": self.sizes,
            "cost": self.cost.__name__,
            "activations": self.activations,
            "dtype": self.dtype.name,
            "seed": self.seed,
            "params": self._parameters().copy(),
            "rng": self._rng.bit_generator.state,
            "dropout_key": self._dropout_key,
            "train_state": (
                None if s.velocity is None else s.velocity.copy(),
                None if s.l1_applied is None else s.l1_applied.copy(),
                s.l1_total,
                s.step,
                s.update_ema,
                s.ema_started,
                None if s.update_ema_weights is None else s.update_ema_weights.copy(),
            ),
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        from .costs import cost_by_name

        Network.__init__(
            self,
            state["sizes"],
            cost=cost_by_name(state["cost"]),
            activation=state["activations"],
            dtype=state["dtype"],
            seed=state["seed"],
        )
        self._params[...] = state["params"]
        self._rng.bit_generator.state = state["rng"]
        self._dropout_key = state["dropout_key"]
        velocity, l1_applied, l1_total, step, ema, started, ema_weights = state["train_state"]
        s = self._state
        # Copied to 64-byte boundaries, as they were made (alignment.py); unpickled arrays are not.
        s.velocity, s.l1_applied, s.update_ema_weights = (
            None if a is None else aligned_copy(a) for a in (velocity, l1_applied, ema_weights)
        )
        s.l1_total, s.step, s.update_ema, s.ema_started = l1_total, step, ema, started

    # dropout counter, shared with the reference engine's attribute of the same meaning
    @property
    def _step(self) -> int:
        return self._state.step


def load(filename: str | os.PathLike[str]) -> Network:
    """A ``Network`` from a file written by ``save`` or by the book's network2.py."""
    return load_into(Network, filename)
