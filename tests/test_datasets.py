"""Loaders against crafted files: IDX (good, truncated, mismatched), pickles (the book's, malicious),
and downloads from a local HTTP server (good, corrupted, offline)."""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import os
import pickle
import socket
import struct
import threading

import numpy as np
import pytest

import nndl
from nndl import datasets
from nndl.datasets import DatasetError, FetchError, KnownDataset, RemoteFile


def idx_bytes(array: np.ndarray) -> bytes:
    """An unsigned-byte IDX file holding ``array``."""
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


@pytest.fixture
def tiny(rng):
    """Six 3x4 images and their labels (0..2)."""
    return rng.integers(0, 256, size=(6, 3, 4)).astype(np.uint8), np.array([0, 1, 2, 2, 1, 0], dtype=np.uint8)


def write(path, data: bytes, compress: bool = False):
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_load_idx_arrays_and_book(tmp_path, tiny, compress):
    images, labels = tiny
    ip = write(tmp_path / "images", idx_bytes(images), compress)
    lp = write(tmp_path / "labels", idx_bytes(labels), compress)
    X, y = nndl.load_idx(ip, lp, format="arrays")
    assert X.shape == (6, 12) and X.dtype == np.float64
    np.testing.assert_array_equal(X, images.reshape(6, 12) / 255.0)
    np.testing.assert_array_equal(y, labels)
    _, Y = nndl.load_idx(ip, lp, format="arrays", one_hot=True)
    assert Y.shape == (6, 3) and np.array_equal(Y.argmax(axis=1), labels)
    book = nndl.load_idx(ip, lp, one_hot=True, num_classes=10)
    assert len(book) == 6 and book[2][0].shape == (12, 1) and book[2][1].shape == (10, 1)
    assert nndl.load_idx(ip, lp)[3][1] == 2  # without one_hot, labels are ints as in the book's test data


def test_truncated_idx_is_refused(tmp_path, tiny):
    images, labels = tiny
    ip = write(tmp_path / "images", idx_bytes(images)[:-5])
    lp = write(tmp_path / "labels", idx_bytes(labels))
    with pytest.raises(DatasetError, match="expected 72 bytes"):
        nndl.load_idx(ip, lp)


def test_truncated_gzip_is_refused(tmp_path, tiny):
    images, labels = tiny
    ip = write(tmp_path / "images.gz", gzip.compress(idx_bytes(images))[:-10])
    lp = write(tmp_path / "labels", idx_bytes(labels))
    with pytest.raises(DatasetError, match="truncated gzip"):
        nndl.load_idx(ip, lp)


def test_count_mismatch_is_refused(tmp_path, tiny):
    images, labels = tiny
    ip = write(tmp_path / "images", idx_bytes(images))
    lp = write(tmp_path / "labels", idx_bytes(labels[:5]))
    with pytest.raises(DatasetError, match="6 images but .* 5 labels"):
        nndl.load_idx(ip, lp)


def test_bad_magic_and_swapped_files_are_refused(tmp_path, tiny):
    images, labels = tiny
    bad = bytearray(idx_bytes(images))
    bad[2] = 0x0D  # float data: not what MNIST-style files hold
    ip = write(tmp_path / "images", bytes(bad))
    lp = write(tmp_path / "labels", idx_bytes(labels))
    with pytest.raises(DatasetError, match="magic number"):
        nndl.load_idx(ip, lp)
    good = write(tmp_path / "good", idx_bytes(images))
    with pytest.raises(DatasetError, match="expected images"):
        nndl.load_idx(lp, good)


def test_load_directory_splits_like_the_book(tmp_path, rng):
    images = rng.integers(0, 256, size=(30, 28, 28)).astype(np.uint8)
    labels = rng.integers(0, 10, size=30).astype(np.uint8)
    for key, name in nndl.data.MNIST_FILES.items():
        array = images if key.endswith("images") else labels
        write(
            tmp_path / (name if key.startswith("train") else name[:-3]),
            idx_bytes(array),
            compress=key.startswith("train"),
        )
    (X, _y), (Xv, yv), (Xt, _yt) = datasets.load(tmp_path, format="arrays", validation_size=10)
    assert (len(X), len(Xv), len(Xt)) == (20, 10, 30)
    np.testing.assert_array_equal(yv, labels[20:])
    with pytest.raises(DatasetError, match="no t10k-labels"):
        os.remove(tmp_path / "t10k-labels-idx1-ubyte")
        datasets.load(tmp_path)


# -- the book's pickle ------------------------------------------------------------------------


