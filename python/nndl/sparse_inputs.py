"""When the C++ engine's sparse first layer pays: the automatic choice of ``SGD(sparse_inputs=None)``.

With sparse inputs the first layer keeps its weights input-major for the length of a call and reads
only the nonzero inputs of each example, in the forward product and in the weight gradient
(``cpp/include/nndl/sparse_inputs.hpp``). On the SIMD kernel sets it computes the same numbers as
the dense path, bit for bit, so the choice changes only the time. It saves the products with zero
inputs but pays for gathering the nonzeros and still updates every weight every mini-batch (the
penalty touches each weight), so it pays only when the inputs are mostly zeros and the first layer
is wide enough for the saving to outweigh the gathering.

The width threshold is the crossover measured on this project's machine kind (AMD EPYC Zen 4, one
core, MNIST: 19% of the pixels nonzero, L1 subgradient, epochs of 50,000 images), counted in vectors
of outputs of the kernel set in use: the dense kernels do a vector of multiply-adds per
instruction, the sparse ones a vector of outputs per nonzero, so the wider the vector the wider the
layer must be before skipping zeros pays. Epoch-time ratios dense / sparse, m = 10 and 100, the
range over runs of ``benchmarks/sparse_inputs.py`` and of the same epochs with the two paths
alternating in one process (2026-12-04, after the AVX-512 gather packed whole tiles and the sort by
input became one pass), the outputs' vectors in brackets:

- AVX-512 float64: 30 units [4] 0.97-1.12; 60 [8] 0.99-1.20; 100 [13] 1.27-1.37. float32: 30 [2]
  0.77-0.88; 60 [4] 0.94-1.09; 100 [7] 1.06-1.14. At 4 vectors the two paths were within the
  machine's noise of each other; from 7 sparse was ahead in every run: the threshold was 5.
- AVX-512 again (2026-12-04, after the sparse forward product took the lane groups outermost), the
  best of 5 alternating rounds, twice: float64 30 [4] 1.07-1.16 on one core and 1.05-1.06 on two
  (m = 10 and 100); 60 [8] 1.29-1.34; float32 30 [2] 0.76-0.87; 60 [4] 1.02-1.07. Sparse is now ahead
  at 4 vectors in every run: the threshold is 4, and the book's 30 float64 units go sparse (the same
  bits either way).
- AVX2 (the same machine, ``NNDL_SIMD=avx2``; its gather writes lane by lane): float64 30 [8]
  1.01-1.21; float32 30 [4] 0.85-0.96; 60 [8] 1.01-1.18; 100 [13] 1.32 (m = 100): 7, as measured
  before (2026-12-02) on an AVX2 path.

With the zeros filled in to half the inputs the sparse path lost everywhere (0.47-0.88, 2026-12-02),
and at every input nonzero by 2-3x.

Those are epochs in which the nonzeros are gathered from the rows. In an SGD call of several epochs
on 8-bit pixel data (MNIST), the epochs after the first read them from the input cache instead
(``cpp/include/nndl/input_cache.hpp``), and the sparse path pays at narrower layers. Measured
2026-12-05 (AVX-512, one core, epochs 2-4 of a 4-epoch call, dense / sparse): at m = 100, float32 30
units [2] 1.26 (784-30-10: 0.063 against 0.050 s) and 1.09 (784-30-30-30-10), float64 20 units [3]
1.67; at m = 10, float32 30 units [2] 0.99-1.00. The first epoch, which keeps the nonzeros, cost 30
ms more than a dense one at 784-30-10 float32 m = 100 (0.093 against 0.063 s), so the saving of 13 ms
an epoch repays it from the third epoch: ``KEPT_MIN_OUTPUT_VECTORS`` applies to calls of at least
``KEPT_MIN_EPOCHS`` epochs with mini-batches of at least ``KEPT_MIN_MINI_BATCH``, on pixel data.

The same on AVX2, measured 2026-12-05 on a machine of this project's kind whose guest did not
expose AVX-512 (so ``avx2`` was the kernel set in use, on the hardware it was written for), one
core, SGD calls of 3-4 epochs alternating sparse and dense, best of 3 (dense / sparse, later epochs;
the first epoch's extra cost in brackets): at m = 100, float32 30 units [4] 1.58 (0.062 against
0.097 s; +23 ms) and 1.44 (784-30-30-30-10), float32 24 units [3] 1.24 (+30 ms: about even in a call
of 3 epochs, ahead from the fourth), float64 12 units [3] 1.64 and 20 units [5] 2.23, float32 10
units [2] 0.89; at m = 32, float32 30 units 1.32; at m = 10, float32 30 units 1.20 and float64 20
units 1.36 (+43 and +33 ms). The AVX2 threshold is 3.

Under mini-batch 32 the first epoch's extra cost takes longer to repay. On AVX2 at m = 10 (4-epoch
calls, best of 3): float32 30 units [4] 1.19 (0.091 against 0.108 s, +42 ms), 784-30-30-30-10 1.15
(0.129 against 0.149, +43 ms), float64 12 units [3] 1.16, float32 24 units [3] 0.96. A call of 3
epochs is then about even (784-30-10 float32: 0.332 against 0.325 s in all) and one of 4 ahead
(0.424 against 0.433 s; 30 epochs: 2.8 against 3.2 s): ``KEPT_SMALL_BATCH_MIN_OUTPUT_VECTORS`` applies
from ``KEPT_SMALL_BATCH_MIN_EPOCHS`` epochs. On AVX-512, m = 10 gained nothing at 2 vectors (above).

Then (2026-12-05, AVX2, same machine) the forward product came to read kept examples from the cache
itself, and AVX2 came to gather a tile of 8 vectors at a time (in cache, 10 MNIST rows float32 5.9 ->
2.1 us), and the first epoch cost less. SGD calls of 3 epochs at m = 10, the two paths alternating, 3
rounds, the whole call (first epoch; later epochs): 784-30-10 float32 0.298-0.305 s sparse (0.131-0.135;
0.083-0.085) against 0.311-0.364 dense (0.105-0.124; 0.103-0.120), 784-30-30-30-10 float32 0.404-0.421
(0.165-0.181; 0.119-0.123) against 0.420-0.443 (0.142-0.145; 0.139-0.149). A call of 2 epochs was about
even (0.215 against 0.208 s at 784-30-10). So ``KEPT_SMALL_BATCH_MIN_EPOCHS`` is 3.

On AVX-512 at m = 10, after the sparse update came to skip rows without entries and to read kept
mini-batches as pixel codes (2026-12-06, eighteenth sitting's engine, the first guest with AVX-512
since 2026-12-04): SGD calls of 3 epochs, the two paths alternating, 3 rounds, the later epochs'
dense / sparse and the whole call's seconds sparse against dense (the first epoch cost 33-50 ms
more sparse): float32 20 units [2 vectors] 0.95-0.98 (0.213-0.224 against 0.159-0.164 s), 24 [2]
1.06-1.10 (0.220-0.231 against 0.182-0.192), 26 [2] 1.16-1.17 (0.217-0.227 against 0.197-0.202),
28 [2] 1.23 (0.217-0.230 against 0.211-0.225), 30 [2] 1.27-1.28 (0.214-0.216 against 0.211-0.214;
784-30-30-30-10 1.19, 0.261-0.274 against 0.259-0.264); float64 10 units [2] 1.26-1.28 (0.219-0.221
against 0.200-0.204), 12 [2] 1.32-1.35 (0.219-0.237 against 0.221-0.227), 14 [2] 1.37-1.42
(0.239-0.250 against 0.248-0.259), 20 [3] 1.27-1.28 (0.301-0.306 against 0.310-0.314). The dense
epoch grows with the width, the sparse one hardly within the same count of vectors, and the first
epoch's extra cost is repaid after 1 + extra / saving epochs: about 3 for float32 30 and float64 14
and 20 units, 5 for float32 26, 11 for float32 24, 4-5 for float64 10. So on AVX-512 a call of at
least 3 epochs at m < 32 goes sparse from 2 vectors of outputs that are at least 1.75 vectors' worth
(float32 from 28 units, float64 from 14): ``KEPT_SMALL_BATCH_MIN_FILLED_VECTORS``. Two threads,
float32 m = 10, whole 3-epoch calls: 784-30-10 0.203-0.207 s sparse against 0.218-0.226 dense,
784-30-30-30-10 0.252-0.288 against 0.269-0.270.

The first epoch also pays for the cache's memory as it fills (24 MB for MNIST, in 2 MB pages). On this
guest that was usually 10-25 ms, but in about half the runs of some processes (float64 inputs, 784-16-10
and 784-20-10 at m = 10) 130-170 ms more: memory the host had not yet backed. With 4 KB pages the
first epoch was a steady 15 ms slower than the fast case. The 2 MB pages are kept; a threshold measured
on one guest cannot see every host.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import DTypeLike

from .training.diagnosis import sample_rows

#: At most this share of nonzero inputs for the sparse path to be chosen (it won at 0.19, lost at 0.5).
MAX_DENSITY = 0.3
#: First layers of fewer vectors of outputs than this stay dense, per kernel set (others: 7).
MIN_OUTPUT_VECTORS = {"avx512": 4, "avx2": 7, "baseline": 7}
#: With the input cache (calls of KEPT_MIN_EPOCHS epochs or more, mini-batches of KEPT_MIN_MINI_BATCH or
#: more, 8-bit pixel inputs): the thresholds where they were measured, AVX-512 and AVX2.
KEPT_MIN_OUTPUT_VECTORS = {"avx512": 2, "avx2": 3}
KEPT_MIN_EPOCHS = 3
KEPT_MIN_MINI_BATCH = 32
#: The same under KEPT_MIN_MINI_BATCH, in calls of KEPT_SMALL_BATCH_MIN_EPOCHS epochs or more: where measured.
KEPT_SMALL_BATCH_MIN_OUTPUT_VECTORS = {"avx512": 2, "avx2": 4}
#: ... and, where measured, at least this many vectors' worth of outputs (width / lanes): the sparse
#: kernels cost about the same for any width in the same count of vectors, the dense ones grow with it.
KEPT_SMALL_BATCH_MIN_FILLED_VECTORS = {"avx512": 1.75}
KEPT_SMALL_BATCH_MIN_EPOCHS = 3
#: Bytes per vector of each kernel set (the scalar set: one value).
VECTOR_BYTES = {"avx512": 64, "avx2": 32, "baseline": 16}
#: Test sets and the set each stands for: avx512-on-avx2 is the avx512 kernels' source built for AVX2
#: (``cmake -DNNDL_AVX512_ON_AVX2=ON``), and chooses as avx512 would, so that its runs take avx512's paths.
STANDS_FOR = {"avx512-on-avx2": "avx512"}
#: Rows of the training inputs sampled to measure their density.
DENSITY_SAMPLE_ROWS = 1000
#: The sparse path gathers each mini-batch's nonzeros into mini_batch_size x n_in slots (an index
#: and a value each), and again as many sorted by input: the automatic choice stays dense when those
#: would take more than this, so that full-batch gradient descent on a large set does not allocate
#: copies of it.
MAX_GATHER_BYTES = 64 * 2**20


def kernel_set_modelled(path: str) -> str:
    """The kernel set whose measured thresholds apply to ``path`` (``nndl.simd_info()["path"]``): a
    test set's model (``STANDS_FOR``), any other set itself."""
    return STANDS_FOR.get(path, path)


