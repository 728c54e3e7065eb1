"""The book's own ``mnist.pkl.gz``, read without letting a pickle run code."""

from __future__ import annotations

import io
import math
import os
import pickle
from typing import Any, Literal

import numpy as np

from .arrays import book_form
from .errors import DatasetError
from .idx import _check_format, _read_bytes

#
# A pickled numpy array is rebuilt by calling numpy's _reconstruct and then ndarray.__setstate__
# with (version, shape, dtype, is_fortran, raw bytes). numpy's setstate trusts that state: a
# crafted one (found by tests/test_fuzz.py) crashes the interpreter. So numpy's own functions are
# never handed to the unpickler. Stand-ins take their place, check every field of the state, and
# build the array from the raw bytes with np.frombuffer; the pickle only ever yields numbers.

#: The dtypes a dataset of numbers can hold (numpy's dtype codes, as a pickle names them).
_PICKLE_DTYPES = frozenset(
    f"{kind}{size}" for kind, sizes in (("f", (4, 8)), ("i", (1, 2, 4, 8)), ("u", (1, 2, 4, 8))) for size in sizes
)
_PICKLE_MAX_BYTES = 1 << 34  # 16 GB: more than any dataset this reads; keeps shape products sane


class _NdarrayName:
    """What ``numpy.ndarray`` resolves to in a pickle: a name _reconstruct may be given, nothing callable."""


def _pickled_dtype(name: Any, align: Any = False, copy: Any = True) -> _PickledDtype:
    """Stands in for ``numpy.dtype(name, align, copy)``, as a pickle calls it."""
    if not isinstance(name, str):
        raise pickle.UnpicklingError(f"it asks for a dtype named {name!r}")
    if name.startswith("O"):
        raise pickle.UnpicklingError("it holds Python objects, not numbers")
    if name not in _PICKLE_DTYPES:
        raise pickle.UnpicklingError(f"it asks for dtype {name!r}; only integer and float arrays are allowed")
    return _PickledDtype(np.dtype(name))


class _PickledDtype:
    def __init__(self, dtype: np.dtype):
        self.dtype = dtype

    def __setstate__(self, state: Any) -> None:
        # (version, byte order, subarray, names, fields, elsize, alignment, flags[, metadata])
        if not (
            isinstance(state, tuple)
            and len(state) >= 5
            and state[1] in ("<", ">", "|", "=")
            and all(part is None for part in state[2:5])
        ):
            raise pickle.UnpicklingError("it holds a dtype that is not a plain number type")
        if state[1] in ("<", ">") and self.dtype.itemsize > 1:
            self.dtype = self.dtype.newbyteorder(state[1])


def _pickled_reconstruct(subtype: Any, shape: Any, code: Any) -> _PickledArray:
    """Stands in for ``numpy.core.multiarray._reconstruct(ndarray, (0,), b'b')``."""
    if subtype is not _NdarrayName:
        raise pickle.UnpicklingError("it reconstructs something other than a numpy array")
    return _PickledArray()


class _PickledArray:
    """An array announced by the pickle; ``array`` is set once its state has been checked."""

    array: np.ndarray | None = None

    def __setstate__(self, state: Any) -> None:
        if isinstance(state, tuple) and len(state) == 5:  # (version, shape, dtype, is_fortran, raw)
            state = state[1:]
        if not (isinstance(state, tuple) and len(state) == 4):
            raise pickle.UnpicklingError("it holds an array whose state is not (shape, dtype, order, data)")
        shape, dtype, is_fortran, raw = state
        if not isinstance(dtype, _PickledDtype):
            raise pickle.UnpicklingError("it holds an array without a plain number dtype")
        if not (isinstance(shape, tuple) and all(type(n) is int and 0 <= n <= _PICKLE_MAX_BYTES for n in shape)):
            raise pickle.UnpicklingError(f"it holds an array of shape {shape!r}")
        if isinstance(raw, str):  # a Python 2 pickle read with encoding="latin1" (the book's file)
            raw = raw.encode("latin1")
        if not isinstance(raw, bytes):
            raise pickle.UnpicklingError("it holds an array whose data are not bytes")
        count = math.prod(shape)
        if count * dtype.dtype.itemsize != len(raw):
            raise pickle.UnpicklingError(
                f"it holds an array of shape {shape} and {dtype.dtype} with {len(raw)} bytes of data"
            )
        flat = np.frombuffer(raw, dtype=dtype.dtype)
        self.array = flat.reshape(shape, order="F" if is_fortran else "C").copy()


