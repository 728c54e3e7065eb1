"""Fuzzing the readers of untrusted files: random and mutated bytes into ``nndl.load``,
``nndl.data.read_idx``, ``nndl.datasets.load_idx`` and the book-pickle reader.

Every input must either load or raise a clean ValueError (the datasets module's DatasetError is
one); anything else (RecursionError, OverflowError, MemoryError, zlib.error, IndexError, a crash
of the interpreter) is a bug. Bounded: FUZZ_EXAMPLES inputs per target, a few seconds each; random
(not derandomized), so each CI run tries new inputs; a failure prints the input to reproduce it.
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import os
import pickle
import struct
import subprocess
import sys
import tempfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nndl
from nndl.data import read_idx

FUZZ_EXAMPLES = int(os.environ.get("NNDL_FUZZ_EXAMPLES", "300"))
FUZZ = settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def write(data: bytes, suffix: str = "") -> str:
    fd, path = tempfile.mkstemp(prefix="nndl-fuzz-", suffix=suffix)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return path


@st.composite
def mutated(draw, seed: bytes):
    """``seed`` with a few bytes flipped, deleted, inserted or its tail cut: close to valid."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["flip", "delete", "insert", "truncate", "token"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "delete" and data:
            del data[at : at + draw(st.integers(1, 16))]
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "truncate":
            del data[at:]
        else:  # tokens that make structurally interesting JSON and IDX headers
            data[at:at] = draw(
                st.sampled_from(
                    [
                        b"[",
                        b"]",
                        b"{",
                        b"}",
                        b",",
                        b'"',
                        b"NaN",
                        b"-Infinity",
                        b"1e999",
                        b"9" * 40,
                        b"null",
                        b"true",
                        b"\xff\xff\xff\xff",
                        b"\x00\x00\x08\x03",
                    ]
                )
            )
    return bytes(data)


# -- nndl.load -------------------------------------------------------------------------------------
def _saved_network() -> bytes:
    net = nndl.Network([3, 2, 2], seed=1)
    fd, path = tempfile.mkstemp(suffix=".json")
    os.close(fd)
    try:
        net.save(path)
        with open(path, "rb") as f:
            return f.read()
    finally:
        os.unlink(path)


VALID_NETWORK = _saved_network()
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=20,
)
network_like = st.fixed_dictionaries(
    {},
    optional={
        "sizes": st.lists(st.integers(-3, 5), max_size=4) | json_values,
        "weights": json_values,
        "biases": json_values,
        "cost": st.sampled_from(["CrossEntropyCost", "QuadraticCost", "LogLikelihoodCost"]) | json_values,
        "activations": st.lists(st.sampled_from(["sigmoid", "relu", "softmax", "x"]), max_size=3) | json_values,
        "dtype": st.sampled_from(["float32", "float64", "int8", "U9"]) | json_values,
    },
).map(lambda d: json.dumps(d).encode())


def _check_load(data: bytes) -> None:
    path = write(data, ".json")
    try:
        net = nndl.load(path)
    except ValueError as error:
        assert type(error) is ValueError and "filename" in str(error)
        return
    finally:
        os.unlink(path)
    assert all(np.isfinite(p).all() for p in net.weights + net.biases)  # loaded: then it is usable
    net.feedforward(np.zeros((1, net.sizes[0])))


@FUZZ
@given(st.binary(max_size=512) | mutated(VALID_NETWORK) | network_like)
def test_fuzz_load(data):
    _check_load(data)