def input_density(X: np.ndarray) -> float:
    """The share of nonzero values in a sample of the rows of X (at most ``DENSITY_SAMPLE_ROWS``)."""
    sample = sample_rows(X, DENSITY_SAMPLE_ROWS)
    # Counted row by row: the sample is a strided view, which np.count_nonzero over the whole array
    # reads 2-3x slower (1,000 MNIST rows: 2.1 -> 0.7 ms float64, 1.9 -> 0.4 float32), every SGD call.
    return float(np.count_nonzero(sample, axis=1).sum()) / max(1, sample.size)


def pixel_inputs(X: np.ndarray) -> bool:
    """Whether the sampled rows of X look like 8-bit pixels scaled into [0, 1] (every nonzero q/255,
    or every one q/256, for an integer q from 1 to 255), the data whose nonzeros the input cache
    keeps. Approximate (to 1e-6): the engine checks each value's bits itself, and this answer only
    chooses between two paths that give the same numbers."""
    values = sample_rows(X, DENSITY_SAMPLE_ROWS)
    values = values[values != 0].astype(np.float64)
    for scale in (255, 256):
        q = np.rint(values * scale)
        if np.all((q >= 1) & (q <= 255) & (np.abs(values - q / scale) <= 1e-6)):
            return True
    return False


