"""When the C++ engine's sparse first layer pays: the automatic choice of ``SGD(sparse_inputs=None)``.

With sparse inputs the first layer keeps its weights input-major for the length of a call and reads
only the nonzero inputs of each example, in the forward product and in the weight gradient
(``cpp/include/nndl/sparse_inputs.hpp``). On the SIMD kernel sets it computes the same numbers as
the dense path, bit for bit, so the choice changes only the time. It saves the products with zero
inputs but pays for gathering the nonzeros and still updates every weight every mini-batch (the
penalty touches each weight), so it pays only when the inputs are mostly zeros and the first layer
is wide enough for the saving to outweigh the gathering.

The width threshold is the crossover measured on this project's machine kind (AMD EPYC, one core,
MNIST: 19% of the pixels nonzero), and it scales with the kernel set's vector: the dense
kernels do a vector of multiply-adds per instruction, the sparse ones a vector of outputs per
nonzero, so the wider the vector the wider the layer must be before skipping zeros pays.
Epoch-time ratios dense / sparse (C++ epochs, the dense path with its hidden-layer kernels,
2026-12-02): AVX2 float64 1.03 and 1.21 at 30 hidden units (m = 10, 100), 1.45 at 100 (m = 10);
AVX2 float32 0.74 at 30, 1.92 at 500; AVX-512 float64 0.68 and 0.72 at 30, 1.06 and 1.11 at 100,
1.36 at 500; AVX-512 float32 0.47 and 0.52 at 30, 0.85 and 0.94 at 100, 1.63 at 500. The crossover
sits between 7 and 8 vectors of outputs; 7 (AVX2: 28 float64, 56 float32 units; AVX-512: 56 and
112) keeps the book's 30-unit float64 layer sparse on AVX2, where it measured 1.03-1.21x. With the
zeros filled in to half the inputs the sparse path lost everywhere (0.47-0.88), and at every input
nonzero by 2-3x.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import DTypeLike

from .training.diagnosis import sample_rows

#: At most this share of nonzero inputs for the sparse path to be chosen (it won at 0.19, lost at 0.5).
MAX_DENSITY = 0.3
#: First layers narrower than this many vectors of the kernel set stay dense.
MIN_WIDTH_IN_VECTORS = 7
#: Bytes per vector of each kernel set (the scalar set: one value).
VECTOR_BYTES = {"avx512": 64, "avx2": 32, "baseline": 16}
#: Rows of the training inputs sampled to measure their density.
DENSITY_SAMPLE_ROWS = 1000
#: The sparse path gathers each mini-batch's nonzeros into mini_batch_size x n_in slots (an index
#: and a value each), and again as many sorted by input: the automatic choice stays dense when those
#: would take more than this, so that full-batch gradient descent on a large set does not allocate
#: copies of it.
MAX_GATHER_BYTES = 64 * 2**20


def input_density(X: np.ndarray) -> float:
    """The share of nonzero values in a sample of the rows of X (at most ``DENSITY_SAMPLE_ROWS``)."""
    sample = sample_rows(X, DENSITY_SAMPLE_ROWS)
    return float(np.count_nonzero(sample)) / max(1, sample.size)


def gather_bytes(mini_batch_size: int, n_in: int, dtype: DTypeLike) -> int:
    """The sparse path's slots for one mini-batch: gathered by example and sorted by input, each an
    int32 index and a value per input."""
    return 2 * mini_batch_size * n_in * (4 + np.dtype(dtype).itemsize)


def vector_lanes(dtype: DTypeLike, kernel_set: str) -> int:
    """Values of ``dtype`` per vector of the named kernel set (``nndl.simd_info()["path"]``)."""
    itemsize = np.dtype(dtype).itemsize
    return max(1, VECTOR_BYTES.get(kernel_set, itemsize) // itemsize)


def sparse_inputs_pay(
    density: float, first_layer_width: int, dtype: DTypeLike, mini_batch_size: int, n_in: int, kernel_set: str
) -> bool:
    """Whether the sparse first layer is expected to be faster than the dense one (and small), on
    the named kernel set."""
    if density > MAX_DENSITY or gather_bytes(mini_batch_size, n_in, dtype) > MAX_GATHER_BYTES:
        return False
    return first_layer_width >= MIN_WIDTH_IN_VECTORS * vector_lanes(dtype, kernel_set)