# -- IDX: nndl.data.read_idx and nndl.datasets.load_idx ----------------------------------------------
def idx(array: np.ndarray) -> bytes:
    return (
        bytes([0, 0, 8, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.astype(np.uint8).tobytes()
    )


IMAGES = idx(np.arange(3 * 4 * 4).reshape(3, 4, 4) % 256)
LABELS = idx(np.array([1, 0, 2]))
idx_inputs = (
    st.binary(max_size=256)
    | mutated(IMAGES)
    | mutated(LABELS)
    | mutated(gzip.compress(IMAGES))
    | mutated(gzip.compress(LABELS))
)


@FUZZ
@given(idx_inputs)
def test_fuzz_read_idx(data):
    try:
        array = read_idx(data, "fuzz")
    except ValueError as error:
        assert "fuzz" in str(error)
        return
    assert array.dtype == np.uint8 and array.ndim >= 1


@FUZZ
@given(idx_inputs, idx_inputs, st.sampled_from(["book", "arrays"]))
def test_fuzz_datasets_load_idx(images, labels, format):
    paths = write(images), write(labels)
    try:
        nndl.datasets.load_idx(*paths, format=format)
    except ValueError:
        pass  # DatasetError is a ValueError
    finally:
        for p in paths:
            os.unlink(p)


# -- the book's mnist.pkl.gz reader ----------------------------------------------------------------
def _small_mnist_pickle(protocol: int) -> bytes:
    rng = np.random.default_rng(0)
    split = lambda n: (rng.uniform(size=(n, 6)).astype(np.float32), rng.integers(0, 10, n))  # noqa: E731
    buffer = io.BytesIO()
    pickle.dump((split(3), split(2), split(2)), buffer, protocol=protocol)
    return buffer.getvalue()


PICKLES = [_small_mnist_pickle(2), _small_mnist_pickle(4)]


# The pickle reader runs in a child process, so that a crash of the interpreter is a test failure
# with the input that caused it rather than the end of the test run. (This fuzzer once found one:
# numpy's ndarray.__setstate__ trusted a crafted state, see CRASHING_PICKLE; nndl.datasets now
# rebuilds arrays from checked states instead.)
PICKLE_CHILD = """
import os, random, resource, sys, warnings
if "asan" not in os.environ.get("LD_PRELOAD", ""):  # ASan reserves terabytes of address space up front
    resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))  # a pickle asking for 100 GB: MemoryError
import nndl
warnings.simplefilter("ignore")  # numpy's cast warnings on garbage numbers are not failures
seeds, budget, path = [bytes.fromhex(h) for h in sys.argv[1].split(",")], int(sys.argv[2]), sys.argv[3]
random.seed(int(sys.argv[4]))
tokens = [b"\\xff\\xff\\xff\\xff", b"N", b"]", b"9" * 40, b"\\x95\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\x7f"]
for i in range(budget or len(seeds)):  # budget 0: the seeds themselves, unmutated
    data = bytearray(random.choice(seeds) if budget else seeds[i])
    for _ in range(random.randint(1, 8) if budget else 0):
        at, k = random.randrange(max(len(data), 1)), random.random()
        if k < 0.4 and data:
            data[at] ^= 1 << random.randrange(8)
        elif k < 0.55:
            del data[at:at + random.randint(1, 16)]
        elif k < 0.75:
            data[at:at] = bytes(random.randrange(256) for _ in range(random.randint(1, 8)))
        elif k < 0.85:
            del data[at:]
        else:
            data[at:at] = random.choice(tokens)
    with open(path, "wb") as f:
        f.write(data)
    try:
        nndl.datasets.load_mnist_pickle(path, format=random.choice(["book", "arrays"]))
    except ValueError:
        pass
    except BaseException as error:
        print(f"input {i} raised {type(error).__name__}: {error}")
        sys.exit(1)
"""

#: A mutated book pickle (459 bytes) that made numpy's ndarray.__setstate__ segfault when the
#: restricted unpickler of nndl.datasets still handed arrays to numpy's own setstate.
CRASHING_PICKLE = base64.b64decode(
    "gAJjbnVtcHkuX2NvcmUubXVsdGlhcnJheQpfcmVjb25zdHJ1Y3QKcQBjbnVtcHkKbmRhcnJheQpxAUsAhXECY19jb2RlY3MK"
    "ZW5jb2RlCnEDWAEAAABicQRYBgAAAGxhdGluMXEFhnEGUnEHh3EIUnEJKEsBSwNLBoZxCmNudW1weQpkdHlwZQpxC1gCAAAA"
    "ZjRxDImIh3ENUnEOKEsDWAEAAABOTkr/////Sv////9LAHRxEGKJaANYWgAAAMOsDyM/fCHCij7Dm8OTJz3Dt2TChzx6MlA/"
    "WcKqaT97TBs/ScOAOj8CKws/w6hgbz/Dh8ObUD9peDM7w5l+Wz8HwpEJPcKzw4o6PxHDnzM+S8O5XD80wp0KP3ERaAWGcRJS"
    "cRN0cRRiaABoAUsAhXEVaAeHcRZScRcoSwFLA4VxGGgLWAIAAABpOHEZiYiHcRpScRsoSwNoD05OTkr/////Sv////9LAHRx"
    "HGKJaANYGAAAAAAAAAAAAAAAAgAAAAAAAAAEAAAAAAAAAHEdaAWGcR5ScR90cSBihnEhaABoAUsAhXEiaAeHcSNScSQoSwFL"
    "AksGhnElaA6JaANYPwAAAMKow77Dpzw7wojD"
)


def _run_pickle_child(tmp_path, seeds: list, budget: int, seed: int) -> subprocess.CompletedProcess:
    script = tmp_path / "fuzz_pickle.py"
    script.write_text(PICKLE_CHILD)
    env = dict(os.environ)
    if "asan" in env.get("LD_PRELOAD", ""):
        # The child caps its address space at 3 GB (RLIMIT_AS), except under ASan, which reserves
        # terabytes up front: there ASan's own limits stand in for it, so that a mutated pickle asking
        # for ~20 GB gets MemoryError (a DatasetError) instead of the kernel's OOM killer (seen in CI).
        env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":max_allocation_size_mb=3072:soft_rss_limit_mb=4096"
    return subprocess.run(
        [
            sys.executable,
            str(script),
            ",".join(s.hex() for s in seeds),
            str(budget),
            str(tmp_path / "input.pkl"),
            str(seed),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )


def test_fuzz_mnist_pickle(tmp_path):
    seed = int.from_bytes(os.urandom(4), "little")
    done = _run_pickle_child(tmp_path, PICKLES + [gzip.compress(PICKLES[0])], FUZZ_EXAMPLES, seed)
    assert done.returncode == 0, f"seed {seed}, return code {done.returncode}: {done.stdout}{done.stderr[-2000:]}"


def test_crafted_pickle_is_a_clean_error(tmp_path):
    """The input that once crashed the interpreter now gives DatasetError, in a child process."""
    done = _run_pickle_child(tmp_path, [CRASHING_PICKLE], 0, 0)
    assert done.returncode == 0, f"return code {done.returncode}: {done.stdout}{done.stderr[-2000:]}"
    path = tmp_path / "crafted.pkl"
    path.write_bytes(CRASHING_PICKLE)
    with pytest.raises(nndl.datasets.DatasetError):
        nndl.datasets.load_mnist_pickle(path)


def test_fuzz_seeds_are_valid():
    """The seeds the mutations start from load: the fuzzers start near valid input."""
    path = write(VALID_NETWORK)
    try:
        assert nndl.load(path).sizes == [3, 2, 2]
    finally:
        os.unlink(path)
    assert read_idx(IMAGES).shape == (3, 4, 4) and read_idx(gzip.compress(LABELS)).tolist() == [1, 0, 2]
    for data in PICKLES:
        path = write(gzip.compress(data))
        try:
            (X, y), _, _ = nndl.datasets.load_mnist_pickle(path, format="arrays")
        finally:
            os.unlink(path)
        assert X.shape == (3, 6) and len(y) == 3


@pytest.mark.parametrize("depth", [10, 100_000])
def test_deeply_nested_json_is_a_value_error(tmp_path, depth):
    path = tmp_path / "deep.json"
    path.write_bytes(b"[" * depth + b"]" * depth)
    with pytest.raises(ValueError, match="filename"):
        nndl.load(path)
