"""Shared fixtures: most checks run against both engines, the C++ one and the reference."""

from __future__ import annotations

import os
import subprocess
import sys

# scikit-learn's check_estimator runs its array-API check (that enabling array-API dispatch leaves
# results unchanged) only when SciPy was imported with this set; without it the check skips itself.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import numpy as np
import pytest

import nndl
from nndl import reference

ENGINES = {"cpp": nndl.Network, "python": reference.Network}


@pytest.fixture(params=sorted(ENGINES), ids=lambda name: name)
def Engine(request):
    """The Network class of one engine."""
    return ENGINES[request.param]


@pytest.fixture(scope="session")
def mnist_arrays():
    """The bundled MNIST in the book's split, as ((X, y), (X, y), (X, y))."""
    return nndl.load_mnist(format="arrays")


@pytest.fixture
def restore_threads():
    """Restore the engine's thread count after a test that changes it."""
    before = nndl.get_num_threads()
    yield
    nndl.set_num_threads(before)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


def printed_by_new_python(code: str, env: dict[str, str]) -> str:
    """What `code` prints (stripped), run by a new Python process with environment `env`: for
    what nndl decides once, at import."""
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip()


def max_abs_diff(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    assert len(a) == len(b)
    return max(float(np.max(np.abs(x - y))) for x, y in zip(a, b))


@pytest.fixture
def simd(request):
    """Run the test with one kernel set forced (``request.param``, with ``indirect=True``), then
    restore the chosen one."""
    before = nndl.simd_info()["path"]
    nndl.set_simd(request.param)
    yield request.param
    nndl.set_simd(before)
