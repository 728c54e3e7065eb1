"""The IDX format of MNIST and its relatives (LeCun's four files: images and labels, gzip or not)."""

from __future__ import annotations

import gzip
import math
import os
import struct
import zlib
from typing import Any, Literal

import numpy as np

from ..alignment import aligned_empty
from .arrays import book_form
from .errors import DatasetError


def read_idx(path: str | os.PathLike[str] | bytes, name: str = "file") -> np.ndarray:
    """An IDX file (gzip or not) as a uint8 array of its stated shape."""
    if isinstance(path, bytes):
        raw = path
    else:
        with open(path, "rb") as f:
            raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as error:  # BadGzipFile is an OSError
            raise ValueError(f"{name}: damaged or truncated gzip data ({error})") from None
    if len(raw) < 4:
        raise ValueError(f"{name}: too short to be an IDX file ({len(raw)} bytes)")
    zero, dtype_code, ndim = raw[0] << 8 | raw[1], raw[2], raw[3]
    if zero != 0 or dtype_code != 0x08 or ndim == 0:
        raise ValueError(f"{name}: not an unsigned-byte IDX file (magic number {raw[:4].hex()})")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{name}: truncated IDX header")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    count = math.prod(shape)  # Python ints: an int64 product could wrap around to the data's length
    if len(raw) - header != count:
        raise ValueError(f"{name}: expected {count} bytes of data for shape {shape}, found {len(raw) - header}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def pixels_in_unit_range(images: np.ndarray, dtype: Any = np.float64) -> np.ndarray:
    """Images (n, ...) as a 64-byte-aligned array (n, pixels) of ``dtype`` scaled by 1/255 (8-bit pixels to [0, 1])."""
    X = aligned_empty((len(images), int(np.prod(images.shape[1:], dtype=np.int64))), np.dtype(dtype))
    np.divide(images.reshape(len(images), -1), 255.0, out=X, casting="same_kind")
    return X


def _read_bytes(path: str | os.PathLike[str]) -> bytes:
    """A file's bytes, gunzipped when it is gzip (by content, not by name)."""
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (EOFError, OSError, zlib.error) as error:
            raise DatasetError(f"{os.fspath(path)}: damaged or truncated gzip file ({error})") from None
    return raw


def _read_idx_file(path: str | os.PathLike[str]) -> np.ndarray:
    try:
        return read_idx(_read_bytes(path), os.fspath(path))
    except DatasetError:
        raise
    except ValueError as error:
        raise DatasetError(str(error)) from None


def _images_and_labels(
    images: np.ndarray, labels: np.ndarray, images_name: str, labels_name: str
) -> tuple[np.ndarray, np.ndarray]:
    """Checked (X float64 (n, pixels) in [0, 1], y int64 (n,))."""
    if images.ndim < 2:
        raise DatasetError(
            f"{images_name}: expected images (an IDX file of 2 or more dimensions), found shape {images.shape}"
        )
    if labels.ndim != 1:
        raise DatasetError(f"{labels_name}: expected labels (a 1-dimensional IDX file), found shape {labels.shape}")
    if len(images) != len(labels):
        raise DatasetError(f"{images_name} holds {len(images)} images but {labels_name} holds {len(labels)} labels")
    if len(images) == 0:
        raise DatasetError(f"{images_name}: no images")
    X = pixels_in_unit_range(images)
    return X, labels.astype(np.int64)


def _as_format(X: np.ndarray, y: np.ndarray, format: str, one_hot: bool, num_classes: int | None) -> Any:
    k = int(y.max()) + 1 if num_classes is None else num_classes
    if y.size and y.max() >= k:
        raise DatasetError(f"labels go up to {int(y.max())}, more than num_classes={k} allows")
    if format == "book":
        return book_form(X, y, one_hot=one_hot, n_out=k)
    if one_hot:
        Y = np.zeros((len(y), k))
        Y[np.arange(len(y)), y] = 1.0
        return X, Y
    return X, y


def _check_format(format: str) -> None:
    if format not in ("book", "arrays"):
        raise ValueError(f"format: expected 'book' or 'arrays', got {format!r}")


def load_idx(
    images_path: str | os.PathLike[str],
    labels_path: str | os.PathLike[str],
    format: Literal["book", "arrays"] = "book",
    one_hot: bool = False,
    num_classes: int | None = None,
) -> Any:
    """One images file and its labels file in the IDX format (gzip or not), checked.

    Pixels are scaled by 1/255 and flattened. ``format="arrays"``: ``(X, y)``, X float64
    ``(n, pixels)``, y int64 ``(n,)`` (or one-hot float ``(n, k)`` with ``one_hot``).
    ``format="book"``: a list of ``(x, y)``, x a ``(pixels, 1)`` column and y an int (or a one-hot
    ``(k, 1)`` column with ``one_hot``, as the book's training data). ``k`` is ``num_classes``,
    by default the largest label plus one.
    """
    _check_format(format)
    X, y = _images_and_labels(
        _read_idx_file(images_path), _read_idx_file(labels_path), os.fspath(images_path), os.fspath(labels_path)
    )
    return _as_format(X, y, format, one_hot, num_classes)
