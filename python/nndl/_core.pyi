# Generated from the built nndl._core by tools/generate_core_stub.py (pybind11-stubgen); do not edit.
"""
nndl's C++ engine: matrix-form backprop and the regularized mini-batch update
"""
from __future__ import annotations
import collections.abc
import numpy
import typing
__all__: list[str] = ['Architecture', 'Dropout', 'LayerSpec', 'LayerStack', 'SparseInputCache', 'StackTrainState', 'TrainState', 'UpdateRule', 'backprop', 'cross_core_round_trip_ns', 'dropout_uniform', 'evaluate', 'feedforward', 'fma_peak_gflops', 'get_num_threads', 'set_num_threads', 'set_simd', 'simd_info', 'stack_backprop', 'stack_evaluate', 'stack_feedforward', 'train_minibatches', 'train_stack_minibatches']
class Architecture:
    def __init__(self, sizes: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], activations: collections.abc.Sequence[str], cost: str) -> None:
        ...
    def bias_offset(self, layer: typing.SupportsInt | typing.SupportsIndex) -> int:
        ...
    def weight_offset(self, layer: typing.SupportsInt | typing.SupportsIndex) -> int:
        ...
    @property
    def num_params(self) -> int:
        ...
    @property
    def sizes(self) -> list[int]:
        ...
