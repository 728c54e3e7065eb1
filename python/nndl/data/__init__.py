"""Everything about data, by idea: the book's form and the array form (``arrays``), the IDX format
(``idx``), the bundled MNIST (``mnist``, files in ``mnist/``), the book's pickle (``book_pickle``),
the datasets known by name and their downloads (``catalog``), and the errors (``errors``)."""

from __future__ import annotations

from .arrays import Arrays, book_form, checked_inputs, is_array_form, to_arrays, vectorized_result
from .book_pickle import load_mnist_pickle
from .catalog import DATASETS, KnownDataset, RemoteFile, default_cache_dir, fetch, load
from .csv_file import load_csv
from .errors import DatasetError, FetchError
from .idx import load_idx, pixels_in_unit_range, read_idx
from .mnist import MNIST_FILES, load_mnist

__all__ = [
    "DATASETS",
    "MNIST_FILES",
    "Arrays",
    "DatasetError",
    "FetchError",
    "KnownDataset",
    "RemoteFile",
    "book_form",
    "checked_inputs",
    "default_cache_dir",
    "fetch",
    "is_array_form",
    "load",
    "load_csv",
    "load_idx",
    "load_mnist",
    "load_mnist_pickle",
    "pixels_in_unit_range",
    "read_idx",
    "to_arrays",
    "vectorized_result",
]