def book_pickle(rng, protocol: int = 2) -> tuple[bytes, tuple]:
    splits = tuple((rng.random((n, 784), dtype=np.float32), rng.integers(0, 10, n).astype(np.int64)) for n in (5, 3, 4))
    return gzip.compress(pickle.dumps(splits, protocol=protocol)), splits


def test_book_pickle_loads(tmp_path, rng):
    data, splits = book_pickle(rng)
    path = write(tmp_path / "mnist.pkl.gz", data)
    arrays = datasets.load_mnist_pickle(path, format="arrays")
    for (X, y), (X0, y0) in zip(arrays, splits):
        np.testing.assert_array_equal(X, X0)
        np.testing.assert_array_equal(y, y0)
    training, validation, test = datasets.load_mnist_pickle(path)
    assert training[0][0].shape == (784, 1) and training[0][1].shape == (10, 1)
    assert isinstance(test[0][1], int) and len(validation) == 3


def _python2_array_pickle(array: np.ndarray) -> bytes:
    """The opcodes Python 2's cPickle (protocol 2) writes for a numpy array, as in the book's file:
    its bytes are a str (BINSTRING), which Python 3 reads back as latin-1 text."""
    shape = b"(" + b"".join(b"J" + struct.pack("<i", n) for n in array.shape) + b"t"
    order = array.dtype.byteorder if array.dtype.byteorder in "<>|" else "<"
    dtype = (
        b"cnumpy\ndtype\nU\x02" + array.dtype.str[1:].encode() + b"K\x00K\x01\x87R"
        b"(K\x03U\x01" + order.encode() + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb"
    )
    raw = array.tobytes()
    return (
        b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85U\x01b\x87R"
        b"(K\x01" + shape + dtype + b"\x89T" + struct.pack("<i", len(raw)) + raw + b"tb"
    )


def test_python2_pickle_loads(tmp_path, rng):
    """A pickle in the form Python 2 wrote the book's mnist.pkl.gz: float32 images, int64 labels."""
    splits = [(rng.random((n, 784), dtype=np.float32), rng.integers(0, 10, n).astype(np.int64)) for n in (5, 3, 4)]
    body = b"".join(_python2_array_pickle(X) + _python2_array_pickle(y) + b"\x86" for X, y in splits)
    path = write(tmp_path / "mnist.pkl.gz", b"\x80\x02" + body + b"\x87.", compress=True)
    for (X, y), (X0, y0) in zip(datasets.load_mnist_pickle(path, format="arrays"), splits):
        np.testing.assert_array_equal(X, X0)
        np.testing.assert_array_equal(y, y0)


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("dtype", [">f8", "<f4", "u1", ">i4"])
def test_pickled_arrays_keep_byte_order_and_layout(tmp_path, rng, dtype, order):
    X = np.asarray(rng.random((4, 6)) * 100, dtype=dtype, order=order)
    y = np.arange(4, dtype=np.int16)
    path = write(tmp_path / "x.pkl", pickle.dumps(((X, y),) * 3, protocol=2))
    (X1, y1), _, _ = datasets.load_mnist_pickle(path, format="arrays")
    np.testing.assert_array_equal(X1, X.astype(np.float64))
    np.testing.assert_array_equal(y1, y)


@pytest.mark.parametrize(
    "change, message",
    [
        ((b"(J\x06\x00\x00\x00t", b"(J\x07\x00\x00\x00t"), "shape \\(7,\\) and float64 with 48 bytes"),
        ((b"(J\x06\x00\x00\x00t", b"(J\xff\xff\xff\xfft"), "shape \\(-1,\\)"),
        ((b"U\x02f8", b"U\x02c8"), "only integer and float arrays"),  # complex numbers
        ((b"U\x02f8", b"U\x02O8"), "Python objects"),
        ((b"(K\x03U\x01<NNN", b"(K\x03U\x01<NN}"), "not a plain number type"),  # a structured dtype
        ((b"\x89T", b"N\x89T"), "not \\(shape, dtype, order, data\\)"),
        ((b"cnumpy\nndarray\n", b"cnumpy\ndtype\n"), "something other than a numpy array"),
    ],
)
def test_crafted_array_states_are_refused(tmp_path, change, message):
    """Each field of a pickled array's state is checked before any array is built from it."""
    array = _python2_array_pickle(np.zeros(6))
    assert change[0] in array
    path = write(tmp_path / "x.pkl", b"\x80\x02" + array.replace(*change, 1) + b".")
    with pytest.raises(DatasetError, match=message):
        datasets.load_mnist_pickle(path)


