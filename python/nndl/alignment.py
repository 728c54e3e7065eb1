"""Arrays whose data starts on a 64-byte boundary (a cache line, and one AVX-512 vector).

numpy aligns its large allocations to 16 bytes. The C++ kernels load whole vectors from every
row of the weights and of the inputs; a row that starts 16 bytes past a cache line makes every
64-byte load straddle two lines. Measured on this project's AVX-512 machine with the data in
cache, that made the forward pass of a mini-batch of 10 (784-30-10, float64) 12% slower (5.7 us
against 5.1) and the fused gradient+update 13% slower (7.6 us against 6.7). MNIST's rows (784
float64 or float32 numbers) are a whole number of cache lines long, so aligning the start of an
array aligns every row. The engine's own buffers are aligned the same way
(cpp/include/nndl/cache_line_vector.hpp), and so are the training state's arrays made here.
"""

from __future__ import annotations

import numpy as np

ALIGNMENT = 64


def aligned_empty(shape: int | tuple[int, ...], dtype: np.dtype | type) -> np.ndarray:
    """An uninitialized C-contiguous array of ``shape`` and ``dtype`` starting on a 64-byte boundary."""
    dtype = np.dtype(dtype)
    count = int(np.prod(shape, dtype=np.int64))
    raw = np.empty(count * dtype.itemsize + ALIGNMENT, dtype=np.uint8)
    start = (-raw.ctypes.data) % ALIGNMENT
    return raw[start : start + count * dtype.itemsize].view(dtype).reshape(shape)


def aligned_zeros(shape: int | tuple[int, ...], dtype: np.dtype | type) -> np.ndarray:
    out = aligned_empty(shape, dtype)
    out[...] = 0
    return out


def aligned_copy(a: np.ndarray, dtype: np.dtype | type | None = None) -> np.ndarray:
    """A C-contiguous copy of ``a`` (as ``dtype``, if given) starting on a 64-byte boundary."""
    out = aligned_empty(a.shape, a.dtype if dtype is None else dtype)
    out[...] = a
    return out


def is_aligned(a: np.ndarray) -> bool:
    return a.ctypes.data % ALIGNMENT == 0


def aligned_require(a: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """``a`` as a C-contiguous array of ``dtype``: ``a`` itself when it already is one, else an
    aligned copy (a copy is made anyway, so it may as well be aligned)."""
    if a.dtype == dtype and a.flags.c_contiguous and a.flags.aligned:
        return np.require(a, dtype=dtype, requirements=["C", "A"])  # no copy; the dtype made canonical (memmaps)
    return aligned_copy(a, dtype)
