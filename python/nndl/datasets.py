"""``nndl.datasets``, the name earlier releases gave the loaders beyond the bundled MNIST; they now
live in ``nndl.data`` (``idx``, ``book_pickle``, ``catalog``) and this module re-exports them, so

    X, y = nndl.load_idx("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", format="arrays")
    paths = nndl.datasets.fetch("fashion-mnist")         # downloaded once, digests checked
    training, validation, test = nndl.datasets.load("fashion-mnist")

work as before. Every loader validates what it reads (magic numbers, truncation, image/label
counts) and raises ``DatasetError`` (a ``ValueError``) saying which file is wrong and how.
"""

from __future__ import annotations

from .data.book_pickle import load_mnist_pickle
from .data.catalog import DATASETS, MAX_DOWNLOAD_BYTES, KnownDataset, RemoteFile, default_cache_dir, fetch, load
from .data.errors import DatasetError, FetchError
from .data.idx import load_idx

__all__ = [
    "DATASETS",
    "MAX_DOWNLOAD_BYTES",
    "DatasetError",
    "FetchError",
    "KnownDataset",
    "RemoteFile",
    "default_cache_dir",
    "fetch",
    "load",
    "load_idx",
    "load_mnist_pickle",
]