class _RunsCode:
    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("payload", ["os.system", "eval"])
def test_malicious_pickle_is_refused_without_running(tmp_path, payload):
    marker = tmp_path / "pwned"
    if payload == "os.system":
        evil = pickle.dumps(((_RunsCode(str(marker)),), (), ()), protocol=2)
    else:
        # a hand-written pickle calling builtins.eval: GLOBAL, argument tuple, REDUCE
        evil = b"cbuiltins\neval\n(V__import__('os').system('touch " + str(marker).encode() + b"')\ntR."
    path = write(tmp_path / "mnist.pkl.gz", evil, compress=True)
    with pytest.raises(DatasetError, match="refusing to load this pickle: it refers to (posix|os|nt|builtins)"):
        datasets.load_mnist_pickle(path)
    assert not marker.exists()


def test_object_arrays_in_a_pickle_are_refused(tmp_path):
    splits = ((np.array([[1, "a"]], dtype=object), np.array([1])),) * 3
    path = write(tmp_path / "x.pkl", pickle.dumps(splits, protocol=2))
    with pytest.raises(DatasetError, match="Python objects"):
        datasets.load_mnist_pickle(path)


# -- fetch ------------------------------------------------------------------------------------


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest's output clean
        pass


@pytest.fixture
def server(tmp_path):
    """An HTTP server on 127.0.0.1 serving tmp_path/www; yields (directory, base_url)."""
    www = tmp_path / "www"
    www.mkdir()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(www)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield www, f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


@pytest.fixture
def tiny_dataset(monkeypatch, tiny):
    """A known dataset 'tiny' of four small files; returns {filename: bytes}."""
    images, labels = tiny
    contents = {}
    files = {}
    for key, name in nndl.data.MNIST_FILES.items():
        data = gzip.compress(idx_bytes(images if key.endswith("images") else labels), mtime=0)
        contents[name] = data
        files[key] = RemoteFile(name, hashlib.sha256(data).hexdigest())
    monkeypatch.setitem(datasets.DATASETS, "tiny", KnownDataset("tiny", "http://invalid.example/", files, "test"))
    return contents


def test_fetch_downloads_checks_and_caches(tmp_path, server, tiny_dataset):
    www, url = server
    for name, data in tiny_dataset.items():
        (www / name).write_bytes(data)
    paths = datasets.fetch("tiny", cache_dir=tmp_path / "cache", base_url=url)
    assert set(paths) == set(nndl.data.MNIST_FILES)
    for key, path in paths.items():
        assert path.read_bytes() == tiny_dataset[nndl.data.MNIST_FILES[key]]
    # Once cached, the files are used without the server.
    for name in tiny_dataset:
        (www / name).unlink()
    assert datasets.fetch("tiny", cache_dir=tmp_path / "cache", base_url=url) == paths
    training, validation, test = datasets.load("tiny", format="arrays", validation_size=2, cache_dir=tmp_path / "cache")
    assert (len(training[0]), len(validation[0]), len(test[0])) == (4, 2, 6)


def test_fetch_rejects_a_corrupted_download(tmp_path, server, tiny_dataset):
    www, url = server
    for name, data in tiny_dataset.items():
        corrupted = bytearray(data)
        corrupted[len(corrupted) // 2] ^= 0xFF
        (www / name).write_bytes(bytes(corrupted))
    with pytest.raises(DatasetError, match="does not match the published digest"):
        datasets.fetch("tiny", cache_dir=tmp_path / "cache", base_url=url)
    assert not any((tmp_path / "cache").rglob("*-ubyte.gz")), "a corrupted download must not be kept"


def test_fetch_offline_says_which_file_to_put_where(tmp_path, tiny_dataset):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(FetchError) as info:
        datasets.fetch("tiny", cache_dir=tmp_path / "cache", base_url=f"http://127.0.0.1:{port}/", timeout=5)
    message = str(info.value)
    assert "train-images-idx3-ubyte.gz" in message and "put it at" in message
    assert str(tmp_path / "cache" / "tiny" / "train-images-idx3-ubyte.gz") in message
    assert "\n" not in message


def test_unknown_dataset_name():
    with pytest.raises(ValueError, match="unknown dataset 'cifar'"):
        datasets.fetch("cifar")


def test_bundled_mnist_passes_the_recorded_digests():
    # The bundled files were re-compressed, so they match the recorded digests of the content.
    for key, name in nndl.data.MNIST_FILES.items():
        assert nndl.data.catalog._digest_matches(nndl.data.mnist._bundled(name), datasets.DATASETS["mnist"].files[key])
