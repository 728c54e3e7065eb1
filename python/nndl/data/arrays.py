"""Data in the book's form and as arrays, and the conversions between them.

The book's form is a list of ``(x, y)`` tuples, ``x`` a ``(784, 1)`` column and ``y`` either a
one-hot ``(10, 1)`` column (training data) or an integer label (validation and test data). The
array form is a tuple ``(X, y)``: ``X`` of shape ``(n, n_in)``, ``y`` integer labels ``(n,)`` or
targets ``(n, n_out)``. Every function that takes data accepts both; lists are converted to arrays
once per call.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..alignment import aligned_empty, aligned_require


@dataclass(frozen=True)
class Arrays:
    """Data as the engines consume it: contiguous inputs, targets and labels."""

    X: np.ndarray  # (n, n_in), the network's dtype, C-contiguous
    Y: np.ndarray  # (n, n_out) targets, one-hot for labels
    labels: np.ndarray  # (n,) int64: the target's class (argmax of Y when Y was given)

    def __len__(self) -> int:
        return int(self.X.shape[0])


def vectorized_result(j: int, n_out: int = 10) -> np.ndarray:
    """A one-hot ``(n_out, 1)`` column with 1.0 at position j (the book's mnist_loader helper)."""
    if not 0 <= j < n_out:  # a negative j would silently index from the end
        raise ValueError(f"j: label {j} is outside [0, {n_out})")
    e = np.zeros((n_out, 1))
    e[j] = 1.0
    return e


def _is_pandas(value: object) -> bool:
    """A pandas DataFrame or Series (recognised without importing pandas)."""
    return type(value).__module__.split(".")[0] == "pandas" and hasattr(value, "to_numpy")


def _array_part(value: object) -> object:
    """A pandas DataFrame or Series as its numpy array; anything else unchanged."""
    return value.to_numpy() if _is_pandas(value) else value  # type: ignore[attr-defined]


def is_array_form(data: object) -> bool:
    if not (isinstance(data, tuple) and len(data) == 2):
        return False
    X, y = (_array_part(part) for part in data)
    return isinstance(X, np.ndarray) and X.ndim == 2 and isinstance(y, np.ndarray)


def _integral_labels(targets: np.ndarray, n: int, name: str) -> np.ndarray | None:
    """Float labels ``(n,)`` that are all whole numbers (as ``np.loadtxt`` reads a label column) as
    int64; None when ``targets`` is not a flat float array; ValueError when some are not whole."""
    if targets.shape != (n,) or not np.issubdtype(targets.dtype, np.floating):
        return None
    with np.errstate(invalid="ignore"):
        whole = np.isfinite(targets) & (targets == np.round(targets))
    if not whole.all():
        bad = int(np.argmin(whole))
        raise ValueError(
            f"{name}: float labels must be whole numbers (class indices), got {float(targets[bad]):g} "
            f"at example {bad}; "
            "targets of shape (n, n_out) give one value per output"
        )
    return targets.astype(np.int64)


def to_arrays(
    data: Any, n_in: int, n_out: int, dtype: np.dtype, name: str = "data", check_finite_inputs: bool = True
) -> Arrays:
    """Validate ``data`` (either form) against a network with n_in inputs and n_out outputs.

    ``check_finite_inputs=False`` leaves the NaN/infinity check of the inputs to a caller that
    makes it as it reads them (the C++ engine's training loop); targets are always checked.
    """
    if isinstance(data, Arrays):
        X, targets = data.X, data.Y
    elif is_array_form(data):
        X, targets = (np.asarray(_array_part(part)) for part in data)
    else:
        X, targets = _stack_examples(data, n_in, n_out, name, dtype)
    if not np.issubdtype(X.dtype, np.floating) and not np.issubdtype(X.dtype, np.integer):
        raise TypeError(f"{name}: inputs must be numbers, got dtype {X.dtype}")
    if X.ndim != 2 or X.shape[1] != n_in:
        raise ValueError(f"{name}: inputs must have shape (n, {n_in}) for this network, got {X.shape}")
    if X.shape[0] == 0:
        raise ValueError(f"{name}: no examples")
    with np.errstate(over="ignore", invalid="ignore"):  # out-of-range values become inf, refused below
        X = aligned_require(X, dtype)  # C-contiguous, copied (to a 64-byte boundary) if not
    if check_finite_inputs and not np.isfinite(X).all():
        raise ValueError(f"{name}: inputs contain NaN or infinity")
    n = X.shape[0]
    whole = _integral_labels(targets, n, name)
    if whole is not None:
        targets = whole
    if np.issubdtype(targets.dtype, np.integer) or targets.dtype == np.bool_:
        if targets.shape != (n,):
            raise ValueError(f"{name}: integer labels must have shape ({n},), got {targets.shape}")
        labels = targets.astype(np.int64)
        if labels.size and (labels.min() < 0 or labels.max() >= n_out):
            raise ValueError(
                f"{name}: labels must lie in [0, {n_out}), got values from {labels.min()} to {labels.max()}"
            )
        Y = np.zeros((n, n_out), dtype=dtype)
        Y[np.arange(n), labels] = 1
    elif np.issubdtype(targets.dtype, np.floating):
        if targets.shape != (n, n_out):
            raise ValueError(
                f"{name}: got targets of shape {targets.shape}; expected ({n}, {n_out}) (one value per output) or "
                f"labels ({n},)"
            )
        with np.errstate(over="ignore", invalid="ignore"):
            Y = np.require(targets, dtype=dtype, requirements=["C", "A"])
        if not np.isfinite(Y).all():
            raise ValueError(f"{name}: targets contain NaN or infinity")
        labels = np.argmax(Y, axis=1).astype(np.int64)
    else:
        raise TypeError(f"{name}: targets must be integer labels or float arrays, got dtype {targets.dtype}")
    return Arrays(X, Y, np.require(labels, requirements=["C", "A"]))


def checked_inputs(name: str, a: Any, dtype: np.dtype) -> np.ndarray:
    """``a`` as a C-contiguous array of ``dtype``; non-numbers (TypeError) and NaN/inf (ValueError) refused."""
    try:
        array = np.asarray(a)
    except ValueError as error:  # ragged nested lists
        raise ValueError(f"{name}: not an array of numbers ({error})") from None
    if array.dtype == np.bool_ or not (
        np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)
    ):
        raise TypeError(f"{name}: expected an array of numbers, got dtype {array.dtype}")
    with np.errstate(over="ignore", invalid="ignore"):
        array = np.require(array, dtype=dtype, requirements=["C", "A"])
    if not np.isfinite(array).all():
        raise ValueError(f"{name}: contains NaN or infinity")
    return array


