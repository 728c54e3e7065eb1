"""docs/l1_from_the_book.md runs as written (on 2,000 images for one epoch), and the overrides it
relies on are what SGD calls: the reference engine calls them as the book does, nndl.Network refuses."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import nndl
from nndl import reference

PAGE = (Path(__file__).resolve().parent.parent / "docs" / "l1_from_the_book.md").read_text(encoding="utf-8")
FULL_RUN = "N_TRAIN, EPOCHS = 10_000, 3"


@pytest.mark.slow  # the pure-Python engine: about 30 s on the shared machine
def test_the_page_runs_and_shows_what_it_says():
    code = "\n".join(re.findall(r"```python\n(.*?)```", PAGE, flags=re.S))
    assert FULL_RUN in code
    scope: dict = {"__name__": "docs_page"}
    exec(compile(code.replace(FULL_RUN, "N_TRAIN, EPOCHS = 2_000, 1"), "l1_from_the_book.md", "exec"), scope)
    accuracy, networks = scope["accuracy"], scope["networks"]
    assert accuracy["AveragedOverLayer"] < 0.2 and accuracy["LmbdaOverM"] < 0.2  # chance
    assert accuracy["BookL1"] > 0.6 and accuracy["BookL2"] > 0.6 and accuracy["L2ShrinkKept"] > 0.6
    difference, built_in = scope["largest_difference"], scope["built_in"]
    assert difference(networks["BookL1"], scope["l1"]) < 1e-9
    assert difference(networks["L2ShrinkKept"], scope["elastic"]) < 1e-9
    assert difference(networks["BookL2"], built_in(lmbda=5.0, regularization="l2")) < 1e-9


class Raising(reference.Network):
    def update_mini_batch(self, mini_batch, eta, lmbda, n):
        raise RuntimeError("my update ran")


def test_sgd_calls_an_overridden_update_mini_batch_with_the_books_arguments(mnist_arrays):
    (X, y), _, _ = mnist_arrays
    calls = []

    class Recording(reference.Network):
        def update_mini_batch(self, mini_batch, eta, lmbda, n):
            calls.append((len(mini_batch), mini_batch[0][0].shape, mini_batch[0][1].shape, eta, lmbda, n))

    Recording([784, 5, 10], seed=1).SGD((X[:25], y[:25]), 2, 10, 0.5, lmbda=3.0, verbose=False)
    assert calls == [(10, (784, 1), (10, 1), 0.5, 3.0, 25)] * 2 + [(5, (784, 1), (10, 1), 0.5, 3.0, 25)] + [
        (10, (784, 1), (10, 1), 0.5, 3.0, 25)
    ] * 2 + [(5, (784, 1), (10, 1), 0.5, 3.0, 25)]
    with pytest.raises(RuntimeError, match="my update ran"):  # an error in it stops SGD
        Raising([784, 5, 10], seed=1).SGD((X[:25], y[:25]), 1, 10, 0.5, verbose=False)


def test_an_overridden_backprop_is_what_the_default_update_uses(mnist_arrays):
    (X, y), _, _ = mnist_arrays

    class Halved(reference.Network):
        def backprop(self, x, y):
            nabla_b, nabla_w = super().backprop(x, y)
            return [b / 2 for b in nabla_b], [w / 2 for w in nabla_w]

    halved, plain = Halved([784, 5, 10], seed=1), reference.Network([784, 5, 10], seed=1)
    halved.SGD((X[:20], y[:20]), 1, 10, 0.5, verbose=False)
    plain.SGD((X[:20], y[:20]), 1, 10, 0.25, verbose=False)  # half the gradient = half eta, without lmbda
    for a, b in zip(halved.weights, plain.weights):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    with pytest.raises(ValueError, match="dropout: your backprop"):
        Halved([784, 5, 10], seed=1).SGD((X[:20], y[:20]), 1, 10, 0.5, dropout=0.5, verbose=False)


def test_options_an_override_does_not_take_are_refused_by_name(mnist_arrays):
    (X, y), _, _ = mnist_arrays
    with pytest.raises(ValueError, match=r"regularization: SGD calls your update_mini_batch"):
        Raising([784, 5, 10], seed=1).SGD((X[:20], y[:20]), 1, 10, 0.5, regularization="l1", verbose=False)


@pytest.mark.parametrize("method", ["update_mini_batch", "backprop"])
def test_the_cpp_engine_refuses_overrides_pointing_to_the_reference_engine(method, mnist_arrays):
    (X, y), _, _ = mnist_arrays
    Subclass = type("Subclass", (nndl.Network,), {method: lambda self, *args: None})
    with pytest.raises(TypeError, match=rf"{method}: nndl.Network trains in C\+\+ .* nndl.reference.Network"):
        Subclass([784, 5, 10], seed=1).SGD((X[:20], y[:20]), 1, 10, 0.5, verbose=False)
