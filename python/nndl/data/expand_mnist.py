"""The book's expanded MNIST training set (chapter 6, ``expand_mnist.py``): each of the 50,000
training images followed by four copies shifted by one pixel, down, up, right and left, the
pixels shifted in from outside zero: 250,000 images. Generated on first use from the bundled
MNIST and cached (not shipped): ``default_cache_dir()/mnist_expanded.npz``, 8-bit pixels, about
40 MB. The book then shuffles the expanded set once; nndl's SGD shuffles every epoch anyway, so
the images are kept in the order above.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from .catalog import default_cache_dir
from .mnist import load_mnist

CACHE_NAME = "mnist_expanded.npz"


def shifted_copies(images: np.ndarray) -> np.ndarray:
    """(n, 28, 28) -> (5n, 28, 28): each image, then shifted down, up, right, left by one pixel."""
    n = images.shape[0]
    out = np.zeros((n, 5) + images.shape[1:], dtype=images.dtype)
    out[:, 0] = images
    out[:, 1, 1:, :] = images[:, :-1, :]  # down
    out[:, 2, :-1, :] = images[:, 1:, :]  # up
    out[:, 3, :, 1:] = images[:, :, :-1]  # right
    out[:, 4, :, :-1] = images[:, :, 1:]  # left
    return out.reshape((5 * n,) + images.shape[1:])


def expand_mnist(
    cache_dir: str | os.PathLike[str] | None = None, dtype: type = np.float32
) -> tuple[np.ndarray, np.ndarray]:
    """The expanded training set as ``(X, y)``: ``X`` (250000, 784) in [0, 1], ``y`` int64."""
    directory = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    path = directory / CACHE_NAME
    if path.exists():
        with np.load(path) as cached:
            pixels, labels = cached["pixels"], cached["labels"]
    else:
        (X, y), _, _ = load_mnist(format="arrays")
        # The bundled pixels are k/255 exactly: back to bytes for a small cache.
        images = np.rint(X * 255).astype(np.uint8).reshape(-1, 28, 28)
        pixels = shifted_copies(images).reshape(-1, 784)
        labels = np.repeat(y, 5)
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".nndl-", suffix=".npz", dir=directory)
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez_compressed(f, pixels=pixels, labels=labels)
            os.replace(tmp, path)  # atomic: a crash mid-write leaves no half file
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
    return (pixels.astype(dtype) / dtype(255)).astype(dtype), labels.astype(np.int64)