def gather_bytes(mini_batch_size: int, n_in: int, dtype: DTypeLike) -> int:
    """The sparse path's slots for one mini-batch: gathered by example and sorted by input, each an
    int32 index and a value per input."""
    return 2 * mini_batch_size * n_in * (4 + np.dtype(dtype).itemsize)


def vector_lanes(dtype: DTypeLike, kernel_set: str) -> int:
    """Values of ``dtype`` per vector of the named kernel set (``nndl.simd_info()["path"]``)."""
    itemsize = np.dtype(dtype).itemsize
    return max(1, VECTOR_BYTES.get(kernel_set, itemsize) // itemsize)


def output_vectors(width: int, dtype: DTypeLike, kernel_set: str) -> int:
    """Vectors of the named kernel set that ``width`` outputs fill (the sparse kernels' row length)."""
    lanes = vector_lanes(dtype, kernel_set)
    return -(-width // lanes)


def sparse_inputs_pay(
    density: float, first_layer_width: int, dtype: DTypeLike, mini_batch_size: int, n_in: int, kernel_set: str
) -> bool:
    """Whether the sparse first layer is expected to be faster than the dense one (and small), on
    the named kernel set."""
    return density <= MAX_DENSITY and shape_allows_sparse(first_layer_width, dtype, mini_batch_size, n_in, kernel_set)


def shape_allows_sparse(
    first_layer_width: int, dtype: DTypeLike, mini_batch_size: int, n_in: int, kernel_set: str
) -> bool:
    """``sparse_inputs_pay``'s conditions on the network and the mini-batch alone: wide enough a first
    layer, small enough a gather."""
    if gather_bytes(mini_batch_size, n_in, dtype) > MAX_GATHER_BYTES:
        return False
    return output_vectors(first_layer_width, dtype, kernel_set) >= MIN_OUTPUT_VECTORS.get(kernel_set, 7)


def sparse_inputs_pay_on(
    X: np.ndarray,
    first_layer_width: int,
    dtype: DTypeLike,
    mini_batch_size: int,
    n_in: int,
    kernel_set: str,
    epochs: int = 1,
) -> bool:
    """``sparse_inputs_pay`` for the inputs X (rows), their density measured only when the shape
    allows the sparse path: the sample costs 0.4-0.7 ms per SGD call (1,000 MNIST rows), about a
    hundredth of a 784-30-10 float32 epoch at mini-batch 100, where the answer is dense whatever it
    says. In a call of ``epochs`` epochs the input cache may lower the width threshold
    (``KEPT_MIN_OUTPUT_VECTORS``, and ``KEPT_SMALL_BATCH_MIN_OUTPUT_VECTORS`` for small mini-batches),
    for pixel data."""
    if shape_allows_sparse(first_layer_width, dtype, mini_batch_size, n_in, kernel_set):
        return input_density(X) <= MAX_DENSITY
    filled = 0.0
    if mini_batch_size >= KEPT_MIN_MINI_BATCH:
        kept, min_epochs = KEPT_MIN_OUTPUT_VECTORS.get(kernel_set), KEPT_MIN_EPOCHS
    else:
        kept, min_epochs = KEPT_SMALL_BATCH_MIN_OUTPUT_VECTORS.get(kernel_set), KEPT_SMALL_BATCH_MIN_EPOCHS
        filled = KEPT_SMALL_BATCH_MIN_FILLED_VECTORS.get(kernel_set, 0.0)
    if (
        kept is None
        or epochs < min_epochs
        or gather_bytes(mini_batch_size, n_in, dtype) > MAX_GATHER_BYTES
        or output_vectors(first_layer_width, dtype, kernel_set) < kept
        or first_layer_width < filled * vector_lanes(dtype, kernel_set)
    ):
        return False
    return input_density(X) <= MAX_DENSITY and pixel_inputs(X)
