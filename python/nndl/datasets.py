"""Datasets beyond the bundled MNIST: any IDX pair, the book's ``mnist.pkl.gz``, and downloads.

    X, y = nndl.load_idx("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", format="arrays")
    paths = nndl.datasets.fetch("fashion-mnist")         # downloaded once, digests checked
    training, validation, test = nndl.datasets.load("fashion-mnist")

Every loader validates what it reads (magic numbers, truncation, image/label counts) and raises
``DatasetError`` (a ``ValueError``) with one line saying which file is wrong and how.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import math
import os
import pickle
import tempfile
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from .data import MNIST_FILES, _bundled, book_form, pixels_in_unit_range, read_idx

__all__ = ["DatasetError", "FetchError", "load_idx", "load_mnist_pickle", "fetch", "load", "DATASETS",
           "default_cache_dir"]


class DatasetError(ValueError):
    """A data file is malformed: wrong magic number, truncated, counts that disagree, bad digest."""


class FetchError(OSError):
    """A dataset could not be downloaded (offline, server error); the message says what to do."""


# ---------------------------------------------------------------------------------------------
# IDX files

def _read_bytes(path: str | os.PathLike) -> bytes:
    """A file's bytes, gunzipped when it is gzip (by content, not by name)."""
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (EOFError, OSError, zlib.error) as error:
            raise DatasetError(f"{os.fspath(path)}: damaged or truncated gzip file ({error})") from None
    return raw


def _read_idx_file(path: str | os.PathLike) -> np.ndarray:
    try:
        return read_idx(_read_bytes(path), os.fspath(path))
    except DatasetError:
        raise
    except ValueError as error:
        raise DatasetError(str(error)) from None