def _rows_without_copy(xs: list[np.ndarray], n_in: int, dtype: np.dtype) -> np.ndarray | None:
    """The inputs as one read-only (n, n_in) array without copying them, when they are consecutive
    rows of one array of ``dtype`` (as in the book-format lists of ``load_mnist()``); else None.

    What this saves is less the copy than the first touch of a training set's worth of fresh
    memory: 0.76 s for MNIST in float64 on this project's machine, every time SGD is called.
    """
    first = xs[0]
    base = first.base
    if base is None or first.dtype != dtype:
        return None
    itemsize = dtype.itemsize
    if not all(x.base is base and x.dtype == dtype and x.strides == (itemsize,) for x in xs):
        return None
    starts = np.fromiter((x.ctypes.data for x in xs), dtype=np.uintp, count=len(xs))
    row = n_in * itemsize
    if len(xs) > 1 and not (np.diff(starts) == row).all():
        return None  # e.g. a shuffled list: the rows are in another order
    # Every row is a valid view of `base`, so the whole strided range lies within it.
    return np.lib.stride_tricks.as_strided(first, shape=(len(xs), n_in), strides=(row, itemsize), writeable=False)


def _stack_examples(
    data: Iterable[Any], n_in: int, n_out: int, name: str, dtype: np.dtype
) -> tuple[np.ndarray, np.ndarray]:
    """The book's list of (x, y) tuples as two arrays, the inputs already of ``dtype``."""
    if isinstance(data, np.ndarray) or isinstance(data, (str, bytes)):
        raise TypeError(
            f"{name}: expected a list of (x, y) tuples or a tuple (X, y) of arrays, got {type(data).__name__}"
        )
    try:
        examples = list(data)
    except TypeError:
        raise TypeError(
            f"{name}: expected a list of (x, y) tuples or a tuple (X, y) of arrays, got {type(data).__name__}"
        ) from None
    if not examples:
        raise ValueError(f"{name}: no examples")
    xs, ys = [], []
    for i, example in enumerate(examples):
        if not isinstance(example, (tuple, list)) or len(example) != 2:
            raise TypeError(f"{name}: example {i} is not an (x, y) pair")
        x, y = example
        x = np.asarray(x)
        if x.dtype == np.bool_ or x.dtype.kind not in "iuf":
            raise TypeError(f"{name}: inputs must be numbers, got dtype {x.dtype} in example {i}")
        if x.size != n_in:
            raise ValueError(f"{name}: example {i} has {x.size} inputs, the network takes {n_in}")
        xs.append(x.reshape(n_in))
        ys.append(y)
    X = _rows_without_copy(xs, n_in, dtype)
    if X is None:
        X = aligned_empty((len(xs), n_in), dtype)
        with np.errstate(over="ignore", invalid="ignore"):  # out-of-range values become inf, refused later
            np.concatenate(xs, out=X.reshape(-1), casting="unsafe")
    if all(isinstance(y, (int, np.integer)) and not isinstance(y, bool) for y in ys):
        for i, y in enumerate(ys):
            if not 0 <= y < n_out:  # before the int64 conversion, which overflows on huge ints
                raise ValueError(f"{name}: example {i} has label {y}, outside [0, {n_out})")
        return X, np.asarray(ys, dtype=np.int64)
    Y = []
    for i, y in enumerate(ys):
        y = np.asarray(y)
        if y.size != n_out:
            raise ValueError(f"{name}: example {i} has a target of {y.size} values, the network has {n_out} outputs")
        Y.append(y.reshape(n_out))
    return X, np.stack(Y).astype(np.float64)


def book_form(X: np.ndarray, y: np.ndarray, one_hot: bool = False, n_out: int = 10) -> list[tuple[np.ndarray, Any]]:
    """Arrays as the book's list of ``(x, y)``: x a ``(n_in, 1)`` view, y one-hot or int."""
    columns = X.reshape(X.shape[0], X.shape[1], 1)
    if one_hot:
        return [(columns[i], vectorized_result(int(y[i]), n_out)) for i in range(len(y))]
    return [(columns[i], int(y[i])) for i in range(len(y))]
