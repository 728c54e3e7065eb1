"""Saving and loading networks: the book's JSON (``sizes``, ``weights``, ``biases``, ``cost``), with
nndl's optional keys, written atomically and read without executing anything from the file."""

from __future__ import annotations

import json
import os
import tempfile
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from .architecture import check_activations, check_cost_and_output, check_dtype, check_sizes
from .costs import cost_by_name

if TYPE_CHECKING:  # network_base imports this module; the bound is only for the type checker
    from .network_base import NetworkBase

N = TypeVar("N", bound="NetworkBase")


def _umask() -> int:
    """The process's umask (reading it means setting it: set back at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_network_file(filename: str | os.PathLike[str], data: dict[str, Any]) -> None:
    """Write ``data`` as JSON atomically: to a temporary file in the same directory, then renamed
    over ``filename``, so a crash mid-write leaves the old file whole."""
    directory = os.path.dirname(os.path.abspath(os.fspath(filename)))
    fd, tmp = tempfile.mkstemp(prefix=".nndl-", suffix=".json.tmp", dir=directory)
    try:
        # mkstemp creates the file 0600; a saved network gets the mode open() would give it.
        os.chmod(tmp, 0o666 & ~_umask())
        with os.fdopen(fd, "w") as f:
            json.dump(data, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, filename)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def read_network_file(filename: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and check a saved network (the book's JSON, or nndl's with optional keys).

    Nothing from the file is executed: the cost is looked up by name among the known classes.
    Whatever is wrong with the file's contents raises ValueError naming the file; a file that
    cannot be opened raises OSError.
    """
    with open(filename, "rb") as f:
        raw = f.read()
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as error:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise ValueError(
            f"filename: {os.fspath(filename)!r} is not a saved network: not valid JSON "
            f"({type(error).__name__}: {error})"
        ) from None
    try:
        return _check_saved_network(data)
    except (TypeError, ValueError, OverflowError) as error:
        raise ValueError(f"filename: {os.fspath(filename)!r} is not a valid saved network: {error}") from None


def _check_saved_network(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValueError("a saved network is a JSON object")
    missing = [k for k in ("sizes", "weights", "biases", "cost") if k not in data]
    if missing:
        raise ValueError(f"saved network lacks {', '.join(missing)}")
    sizes = check_sizes(data["sizes"])
    if sum(a * b for a, b in zip(sizes[:-1], sizes[1:])) > 500_000_000:
        raise ValueError(f"sizes {sizes} are too large to load")
    weights, biases = data["weights"], data["biases"]
    if (
        not isinstance(weights, list)
        or not isinstance(biases, list)
        or len(weights) != len(sizes) - 1
        or len(biases) != len(sizes) - 1
    ):
        raise ValueError(f"expected {len(sizes) - 1} weight and bias arrays for sizes {sizes}")
    out_w, out_b = [], []
    for l, (x, y) in enumerate(zip(sizes[:-1], sizes[1:])):
        try:
            w = np.array(weights[l], dtype=np.float64)
            b = np.array(biases[l], dtype=np.float64)
        except (TypeError, ValueError, OverflowError):
            raise ValueError(f"weights or biases of layer {l + 1} are not arrays of numbers") from None
        if w.shape != (y, x) or b.shape != (y, 1):
            raise ValueError(
                f"layer {l + 1} should have weights ({y}, {x}) and biases ({y}, 1), got {w.shape} and {b.shape}"
            )
        if not (np.isfinite(w).all() and np.isfinite(b).all()):
            raise ValueError(f"layer {l + 1} has non-finite weights or biases")
        out_w.append(w)
        out_b.append(b)
    cost = cost_by_name(data["cost"])
    activations = check_activations(data.get("activations", "sigmoid"), None, len(sizes))
    check_cost_and_output(cost, activations[-1])
    dtype = data.get("dtype", "float64")
    if not isinstance(dtype, str):
        raise ValueError(f"dtype: expected 'float32' or 'float64', got {dtype!r}")
    check_dtype(dtype)
    return {"sizes": sizes, "cost": cost, "activation": activations, "dtype": dtype, "weights": out_w, "biases": out_b}


def load_into(cls: type[N], filename: str | os.PathLike[str]) -> N:
    """A network of class ``cls`` with the parameters saved in ``filename``."""
    saved = read_network_file(filename)
    net = cls(saved["sizes"], cost=saved["cost"], activation=saved["activation"], dtype=saved["dtype"])
    net.weights = [w.astype(net.dtype) for w in saved["weights"]]
    net.biases = [b.astype(net.dtype) for b in saved["biases"]]
    return net
