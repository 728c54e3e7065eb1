"""MNIST (Yann LeCun, Corinna Cortes and Christopher J. C. Burges; CC BY-SA 3.0), bundled as the
four original IDX files in ``nndl/data/mnist/``, split as the book splits it."""

from __future__ import annotations

from importlib import resources
from typing import Any, Literal

import numpy as np

from ..architecture import check_dtype
from .arrays import book_form
from .idx import pixels_in_unit_range, read_idx

MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}


def _bundled(file: str) -> bytes:
    # One name per step: Traversable.joinpath takes several only from Python 3.11 on.
    return (resources.files("nndl") / "data" / "mnist" / file).read_bytes()


def load_mnist(format: Literal["book", "arrays"] = "book", dtype: Any = np.float64) -> tuple[Any, Any, Any]:
    """The book's split of MNIST: 50,000 training, 10,000 validation, 10,000 test images.

    ``format="book"`` (as ``mnist_loader.load_data_wrapper()``): lists of ``(x, y)`` with ``x`` a
    ``(784, 1)`` column in [0, 1], ``y`` one-hot ``(10, 1)`` for training and an int otherwise.
    ``format="arrays"``: ``((X, y), (X, y), (X, y))`` with ``X`` ``(n, 784)``, ``y`` int64.
    Pixels are scaled by 1/255, into ``dtype`` (float64 or float32): give a float32 network
    float32 data and it trains on it directly, without converting it every call.
    """
    if format not in ("book", "arrays"):
        raise ValueError(f"format: expected 'book' or 'arrays', got {format!r}")
    dtype = check_dtype(dtype)
    images = read_idx(_bundled(MNIST_FILES["train_images"]), "train images")
    labels = read_idx(_bundled(MNIST_FILES["train_labels"]), "train labels")
    test_images = read_idx(_bundled(MNIST_FILES["test_images"]), "test images")
    test_labels = read_idx(_bundled(MNIST_FILES["test_labels"]), "test labels")
    X = pixels_in_unit_range(images, dtype)
    Xt = pixels_in_unit_range(test_images, dtype)
    y, yt = labels.astype(np.int64), test_labels.astype(np.int64)
    splits = ((X[:50000], y[:50000]), (X[50000:], y[50000:]), (Xt, yt))
    if format == "arrays":
        return splits
    return book_form(*splits[0], one_hot=True), book_form(*splits[1]), book_form(*splits[2])
