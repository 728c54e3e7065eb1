"""Dropout masks per example (the default) or one per mini-batch (the book's chapter 3): the engines
agree on both, and per mini-batch the dropped units are the same for every example of a batch."""

from __future__ import annotations

import numpy as np
import pytest

import nndl
from nndl import reference


@pytest.mark.parametrize("masks", ["per_example", "per_mini_batch"])
def test_engines_agree_on_either_kind_of_mask(masks, mnist_arrays):
    (X, y), _, _ = mnist_arrays
    nets = [Engine([784, 12, 10], seed=5) for Engine in (nndl.Network, reference.Network)]
    for net in nets:
        net.SGD((X[:40], y[:40]), 1, 20, 0.5, dropout=0.5, dropout_masks=masks, verbose=False)
    for a, b in zip(nets[0].weights, nets[1].weights):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13)


def test_one_mask_per_mini_batch_leaves_the_dropped_units_weights_alone(Engine, mnist_arrays):
    (X, y), _, _ = mnist_arrays
    changed_rows = {}
    for masks in ("per_example", "per_mini_batch"):
        net = Engine([784, 40, 10], seed=5)
        before = net.weights[0].copy()
        net.SGD((X[:20], y[:20]), 1, 20, 0.5, dropout=0.5, dropout_masks=masks, verbose=False)  # one step
        changed_rows[masks] = int(np.sum(np.any(net.weights[0] != before, axis=1)))
    # A dropped unit gets no gradient: with one mask for the batch about half the rows stay as
    # they were; with a mask per example, 20 examples leave almost no unit dropped for all.
    assert changed_rows["per_example"] >= 38
    assert 10 <= changed_rows["per_mini_batch"] <= 30


def test_an_unknown_kind_of_mask_is_refused_by_name(Engine, mnist_arrays):
    (X, y), _, _ = mnist_arrays
    with pytest.raises(ValueError, match="dropout_masks: unknown value 'per_batch'"):
        Engine([784, 5, 10], seed=1).SGD((X[:20], y[:20]), 1, 10, 0.5, dropout=0.5, dropout_masks="per_batch")
