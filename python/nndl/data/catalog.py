"""The datasets nndl knows by name: where each is published, its digests, the download cache, and
``load`` of a named dataset or a directory of IDX files, split as the book splits MNIST."""

from __future__ import annotations

import gzip
import hashlib
import os
import tempfile
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .arrays import book_form
from .errors import DatasetError, FetchError
from .idx import _check_format, _images_and_labels, _read_idx_file, read_idx
from .mnist import MNIST_FILES, _bundled


@dataclass(frozen=True)
class RemoteFile:
    name: str
    sha256: str  # of the published .gz file
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
        "mnist",
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        {
            "train_images": RemoteFile(
                "train-images-idx3-ubyte.gz",
                "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
                "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
            ),
            "train_labels": RemoteFile(
                "train-labels-idx1-ubyte.gz",
                "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
                "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
            ),
            "test_images": RemoteFile(
                "t10k-images-idx3-ubyte.gz",
                "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
                "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
            ),
            "test_labels": RemoteFile(
                "t10k-labels-idx1-ubyte.gz",
                "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
                "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
            ),
        },
        "LeCun, Cortes and Burges (CC BY-SA 3.0)",
    ),
    "fashion-mnist": KnownDataset(
        "fashion-mnist",
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        {
            "train_images": RemoteFile(
                "train-images-idx3-ubyte.gz", "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84"
            ),
            "train_labels": RemoteFile(
                "train-labels-idx1-ubyte.gz", "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845"
            ),
            "test_images": RemoteFile(
                "t10k-images-idx3-ubyte.gz", "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073"
            ),
            "test_labels": RemoteFile(
                "t10k-labels-idx1-ubyte.gz", "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5"
            ),
        },
        "Zalando Research (MIT)",
    ),
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
        data: bytes = response.read(MAX_DOWNLOAD_BYTES + 1)
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


def fetch(
    name: str, cache_dir: str | os.PathLike[str] | None = None, base_url: str | None = None, timeout: float = 30.0
) -> dict[str, Path]:
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
            raise FetchError(
                f"could not download {url} ({reason}); without a network, get {spec.name} "
                f"of {dataset.name} elsewhere and put it at {path}"
            ) from None
        if not _digest_matches(data, spec):
            raise DatasetError(
                f"{url}: SHA-256 {_sha256(data)[:16]}... does not match the published digest "
                f"{spec.sha256[:16]}...; the download is corrupt or not {dataset.name}, "
                "so it was not saved"
            )
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
            raise DatasetError(
                f"{directory}: no {name} (or {name[:-3]}) there; a dataset directory holds the "
                f"four files {', '.join(MNIST_FILES.values())}"
            )
    return found


def load(
    source: str | os.PathLike[str] = "mnist",
    format: Literal["book", "arrays"] = "book",
    validation_size: int = 10000,
    cache_dir: str | os.PathLike[str] | None = None,
    download: bool = True,
) -> tuple[Any, Any, Any]:
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
    X, y = _images_and_labels(
        arrays["train_images"], arrays["train_labels"], names["train_images"], names["train_labels"]
    )
    Xt, yt = _images_and_labels(
        arrays["test_images"], arrays["test_labels"], names["test_images"], names["test_labels"]
    )
    if X.shape[1] != Xt.shape[1]:
        raise DatasetError(f"training images have {X.shape[1]} pixels but test images {Xt.shape[1]}")
    if not 0 < validation_size < len(X):
        raise ValueError(
            f"validation_size: must be between 1 and {len(X) - 1} for {len(X)} training images, got {validation_size}"
        )
    cut = len(X) - validation_size
    splits = ((X[:cut], y[:cut]), (X[cut:], y[cut:]), (Xt, yt))
    if format == "arrays":
        return splits
    k = int(max(y.max(), yt.max())) + 1
    return (
        book_form(*splits[0], one_hot=True, n_out=k),
        book_form(*splits[1], n_out=k),
        book_form(*splits[2], n_out=k),
    )
