"""Checks of scalar arguments, shared by every API, so that all reject the same input the same way.

Each check raises ValueError (a bad value) or TypeError (a bad type) naming the argument and the
value, before anything is changed.
"""

from __future__ import annotations

import math
import numbers

import numpy as np


def check_real(
    name: str,
    value: object,
    *,
    low: float | None = None,
    low_inclusive: bool = True,
    high: float | None = None,
    high_inclusive: bool = True,
) -> float:
    """A finite real number within the given bounds."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a real number, got {value!r}")
    x = float(value)
    if not math.isfinite(x):
        raise ValueError(f"{name}: must be finite, got {value!r}")
    if low is not None and (x < low or (x == low and not low_inclusive)):
        bound = ">=" if low_inclusive else ">"
        raise ValueError(f"{name}: must be {bound} {low}, got {value!r}")
    if high is not None and (x > high or (x == high and not high_inclusive)):
        bound = "<=" if high_inclusive else "<"
        raise ValueError(f"{name}: must be {bound} {high}, got {value!r}")
    return x


def check_int(name: str, value: object, *, low: int | None = None, high: int | None = None) -> int:
    """An integer within [low, high]."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected an integer, got {value!r}")
    i = int(value)
    if low is not None and i < low:
        raise ValueError(f"{name}: must be >= {low}, got {i}")
    if high is not None and i > high:
        raise ValueError(f"{name}: must be <= {high}, got {i}")
    return i


def check_choice(name: str, value: object, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name}: expected one of {', '.join(choices)}, got {value!r}")
    if value not in choices:
        raise ValueError(f"{name}: unknown value {value!r} (one of {', '.join(choices)})")
    return value
