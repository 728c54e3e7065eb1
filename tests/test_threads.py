"""Results do not depend on the thread count. Work is split into parts whose every number is
computed by one thread in a fixed order (examples for the forward/backward pass, output neurons
for the fused update, fixed blocks of rows for evaluation, summed in block order), so one and two
threads give bit-identical results; the tests assert exact equality. No timing here: speed is the
benchmark's business (python -m nndl.bench)."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest

import nndl
from conftest import printed_by_new_python


def params(net):
    return [p.copy() for p in list(net.weights) + list(net.biases)]


def train(threads, X, y, epochs=1, **kwargs):
    nndl.set_num_threads(threads)
    net = nndl.Network([784, 30, 10], seed=7, dtype=kwargs.pop("dtype", np.float64))
    history = net.SGD((X, y), epochs, 100, 0.5, lmbda=5.0, verbose=False, **kwargs)
    return net, history


def test_default_is_the_machine_or_the_environment():
    env = dict(os.environ, NNDL_NUM_THREADS="3")
    assert printed_by_new_python("import nndl; print(nndl.get_num_threads())", env) == "3"
    if "NNDL_NUM_THREADS" not in os.environ:
        assert nndl.get_num_threads() >= 1


def test_set_num_threads_checks_its_argument(restore_threads):
    for bad in (0, -1, 100000):
        with pytest.raises(ValueError, match="threads"):
            nndl.set_num_threads(bad)
    nndl.set_num_threads(2)
    assert nndl.get_num_threads() == 2


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    "rule", [dict(regularization="l1"), dict(regularization="l1", l1_method="cumulative", momentum=0.5, dropout=0.2)]
)
def test_training_is_the_same_with_one_and_two_threads(restore_threads, mnist_arrays, dtype, rule):
    """Mini-batch 100 is above the threshold where training splits between threads."""
    (X, y), (Xv, yv), _ = mnist_arrays
    runs = [
        train(
            t,
            X[:5000],
            y[:5000],
            dtype=dtype,
            evaluation_data=(Xv[:2000], yv[:2000]),
            monitor_evaluation_cost=True,
            monitor_evaluation_accuracy=True,
            monitor_update_ema=0.1,
            **rule,
        )
        for t in (1, 2, 3)
    ]
    (one, h1), (two, h2), (three, h3) = runs
    for a, b in zip(params(one), params(two)):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(params(one), params(three)):
        np.testing.assert_array_equal(a, b)
    assert h1.evaluation_cost == h2.evaluation_cost == h3.evaluation_cost
    assert h1.evaluation_accuracy == h2.evaluation_accuracy == h3.evaluation_accuracy
    assert h1.update_ema == h2.update_ema == h3.update_ema


def test_evaluation_is_the_same_with_one_and_two_threads(restore_threads, mnist_arrays):
    (X, y), (Xv, yv), _ = mnist_arrays
    net = nndl.Network([784, 30, 10], seed=1)
    net.SGD((X[:2000], y[:2000]), 1, 10, 0.5, verbose=False)
    results = []
    for t in (1, 2):
        nndl.set_num_threads(t)
        results.append((net.accuracy((Xv, yv)), net.total_cost((Xv, yv), 5.0), net.feedforward(Xv)))
    assert results[0][0] == results[1][0]
    assert results[0][1] == results[1][1]
    np.testing.assert_array_equal(results[0][2], results[1][2])


def test_networks_trained_in_parallel_python_threads(restore_threads, mnist_arrays):
    """Two Python threads training at once share the pool: one gets it, the other runs its parts
    inline; both get the results of training alone."""
    (X, y), _, _ = mnist_arrays
    nndl.set_num_threads(2)
    alone = [train(2, X[:3000], y[:3000], regularization="l1")[0] for _ in range(2)]
    nets = [nndl.Network([784, 30, 10], seed=7) for _ in range(2)]
    workers = [
        threading.Thread(
            target=net.SGD,
            args=((X[:3000], y[:3000]), 1, 100, 0.5),
            kwargs=dict(lmbda=5.0, regularization="l1", verbose=False),
        )
        for net in nets
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    for net, ref in zip(nets, alone):
        for a, b in zip(params(net), params(ref)):
            np.testing.assert_array_equal(a, b)


def test_pool_works_in_a_forked_child(restore_threads, mnist_arrays):
    """A fork()ed child inherits the pool object but not its threads: it must start its own
    rather than wait for threads that do not exist (set_num_threads used to hang there)."""
    import multiprocessing

    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("no fork on this platform")
    nndl.set_num_threads(2)
    (X, y), _, _ = mnist_arrays
    expected = train(2, X[:1000], y[:1000], regularization="l1")[0]
    ctx = multiprocessing.get_context("fork")
    import warnings

    with warnings.catch_warnings():  # Python >= 3.12 warns about fork with threads: that is the point here
        warnings.simplefilter("ignore", DeprecationWarning)
        with ctx.Pool(1) as pool:
            weights = pool.apply(_train_in_child, (X[:1000], y[:1000]))
    np.testing.assert_array_equal(weights, expected.weights[0])


def _train_in_child(X, y):
    nndl.set_num_threads(1)
    nndl.set_num_threads(2)
    return train(2, X, y, regularization="l1")[0].weights[0]


def test_training_over_many_calls_is_the_same_with_one_and_two_threads(restore_threads, mnist_arrays):
    """Each engine call times its first mini-batches split and whole, and the network's next calls
    reuse what it found (split_trial.hpp): whichever way a mini-batch runs, its numbers are the same.
    12,000 examples at m=100 are two calls an epoch, six in all."""
    (X, y), _, _ = mnist_arrays
    runs = [train(t, X[:12000], y[:12000], epochs=3, monitor_update_ema=0.1) for t in (1, 2)]
    (one, h1), (two, h2) = runs
    for a, b in zip(params(one), params(two)):
        np.testing.assert_array_equal(a, b)
    assert h1.update_ema == h2.update_ema