def _latin1_bytes(text: str, encoding: str = "latin1") -> bytes:
    """What a protocol-2 pickle written by Python 3 calls to rebuild bytes, and nothing more."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError("it calls _codecs.encode with something other than latin-1 text")
    return text.encode("latin1")


class _ArraysOnlyUnpickler(pickle.Unpickler):
    """Resolves only the stand-ins for what a pickled numpy array needs; anything else is refused.

    Tuples, lists, numbers and strings need no globals, so they still load. Refusing here, before
    the global is looked up, is what stops a crafted pickle from calling ``os.system`` and friends.
    """

    def find_class(self, module: str, name: str) -> Any:
        if name == "_reconstruct" and module in ("numpy.core.multiarray", "numpy._core.multiarray"):
            return _pickled_reconstruct
        if (module, name) == ("numpy", "ndarray"):
            return _NdarrayName
        if (module, name) == ("numpy", "dtype"):
            return _pickled_dtype
        if (module, name) == ("_codecs", "encode"):  # bytes in protocol 2, as Python 3 writes it
            return _latin1_bytes
        raise pickle.UnpicklingError(f"it refers to {module}.{name}; only numpy arrays and tuples are allowed")


def _check_pickled_split(split: Any, name: str, path: str) -> tuple[np.ndarray, np.ndarray]:
    if not (
        isinstance(split, tuple)
        and len(split) == 2
        and all(isinstance(a, _PickledArray) and a.array is not None for a in split)
    ):
        raise DatasetError(f"{path}: the {name} split is not a pair of arrays (X, y)")
    X, y = (a.array for a in split)
    if X.ndim != 2 or y.ndim != 1 or len(X) != len(y):
        raise DatasetError(f"{path}: the {name} split should be X (n, 784) and y (n,), got {X.shape} and {y.shape}")
    if not np.issubdtype(y.dtype, np.integer):
        raise DatasetError(f"{path}: the {name} labels are {y.dtype}, not integers")
    return np.asarray(X, dtype=np.float64), y.astype(np.int64)


def load_mnist_pickle(path: str | os.PathLike[str], format: Literal["book", "arrays"] = "book") -> tuple[Any, Any, Any]:
    """The book's ``mnist.pkl.gz`` (``mnist_loader.load_data``), read without running any code.

    Returns training, validation and test data: as ``load_data_wrapper()`` does with
    ``format="book"`` (one-hot training targets), as ``(X, y)`` arrays with ``format="arrays"``.
    A pickle that refers to anything but numpy arrays is refused with ``DatasetError``.
    """
    _check_format(format)
    raw = _read_bytes(path)
    try:
        # latin1: the book's file was written by Python 2, whose str bytes hold numpy's buffers.
        splits = _ArraysOnlyUnpickler(io.BytesIO(raw), encoding="latin1").load()
    except pickle.UnpicklingError as error:
        raise DatasetError(f"{os.fspath(path)}: refusing to load this pickle: {error}") from None
    except (
        EOFError,
        ValueError,
        TypeError,
        AttributeError,
        IndexError,
        KeyError,
        OverflowError,
        RecursionError,
        MemoryError,
    ) as error:
        raise DatasetError(
            f"{os.fspath(path)}: not a readable pickle of MNIST ({type(error).__name__}: {error})"
        ) from None
    if not (isinstance(splits, tuple) and len(splits) == 3):
        raise DatasetError(
            f"{os.fspath(path)}: expected a tuple (training, validation, test), as the book's file holds"
        )
    training, validation, test = (
        _check_pickled_split(s, n, os.fspath(path)) for s, n in zip(splits, ("training", "validation", "test"))
    )
    if format == "arrays":
        return training, validation, test
    (X, y), (Xv, yv), (Xt, yt) = training, validation, test
    return book_form(X, y, one_hot=True), book_form(Xv, yv), book_form(Xt, yt)
