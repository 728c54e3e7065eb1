"""Counter-based dropout masks, the same numbers as the C++ engine draws.

Unit ``j`` of hidden layer ``l`` is dropped for example ``i`` of mini-batch number ``step`` when
``uniform(key, step, i, l, j) < p``; kept units are scaled by ``1/(1-p)`` ("inverted dropout"), so
the trained network is used at full size with no change. The book instead trains with units
dropped unscaled and halves the outgoing weights afterwards (for p = 1/2); both make the expected
input of the next layer the same in training and in use.
"""

from __future__ import annotations

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MUL1 = np.uint64(0xBF58476D1CE4E5B9)
_MUL2 = np.uint64(0x94D049BB133111EB)


def _mix(z: np.ndarray) -> np.ndarray:
    """SplitMix64's finalizer (Steele, Lea and Flood, OOPSLA 2014), on uint64 arrays (wrapping)."""
    z = z + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _MUL1
    z = (z ^ (z >> np.uint64(27))) * _MUL2
    mixed: np.ndarray = z ^ (z >> np.uint64(31))
    return mixed


def dropout_uniform(key: int, step: int, example: int, layer: int, units: np.ndarray) -> np.ndarray:
    """Uniform draws in [0, 1) for the given units (an int array)."""
    h = _mix(np.full(1, key, dtype=np.uint64) ^ np.uint64(step))
    h = _mix(h ^ np.uint64(example))
    h = _mix(h ^ np.uint64(layer))
    h = _mix(h ^ np.asarray(units, dtype=np.uint64))
    uniform: np.ndarray = (h >> np.uint64(11)).astype(np.float64) * 2.0**-53
    return uniform


def dropout_factors(p: float, key: int, step: int, example: int, layer: int, width: int) -> np.ndarray:
    """A ``(width, 1)`` column of 0 (dropped) or 1/(1-p) (kept) for one example's hidden layer."""
    kept = dropout_uniform(key, step, example, layer, np.arange(width)) >= p
    return np.where(kept, 1.0 / (1.0 - p), 0.0).reshape(width, 1)
