"""When the C++ engine's sparse first layer pays: the automatic choice of ``SGD(sparse_inputs=None)``.

With sparse inputs the first layer keeps its weights input-major for the length of a call and reads
only the nonzero inputs of each example, in the forward product and in the weight gradient
(``cpp/include/nndl/sparse_inputs.hpp``). On the SIMD kernel sets it computes the same numbers as
the dense path, bit for bit, so the choice changes only the time. It saves the products with zero
inputs but pays for gathering the nonzeros and still updates every weight every mini-batch (the
penalty touches each weight), so it pays only when the inputs are mostly zeros and the first layer
is wide enough for the saving to outweigh the gathering.

The thresholds are the crossover measured on this project's machine (AMD EPYC Zen 4, AVX2, one
core; ``benchmarks/sparse_inputs.py``) on MNIST, whose images are 19% nonzero: float64 gained at
every width (1.2x at 30 hidden units, 1.5x at 100), float32 lost at 30 units (0.8x), where a
vector holds twice as many weights and the dense kernels are correspondingly cheaper, and gained
from 100 units (1.1-1.2x).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import DTypeLike

from .training.diagnosis import sample_rows

#: At most this share of nonzero inputs for the sparse path to be chosen.
MAX_DENSITY = 0.5
#: float32 first layers narrower than this stay dense (float64: any width).
MIN_FLOAT32_WIDTH = 64
#: Rows of the training inputs sampled to measure their density.
DENSITY_SAMPLE_ROWS = 1000


def input_density(X: np.ndarray) -> float:
    """The share of nonzero values in a sample of the rows of X (at most ``DENSITY_SAMPLE_ROWS``)."""
    sample = sample_rows(X, DENSITY_SAMPLE_ROWS)
    return float(np.count_nonzero(sample)) / max(1, sample.size)


def sparse_inputs_pay(density: float, first_layer_width: int, dtype: DTypeLike) -> bool:
    """Whether the sparse first layer is expected to be faster than the dense one."""
    if density > MAX_DENSITY:
        return False
    return np.dtype(dtype) == np.float64 or first_layer_width >= MIN_FLOAT32_WIDTH