class UpdateRule:
    def __init__(self, regularization: str, l1_method: str, eta: typing.SupportsFloat | typing.SupportsIndex, lmbda: typing.SupportsFloat | typing.SupportsIndex, l1_ratio: typing.SupportsFloat | typing.SupportsIndex, n: typing.SupportsInt | typing.SupportsIndex, momentum: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
class Dropout:
    def __init__(self, p: typing.SupportsFloat | typing.SupportsIndex, key: typing.SupportsInt | typing.SupportsIndex, per_mini_batch: bool = False) -> None:
        ...
class TrainState:
    ema_started: bool
    l1_applied: numpy.ndarray | None
    update_ema_weights: numpy.ndarray | None
    velocity: numpy.ndarray | None
    def __init__(self) -> None:
        ...
    @property
    def ema_tau(self) -> float:
        ...
    @ema_tau.setter
    def ema_tau(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def l1_total(self) -> float:
        ...
    @l1_total.setter
    def l1_total(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def step(self) -> int:
        ...
    @step.setter
    def step(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def update_ema(self) -> float:
        ...
    @update_ema.setter
    def update_ema(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
class SparseInputCache:
    def __init__(self, max_bytes: typing.SupportsInt | typing.SupportsIndex = 33554432) -> None:
        """
        The nonzero inputs one SGD call keeps of its training set (8-bit pixel data only), at most
        max_bytes of them: train_minibatches' input_cache.
        """
    @property
    def bytes_used(self) -> int:
        ...
    @property
    def examples_kept(self) -> int:
        ...
    @property
    def max_bytes(self) -> int:
        ...
    @property
    def scale(self) -> int:
        """
        The codes' scale (255 or 256: pixels q/255 or q/256), 0 when none was found.
        """
class LayerSpec:
    def __init__(self, kind: str, activation: str, image: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex] = [], filters: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex] = [], pool: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex] = [], n_in: typing.SupportsInt | typing.SupportsIndex = 0, n_out: typing.SupportsInt | typing.SupportsIndex = 0, p_dropout: typing.SupportsFloat | typing.SupportsIndex = 0.0) -> None:
        ...
    @property
    def in_size(self) -> int:
        ...
    @property
    def out_size(self) -> int:
        ...
class LayerStack:
    def __init__(self, layers: collections.abc.Sequence[LayerSpec]) -> None:
        ...
    def bias_offset(self, layer: typing.SupportsInt | typing.SupportsIndex) -> int:
        ...
    def weight_offset(self, layer: typing.SupportsInt | typing.SupportsIndex) -> int:
        ...
    @property
    def classes(self) -> int:
        ...
    @property
    def in_size(self) -> int:
        ...
    @property
    def num_params(self) -> int:
        ...
class StackTrainState:
    ema_started: bool
    l1_applied: numpy.ndarray | None
    velocity: numpy.ndarray | None
    def __init__(self) -> None:
        ...
    @property
    def ema_tau(self) -> float:
        ...
    @ema_tau.setter
    def ema_tau(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def l1_total(self) -> float:
        ...
    @l1_total.setter
    def l1_total(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def step(self) -> int:
        ...
    @step.setter
    def step(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def update_ema(self) -> float:
        ...
    @update_ema.setter
    def update_ema(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
def backprop(arch: Architecture, params: numpy.ndarray, X: numpy.ndarray, Y: numpy.ndarray) -> numpy.ndarray:
    """
    Gradient of the cost summed over the rows of X, laid out as params.
    """
def cross_core_round_trip_ns(rounds: typing.SupportsInt | typing.SupportsIndex = 20000, batches: typing.SupportsInt | typing.SupportsIndex = 5) -> float:
    """
    Nanoseconds of one cache line's round trip between the first two CPUs this process may run on (the fastest of `batches` batches of `rounds`); NaN with fewer than two.
    """
def dropout_uniform(key: typing.SupportsInt | typing.SupportsIndex, step: typing.SupportsInt | typing.SupportsIndex, example: typing.SupportsInt | typing.SupportsIndex, layer: typing.SupportsInt | typing.SupportsIndex, unit: typing.SupportsInt | typing.SupportsIndex) -> float:
    """
    The counter-based uniform draw behind dropout masks (for tests).
    """
def evaluate(arch: Architecture, params: numpy.ndarray, X: numpy.ndarray, Y: numpy.ndarray | None = None, labels: numpy.ndarray | None = None) -> tuple[float, int, int]:
    """
    (sum of the cost over the examples, number classified correctly, first row of X with a NaN or an
    infinity or -1; the sums mean nothing unless it is -1).
    """
def feedforward(arch: Architecture, params: numpy.ndarray, X: numpy.ndarray) -> numpy.ndarray:
    """
    Output activations (k, n_out).
    """
def fma_peak_gflops(dtype: typing.Any, seconds: typing.SupportsFloat | typing.SupportsIndex = 0.2) -> float:
    """
    GFLOP/s of a loop of independent multiply-adds on one core with the active kernel set (the practical peak the benchmark compares to).
    """
def get_num_threads() -> int:
    """
    Threads for large mini-batches and evaluation, the caller included.
    """
def set_num_threads(n: typing.SupportsInt | typing.SupportsIndex) -> None:
    """
    Threads for large mini-batches and evaluation, the caller included.
    """
def set_simd(name: str) -> None:
    """
    Use the named kernel set ('scalar', 'baseline', 'avx2', 'avx512') from now on.
    """
def simd_info() -> dict[str, typing.Any]:
    """
    {'path': the kernel set in use, 'available': sets this CPU can run (lowest first), 'compiled': sets in this build, 'requested': the NNDL_SIMD environment variable or None}.
    """
def stack_backprop(stack: LayerStack, params: numpy.ndarray, X: numpy.ndarray, labels: numpy.ndarray) -> tuple[numpy.ndarray, list[numpy.ndarray]]:
    """
    (gradient of the log-likelihood cost summed over the rows of X laid out as params, [each layer's
    outputs (rows, out_size)]); no dropout, no penalty.
    """
def stack_evaluate(stack: LayerStack, params: numpy.ndarray, X: numpy.ndarray, labels: numpy.ndarray) -> tuple[float, int, int]:
    """
    (summed log-likelihood cost, number correct, first row of X with a NaN or an infinity or -1).
    """
def stack_feedforward(stack: LayerStack, params: numpy.ndarray, X: numpy.ndarray) -> numpy.ndarray:
    """
    Output probabilities (k, classes) of finite inputs X, no dropout.
    """
def train_minibatches(arch: Architecture, params: numpy.ndarray, X: numpy.ndarray, Y: numpy.ndarray, order: numpy.ndarray, mini_batch_size: typing.SupportsInt | typing.SupportsIndex, batch_begin: typing.SupportsInt | typing.SupportsIndex, batch_end: typing.SupportsInt | typing.SupportsIndex, rule: UpdateRule, dropout: Dropout, state: TrainState, sparse_inputs: bool = False, input_cache: SparseInputCache | None = None) -> tuple[int, bool, int]:
    """
    Train mini-batches [batch_begin, batch_end) of one epoch in place; returns (batches_done, diverged,
    nonfinite_position): the position in order of an example with NaN or infinite inputs (its mini-batch
    not trained), or -1. sparse_inputs: the first layer reads only nonzero inputs (the same numbers on
    the SIMD kernel sets, less arithmetic when most inputs are exact zeros). input_cache: where the
    sparse first layer keeps the nonzeros it gathers of X, for the later calls of one SGD call.
    """
def train_stack_minibatches(stack: LayerStack, params: numpy.ndarray, X: numpy.ndarray, labels: numpy.ndarray, order: numpy.ndarray, mini_batch_size: typing.SupportsInt | typing.SupportsIndex, batch_begin: typing.SupportsInt | typing.SupportsIndex, batch_end: typing.SupportsInt | typing.SupportsIndex, rule: UpdateRule, dropout_key: typing.SupportsInt | typing.SupportsIndex, state: StackTrainState) -> tuple[int, bool, int]:
    """
    Train mini-batches [batch_begin, batch_end) of one epoch in place; returns (batches_done, diverged,
    nonfinite_position) as train_minibatches does.
    """
