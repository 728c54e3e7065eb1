"""When the C++ engine's sparse first layer pays: the automatic choice of ``SGD(sparse_inputs=None)``.

With sparse inputs the first layer keeps its weights input-major for the length of a call and reads
only the nonzero inputs of each example, in the forward product and in the weight gradient
(``cpp/include/nndl/sparse_inputs.hpp``). On the SIMD kernel sets it computes the same numbers as
the dense path, bit for bit, so the choice changes only the time. It saves the products with zero
inputs but pays for gathering the nonzeros and still updates every weight every mini-batch (the
penalty touches each weight), so it pays only when the inputs are mostly zeros and the first layer
is wide enough for the saving to outweigh the gathering.

The thresholds are the crossover measured on this project's machine (AMD EPYC Zen 4 with the AVX2
kernels, one core; ``python benchmarks/sparse_inputs.py``, 2026-12-02). On MNIST (19% of the pixels
nonzero) the epoch-time ratios dense / sparse were: float64 0.98 and 1.27 at 30 hidden units (m =
10, 100), 1.35 and 1.70 at 100; float32 0.87 and 0.79 at 30 units (a vector holds twice as many
weights, so the dense kernels are cheaper and gathering costs relatively more), 1.09 and 1.15 at 100.
With the zeros filled in to half the inputs the sparse path lost everywhere (0.47-0.88), and at
every input nonzero by 2-3x.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import DTypeLike

from .training.diagnosis import sample_rows

#: At most this share of nonzero inputs for the sparse path to be chosen (it won at 0.19, lost at 0.5).
MAX_DENSITY = 0.3
#: float32 first layers narrower than this stay dense (float64: any width).
MIN_FLOAT32_WIDTH = 64
#: Rows of the training inputs sampled to measure their density.
DENSITY_SAMPLE_ROWS = 1000
#: The sparse path gathers each mini-batch's nonzeros into mini_batch_size x n_in slots (an index
#: and a value each): the automatic choice stays dense when those would take more than this, so
#: that full-batch gradient descent on a large set does not allocate a copy of it.
MAX_GATHER_BYTES = 64 * 2**20


def input_density(X: np.ndarray) -> float:
    """The share of nonzero values in a sample of the rows of X (at most ``DENSITY_SAMPLE_ROWS``)."""
    sample = sample_rows(X, DENSITY_SAMPLE_ROWS)
    return float(np.count_nonzero(sample)) / max(1, sample.size)


def gather_bytes(mini_batch_size: int, n_in: int, dtype: DTypeLike) -> int:
    """The sparse path's gathering slots for one mini-batch (int32 index and value per input)."""
    return mini_batch_size * n_in * (4 + np.dtype(dtype).itemsize)


def sparse_inputs_pay(
    density: float, first_layer_width: int, dtype: DTypeLike, mini_batch_size: int, n_in: int
) -> bool:
    """Whether the sparse first layer is expected to be faster than the dense one (and small)."""
    if density > MAX_DENSITY or gather_bytes(mini_batch_size, n_in, dtype) > MAX_GATHER_BYTES:
        return False
    return np.dtype(dtype) == np.float64 or first_layer_width >= MIN_FLOAT32_WIDTH
