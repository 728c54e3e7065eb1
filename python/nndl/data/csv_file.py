"""``load_csv``: a table with one label column and one column per input, as Kaggle's MNIST
``train.csv`` (``label,pixel0,...,pixel783``) or any ``np.savetxt`` of labels beside features."""

from __future__ import annotations

import csv
import os
from typing import Any

import numpy as np

from ..architecture import check_dtype
from ..checks import check_real


def _fields(line: str, delimiter: str) -> list[str]:
    return next(csv.reader([line], delimiter=delimiter))


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def load_csv(
    path: str | os.PathLike[str],
    label_column: int | str = 0,
    *,
    header: bool | None = None,
    delimiter: str = ",",
    scale: float | None = None,
    dtype: Any = np.float64,
) -> tuple[np.ndarray, np.ndarray]:
    """``(X, y)`` from a CSV file: ``y`` the int64 labels of ``label_column`` (an index, negative
    from the end, or a header name), ``X`` every other column, in ``dtype``, divided by ``scale``
    when given (255 for 8-bit pixels). ``header`` None: a first line that is not all numbers is a
    header. Labels must be whole numbers (``3`` or ``3.0``); anything else is refused by row.
    """
    dtype = check_dtype(dtype)
    if scale is not None:
        scale = check_real("scale", scale, low=0.0, low_inclusive=False)
    with open(path, encoding="utf-8", newline="") as f:
        first = f.readline()
    if not first.strip():
        raise ValueError(f"path: {os.fspath(path)!r} is empty")
    names = [name.strip() for name in _fields(first.rstrip("\r\n"), delimiter)]
    if header is None:
        header = not all(_is_number(name) for name in names)
    columns = len(names)
    if columns < 2:
        raise ValueError(f"path: {os.fspath(path)!r} has one column; expected a label column and inputs")
    if isinstance(label_column, str):
        if not header:
            raise ValueError(f"label_column: {label_column!r} is a name, but the file has no header line")
        if label_column not in names:
            raise ValueError(f"label_column: no column {label_column!r} in the header ({', '.join(names[:5])}, ...)")
        index = names.index(label_column)
    elif isinstance(label_column, (int, np.integer)) and not isinstance(label_column, bool):
        if not -columns <= label_column < columns:
            raise ValueError(f"label_column: {label_column} is outside the file's {columns} columns")
        index = int(label_column) % columns
    else:
        raise TypeError(f"label_column: expected a column index or a header name, got {label_column!r}")
    try:
        table = np.loadtxt(path, delimiter=delimiter, skiprows=1 if header else 0, ndmin=2, dtype=np.float64)
    except ValueError as error:
        raise ValueError(f"path: {os.fspath(path)!r} is not a table of numbers ({error})") from None
    if table.shape[0] == 0:
        raise ValueError(f"path: {os.fspath(path)!r} has no rows of data")
    labels = table[:, index]
    whole = np.isfinite(labels) & (labels == np.round(labels)) & (labels >= 0)
    if not whole.all():
        row = int(np.argmin(whole))
        raise ValueError(
            f"label_column: labels must be whole numbers >= 0 (class indices), got {float(labels[row]):g} "
            f"in data row {row}"
        )
    X = np.delete(table, index, axis=1)
    if scale is not None:
        X /= scale
    return np.ascontiguousarray(X, dtype=dtype), labels.astype(np.int64)