def _images_and_labels(images: np.ndarray, labels: np.ndarray, images_name: str, labels_name: str
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Checked (X float64 (n, pixels) in [0, 1], y int64 (n,))."""
    if images.ndim < 2:
        raise DatasetError(f"{images_name}: expected images (an IDX file of 2 or more dimensions), "
                           f"found shape {images.shape}")
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


def load_idx(images_path: str | os.PathLike, labels_path: str | os.PathLike,
             format: Literal["book", "arrays"] = "book", one_hot: bool = False,
             num_classes: int | None = None) -> Any:
    """One images file and its labels file in the IDX format (gzip or not), checked.

    Pixels are scaled by 1/255 and flattened. ``format="arrays"``: ``(X, y)``, X float64
    ``(n, pixels)``, y int64 ``(n,)`` (or one-hot float ``(n, k)`` with ``one_hot``).
    ``format="book"``: a list of ``(x, y)``, x a ``(pixels, 1)`` column and y an int (or a one-hot
    ``(k, 1)`` column with ``one_hot``, as the book's training data). ``k`` is ``num_classes``,
    by default the largest label plus one.
    """
    _check_format(format)
    X, y = _images_and_labels(_read_idx_file(images_path), _read_idx_file(labels_path),
                              os.fspath(images_path), os.fspath(labels_path))
    return _as_format(X, y, format, one_hot, num_classes)


# ---------------------------------------------------------------------------------------------
# The book's mnist.pkl.gz, without letting a pickle run code
#
# A pickled numpy array is rebuilt by calling numpy's _reconstruct and then ndarray.__setstate__
# with (version, shape, dtype, is_fortran, raw bytes). numpy's setstate trusts that state: a
# crafted one (found by tests/test_fuzz.py) crashes the interpreter. So numpy's own functions are
# never handed to the unpickler. Stand-ins take their place, check every field of the state, and
# build the array from the raw bytes with np.frombuffer; the pickle only ever yields numbers.

#: The dtypes a dataset of numbers can hold (numpy's dtype codes, as a pickle names them).
_PICKLE_DTYPES = frozenset(f"{kind}{size}" for kind, sizes in (("f", (4, 8)), ("i", (1, 2, 4, 8)), ("u", (1, 2, 4, 8)))
                           for size in sizes)
_PICKLE_MAX_BYTES = 1 << 34  # 16 GB: more than any dataset this reads; keeps shape products sane


class _NdarrayName:
    """What ``numpy.ndarray`` resolves to in a pickle: a name _reconstruct may be given, nothing callable."""


def _pickled_dtype(name: Any, align: Any = False, copy: Any = True) -> "_PickledDtype":
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
        if not (isinstance(state, tuple) and len(state) >= 5 and state[1] in ("<", ">", "|", "=")
                and all(part is None for part in state[2:5])):
            raise pickle.UnpicklingError("it holds a dtype that is not a plain number type")
        if state[1] in ("<", ">") and self.dtype.itemsize > 1:
            self.dtype = self.dtype.newbyteorder(state[1])


def _pickled_reconstruct(subtype: Any, shape: Any, code: Any) -> "_PickledArray":
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
            raise pickle.UnpicklingError(f"it holds an array of shape {shape} and {dtype.dtype} "
                                         f"with {len(raw)} bytes of data")
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
    if not (isinstance(split, tuple) and len(split) == 2
            and all(isinstance(a, _PickledArray) and a.array is not None for a in split)):
        raise DatasetError(f"{path}: the {name} split is not a pair of arrays (X, y)")
    X, y = (a.array for a in split)
    if X.ndim != 2 or y.ndim != 1 or len(X) != len(y):
        raise DatasetError(f"{path}: the {name} split should be X (n, 784) and y (n,), got {X.shape} and {y.shape}")
    if not np.issubdtype(y.dtype, np.integer):
        raise DatasetError(f"{path}: the {name} labels are {y.dtype}, not integers")
    return np.asarray(X, dtype=np.float64), y.astype(np.int64)


def load_mnist_pickle(path: str | os.PathLike, format: Literal["book", "arrays"] = "book") -> tuple:
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
    except (EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError, OverflowError,
            RecursionError, MemoryError) as error:
        raise DatasetError(f"{os.fspath(path)}: not a readable pickle of MNIST ({type(error).__name__}: {error})") from None
    if not (isinstance(splits, tuple) and len(splits) == 3):
        raise DatasetError(f"{os.fspath(path)}: expected a tuple (training, validation, test), as the book's file holds")
    arrays = tuple(_check_pickled_split(s, n, os.fspath(path))
                   for s, n in zip(splits, ("training", "validation", "test")))
    if format == "arrays":
        return arrays
    (X, y), (Xv, yv), (Xt, yt) = arrays
    return book_form(X, y, one_hot=True), book_form(Xv, yv), book_form(Xt, yt)


# ---------------------------------------------------------------------------------------------
# Known datasets and downloads

@dataclass(frozen=True)
class RemoteFile:
    name: str
    sha256: str                      # of the published .gz file
    content_sha256: str | None = None  # of the decompressed IDX, so a re-compressed copy also passes


@dataclass(frozen=True)
class KnownDataset:
    name: str
    base_url: str
    files: dict[str, RemoteFile]  # keyed as nndl.data.MNIST_FILES: train_images, train_labels, ...
    source: str


# Digests of the published files, as torchvision and tensorflow-datasets record them. The bundled
# MNIST was re-compressed (its .gz bytes differ from the published ones), so for MNIST the digest
# of the decompressed content, computed from the bundled files, is recorded too.
DATASETS: dict[str, KnownDataset] = {
    "mnist": KnownDataset(
        "mnist", "https://ossci-datasets.s3.amazonaws.com/mnist/", {
            "train_images": RemoteFile("train-images-idx3-ubyte.gz",
                                       "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
                                       "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
            "train_labels": RemoteFile("train-labels-idx1-ubyte.gz",
                                       "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
                                       "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
            "test_images": RemoteFile("t10k-images-idx3-ubyte.gz",
                                      "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
                                      "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
            "test_labels": RemoteFile("t10k-labels-idx1-ubyte.gz",
                                      "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
                                      "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
        }, "LeCun, Cortes and Burges (CC BY-SA 3.0)"),
    "fashion-mnist": KnownDataset(
        "fashion-mnist", "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/", {
            "train_images": RemoteFile("train-images-idx3-ubyte.gz",
                                       "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84"),
            "train_labels": RemoteFile("train-labels-idx1-ubyte.gz",
                                       "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845"),
            "test_images": RemoteFile("t10k-images-idx3-ubyte.gz",
                                      "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073"),
            "test_labels": RemoteFile("t10k-labels-idx1-ubyte.gz",
                                      "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5"),
        }, "Zalando Research (MIT)"),
}

# No dataset file nndl knows is larger than this; a server sending more is not sending it.
MAX_DOWNLOAD_BYTES = 64 * 1024 * 1024


def default_cache_dir() -> Path:
    """``$NNDL_DATA_DIR``, else ``$XDG_CACHE_HOME/nndl``, else ``~/.cache/nndl``."""
    if os.environ.get("NNDL_DATA_DIR"):
        return Path(os.environ["NNDL_DATA_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "nndl"


def _known(name: str) -> KnownDataset:
    key = name.lower().replace("_", "-")
    if key not in DATASETS:
        raise ValueError(f"name: unknown dataset {name!r} (known: {', '.join(DATASETS)})")
    return DATASETS[key]


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _digest_matches(data: bytes, spec: RemoteFile) -> bool:
    if _sha256(data) == spec.sha256:
        return True
    if spec.content_sha256 is not None and data[:2] == b"\x1f\x8b":
        try:
            return _sha256(gzip.decompress(data)) == spec.content_sha256
        except (EOFError, OSError, zlib.error):
            return False
    return False


def _download(url: str, timeout: float) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        data = response.read(MAX_DOWNLOAD_BYTES + 1)
    if len(data) > MAX_DOWNLOAD_BYTES:
        raise DatasetError(f"{url}: larger than {MAX_DOWNLOAD_BYTES} bytes; not a file nndl knows")
    return data


def _write_atomically(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".nndl-", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def fetch(name: str, cache_dir: str | os.PathLike | None = None, base_url: str | None = None,
          timeout: float = 30.0) -> dict[str, Path]:
    """Download a known dataset ("mnist", "fashion-mnist") once, checking SHA-256 digests.

    Files go to ``cache_dir/name/`` (default: ``default_cache_dir()``). Files already there are
    used when their digest is right, downloaded again otherwise. Returns the four paths keyed
    ``train_images``, ``train_labels``, ``test_images``, ``test_labels``. Raises ``FetchError``
    when offline, saying which file to put where, and ``DatasetError`` when a download does not
    match its published digest (nothing is written then).
    """
    dataset = _known(name)
    directory = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    directory = directory / dataset.name
    base = (base_url or dataset.base_url).rstrip("/") + "/"
    paths: dict[str, Path] = {}
    for key, spec in dataset.files.items():
        path = directory / spec.name
        if path.is_file() and _digest_matches(path.read_bytes(), spec):
            paths[key] = path
            continue
        url = base + spec.name
        try:
            data = _download(url, timeout)
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise FetchError(f"could not download {url} ({reason}); without a network, get {spec.name} "
                             f"of {dataset.name} elsewhere and put it at {path}") from None
        if not _digest_matches(data, spec):
            raise DatasetError(f"{url}: SHA-256 {_sha256(data)[:16]}... does not match the published digest "
                               f"{spec.sha256[:16]}...; the download is corrupt or not {dataset.name}, "
                               "so it was not saved")
        directory.mkdir(parents=True, exist_ok=True)
        _write_atomically(path, data)
        paths[key] = path
    return paths


def _files_in(directory: Path) -> dict[str, Path]:
    """The four MNIST-named files in ``directory``, each ``.gz`` or not."""
    found: dict[str, Path] = {}
    for key, name in MNIST_FILES.items():
        for candidate in (directory / name, directory / name[:-3]):
            if candidate.is_file():
                found[key] = candidate
                break
        else:
            raise DatasetError(f"{directory}: no {name} (or {name[:-3]}) there; a dataset directory holds the "
                               f"four files {', '.join(MNIST_FILES.values())}")
    return found


def load(source: str | os.PathLike = "mnist", format: Literal["book", "arrays"] = "book",
         validation_size: int = 10000, cache_dir: str | os.PathLike | None = None, download: bool = True) -> tuple:
    """Training, validation and test data, split as the book splits MNIST.

    ``source``: "mnist" (the bundled copy), "fashion-mnist" (``fetch``-ed when ``download``), or a
    directory holding the four IDX files under MNIST's names. The last ``validation_size`` training
    images become the validation set. Formats as ``nndl.load_mnist``.
    """
    _check_format(format)
    if isinstance(source, str) and source.lower() == "mnist":
        files: dict[str, Any] = {k: _bundled(v) for k, v in MNIST_FILES.items()}
        names = {k: f"bundled {v}" for k, v in MNIST_FILES.items()}
        arrays = {k: read_idx(files[k], names[k]) for k in files}
    else:
        if isinstance(source, str) and source.lower().replace("_", "-") in DATASETS:
            if not download:
                raise ValueError(f"source: {source!r} is not bundled; fetch it first or pass download=True")
            paths = fetch(source, cache_dir)
        else:
            directory = Path(source)
            if not directory.is_dir():
                raise DatasetError(f"{source}: not a known dataset ({', '.join(DATASETS)}) nor a directory")
            paths = _files_in(directory)
        names = {k: os.fspath(p) for k, p in paths.items()}
        arrays = {k: _read_idx_file(p) for k, p in paths.items()}
    X, y = _images_and_labels(arrays["train_images"], arrays["train_labels"], names["train_images"],
                              names["train_labels"])
    Xt, yt = _images_and_labels(arrays["test_images"], arrays["test_labels"], names["test_images"],
                                names["test_labels"])
    if X.shape[1] != Xt.shape[1]:
        raise DatasetError(f"training images have {X.shape[1]} pixels but test images {Xt.shape[1]}")
    if not 0 < validation_size < len(X):
        raise ValueError(f"validation_size: must be between 1 and {len(X) - 1} for {len(X)} training images, "
                         f"got {validation_size}")
    cut = len(X) - validation_size
    splits = ((X[:cut], y[:cut]), (X[cut:], y[cut:]), (Xt, yt))
    if format == "arrays":
        return splits
    k = int(max(y.max(), yt.max())) + 1
    return (book_form(*splits[0], one_hot=True, n_out=k), book_form(*splits[1], n_out=k),
            book_form(*splits[2], n_out=k))
