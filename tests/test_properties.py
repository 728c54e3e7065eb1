"""Properties over random networks, hyper-parameters and data (hypothesis): the two engines agree,
and training either finishes with finite weights or stops with DivergenceError; nothing crashes.

Bounded: a fixed number of examples each (derandomized, so CI runs the same cases every time and
a failure reproduces), no per-example deadline (the sanitizer pass is several times slower).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nndl
from nndl import reference

BOUNDED = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# (cost, output activation): the pairings both engines support
HEADS = [
    ("CrossEntropyCost", "sigmoid"),
    ("QuadraticCost", "sigmoid"),
    ("QuadraticCost", "tanh"),
    ("QuadraticCost", "relu"),
    ("LogLikelihoodCost", "softmax"),
]


@st.composite
def runs(draw, max_width: int = 6, max_n: int = 12):
    sizes = draw(st.lists(st.integers(1, max_width), min_size=2, max_size=4))
    if sizes[-1] == 1:
        sizes[-1] = 2  # a classifier needs two outputs for labels to mean anything
    cost, output = draw(st.sampled_from(HEADS))
    hidden = draw(st.sampled_from(["sigmoid", "tanh", "relu"]))
    n = draw(st.integers(1, max_n))
    regularization = draw(st.sampled_from(["none", "l2", "l1", "elastic_net"]))
    finite = dict(allow_nan=False, allow_infinity=False)
    run = dict(
        epochs=draw(st.integers(1, 2)),
        mini_batch_size=draw(st.integers(1, n)),
        eta=draw(st.floats(0.01, 1.0, **finite)),
        lmbda=0.0 if regularization == "none" else draw(st.floats(0.0, 5.0, **finite)),
        regularization=regularization,
        l1_method=draw(st.sampled_from(["subgradient", "proximal", "cumulative"])),
        l1_ratio=draw(st.floats(0.0, 1.0, **finite)),
        momentum=draw(st.sampled_from([0.0, 0.0, 0.5, 0.9])),
        dropout=draw(st.sampled_from([0.0, 0.0, 0.2, 0.5])),
    )
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2, 2, size=(n, sizes[0]))
    labels = rng.integers(0, sizes[-1], size=n)
    net = dict(sizes=sizes, cost=cost, activation=[hidden] * (len(sizes) - 2) + [output], seed=seed)
    return net, run, (X, labels)


@pytest.mark.filterwarnings("ignore::nndl.TrainingWarning")  # extreme data on purpose: the warnings are right
@BOUNDED
@given(runs())
def test_engines_agree_on_random_runs(case):
    net_args, run, data = case
    cpp, ref = nndl.Network(**net_args), reference.Network(**net_args)
    # One gradient before any training: the same to float64 rounding.
    x, label = data[0][:1].T, int(data[1][0])
    (cpp_nabla_b, cpp_nabla_w), (ref_nabla_b, ref_nabla_w) = cpp.backprop(x, label), ref.backprop(x, label)
    for g, h in zip([*cpp_nabla_b, *cpp_nabla_w], [*ref_nabla_b, *ref_nabla_w]):
        np.testing.assert_allclose(g, h, rtol=1e-10, atol=1e-12)
    h_cpp = cpp.SGD(data, verbose=False, monitor_training_cost=True, **run)
    h_ref = ref.SGD(data, verbose=False, monitor_training_cost=True, **run)
    # Up to 24 steps of float64 arithmetic in different summation orders (and FMA): about 1e-15
    # relative per operation, amplified a little by each step; 1e-9 is far below any real bug.
    for p, q in zip(cpp.weights + cpp.biases, ref.weights + ref.biases):
        np.testing.assert_allclose(p, q, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(h_cpp.training_cost, h_ref.training_cost, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(cpp.feedforward(data[0]), ref.feedforward(data[0]), rtol=1e-9, atol=1e-10)


@st.composite
def wild_runs(draw):
    """Wider nets, float32, any eta up to 1e6: training may diverge, but must do so cleanly."""
    net_args, run, data = draw(runs(max_width=20, max_n=40))
    net_args["dtype"] = draw(st.sampled_from([np.float32, np.float64]))
    run["eta"] = draw(st.floats(1e-6, 1e6, allow_nan=False, allow_infinity=False))
    run["lmbda"] = draw(st.floats(0.0, 1e3, allow_nan=False, allow_infinity=False))
    X = data[0] * draw(st.sampled_from([1.0, 1e3, 1e30]))
    return net_args, run, (X, data[1])


@pytest.mark.filterwarnings("ignore::nndl.TrainingWarning")  # extreme data on purpose: the warnings are right
@BOUNDED
@given(wild_runs(), st.sampled_from([nndl.Network, reference.Network]))
def test_training_either_finishes_finite_or_diverges_cleanly(case, Engine):
    net_args, run, data = case
    net = Engine(**net_args)
    try:
        net.SGD(data, verbose=False, **run)
    except nndl.DivergenceError as error:
        assert "smaller eta" in str(error)
    assert all(np.isfinite(p).all() for p in net.weights + net.biases)
    assert all(p.dtype == net.dtype for p in net.weights + net.biases)
    correct = net.accuracy(data)
    assert 0 <= correct <= len(data[1])
