"""Bad input at the boundary: every public method of both engines, class by class.

Each case of ``BAD_CALLS`` is one bad argument given to one method of a [4, 3, 2] network. Both
engines must raise the same exception type, with a message naming the argument (and the value,
where there is one to name), and leave the network as it was: weights, biases and the random
generator that draws the next epoch's order. ``LAYOUTS`` are inputs that are valid but not in the
engines' own layout (non-contiguous, read-only, unaligned, other dtypes): they must be copied,
never mis-read, so the results equal those on a plain contiguous copy, bit for bit.

The README's Reliability section quotes the counts: ``python -m pytest tests/test_validation.py -q``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pytest

import nndl
from nndl.network2 import EXAMPLES_PER_CHUNK

SIZES = [4, 3, 2]
_rng = np.random.default_rng(2024)
# multiples of 1/256: exactly representable in float32 too, so every layout holds the same values
X = _rng.integers(0, 256, size=(12, 4)) / 256.0
y = np.arange(12) % 2
Y = np.eye(2)[y]


def _with(array: np.ndarray, index: tuple, value: float) -> np.ndarray:
    out = array.copy()
    out[index] = value
    return out


@dataclass
class Bad:
    category: str
    method: str
    args: dict = field(default_factory=dict)  # replaces the valid call's arguments
    error: type = ValueError
    match: str = ""
    id: str = ""


def valid_args(method: str, tmp_path) -> dict:
    return {
        "SGD": dict(training_data=(X, y), epochs=1, mini_batch_size=3, eta=0.5, verbose=False),
        "update_mini_batch": dict(mini_batch=(X[:3], y[:3]), eta=0.5, lmbda=0.1, n=12),
        "accuracy": dict(data=(X, y)),
        "total_cost": dict(data=(X, y), lmbda=0.1),
        "feedforward": dict(a=X),
        "backprop": dict(x=X[0].reshape(4, 1), y=1),
        "sparsity": dict(threshold=1e-3),
        "prune": dict(threshold=1e-3),
        "save": dict(filename=tmp_path / "net.json"),
    }[method]


NAN_X, INF_X = _with(X, (3, 1), np.nan), _with(X, (5, 2), -np.inf)
DATA_METHODS = {"SGD": "training_data", "update_mini_batch": "mini_batch", "accuracy": "data", "total_cost": "data"}

BAD_CALLS: list[Bad] = []


def add(category: str, method: str, error: type, match: str, **args: Any) -> None:
    BAD_CALLS.append(Bad(category, method, args, error, match, f"{category}-{method}-{len(BAD_CALLS)}"))


# -- data: shapes against the network, dtypes, labels in range, NaN/inf: every method taking data
for method, name in DATA_METHODS.items():
    add(
        "data shape",
        method,
        ValueError,
        rf"{name}: inputs must have shape \(n, 4\).*\(12, 3\)",
        **{name: (X[:, :3], y)},
    )
    add(
        "data shape",
        method,
        ValueError,
        rf"{name}: integer labels must have shape \(12,\), got \(11,\)",
        **{name: (X, y[:11])},
    )
    add(
        "data shape",
        method,
        ValueError,
        rf"{name}: got targets of shape \(12, 3\); expected \(12, 2\)",
        **{name: (X, np.eye(3)[y])},
    )
    add("data shape", method, ValueError, rf"{name}: no examples", **{name: (X[:0], y[:0])})
    add("data shape", method, ValueError, rf"{name}: no examples", **{name: []})
    add("data shape", method, ValueError, rf"{name}: example 1 has 3 inputs", **{name: [(X[0], 1), (X[1, :3], 0)]})
    add(
        "data shape",
        method,
        ValueError,
        rf"{name}: example 0 has a target of 3 values",
        **{name: [(X[0], np.ones((3, 1)))]},
    )
    add("data type", method, TypeError, rf"{name}: example 0 is not an \(x, y\) pair", **{name: [X[0]]})
    add("data type", method, TypeError, rf"{name}: expected a list of \(x, y\) tuples.*NoneType", **{name: None})
    add("data type", method, TypeError, rf"{name}: expected a list of \(x, y\) tuples.*str", **{name: "mnist"})
    add("dtype", method, TypeError, rf"{name}: inputs must be numbers, got dtype bool", **{name: (X > 0.5, y)})
    add("dtype", method, TypeError, rf"{name}: inputs must be numbers, got dtype complex128", **{name: (X + 0j, y)})
    add(
        "dtype",
        method,
        TypeError,
        rf"{name}: inputs must be numbers, got dtype object",
        **{name: (X.astype(object), y)},
    )
    add(
        "dtype",
        method,
        TypeError,
        rf"{name}: targets must be integer labels or float arrays, got dtype <U",
        **{name: (X, y.astype(str))},
    )
    add("labels out of range", method, ValueError, rf"{name}: labels must lie in \[0, 2\).*-1", **{name: (X, y - 1)})
    add("labels out of range", method, ValueError, rf"{name}: labels must lie in \[0, 2\).*to 2", **{name: (X, y + 1)})
    add(
        "labels out of range",
        method,
        ValueError,
        rf"{name}: example 0 has label {2**70}",
        **{name: [(X[0], 2**70), (X[1], 0)]},
    )
    add("NaN/inf", method, ValueError, rf"{name}: inputs contain NaN or infinity", **{name: (NAN_X, y)})
    add("NaN/inf", method, ValueError, rf"{name}: inputs contain NaN or infinity", **{name: (INF_X, y)})
    add(
        "NaN/inf",
        method,
        ValueError,
        rf"{name}: targets contain NaN or infinity",
        **{name: (X, _with(Y, (0, 0), np.nan))},
    )

for method, arg in (("feedforward", "a"), ("backprop", "x")):
    add("NaN/inf", method, ValueError, rf"{arg}: contains NaN or infinity", **{arg: NAN_X[3].reshape(4, 1)})
    add("NaN/inf", method, ValueError, rf"{arg}: contains NaN or infinity", **{arg: INF_X[5].reshape(4, 1)})
    add(
        "dtype",
        method,
        TypeError,
        rf"{arg}: expected an array of numbers, got dtype <U1",
        **{arg: np.array([["a"]] * 4)},
    )
    add("dtype", method, TypeError, rf"{arg}: expected an array of numbers, got dtype bool", **{arg: X[0:1] > 0.5})
    add("dtype", method, TypeError, rf"{arg}: expected an array of numbers, got dtype complex128", **{arg: X[0:1] + 1j})
    add("dtype", method, TypeError, rf"{arg}: expected an array of numbers, got dtype object", **{arg: None})
    add("data shape", method, ValueError, rf"{arg}: not an array of numbers", **{arg: [[1.0, 2.0], [3.0]]})
add(
    "data shape",
    "feedforward",
    ValueError,
    r"a: expected one input of 4 values .* rows \(k, 4\) or k images, got shape \(12, 3\)",
    a=X[:, :3],
)
add(
    "data shape",
    "feedforward",
    ValueError,
    r"a: expected one input of 4 values .* rows \(k, 4\) or k images, got shape \(2, 3, 4\)",
    a=np.zeros((2, 3, 4)),
)
add("data shape", "backprop", ValueError, r"x: expected 4 inputs, got shape \(3, 1\)", x=X[0, :3].reshape(3, 1))
add(
    "data shape",
    "backprop",
    ValueError,
    r"y: expected 2 target values or an integer label, got shape \(3, 1\)",
    y=np.ones((3, 1)),
)
add("labels out of range", "backprop", ValueError, r"y: label 2 is outside \[0, 2\)", y=2)
add("labels out of range", "backprop", ValueError, r"y: label -1 is outside \[0, 2\)", y=-1)
add("NaN/inf", "backprop", ValueError, r"y: contains NaN or infinity", y=np.array([[np.nan], [1.0]]))

# -- hyper-parameters: eta <= 0 or non-finite, lmbda < 0, mini_batch_size outside [1, n], epochs < 0
for method in ("SGD", "update_mini_batch"):
    add("eta", method, ValueError, r"eta: must be > 0.0, got 0", eta=0)
    add("eta", method, ValueError, r"eta: must be > 0.0, got -0.5", eta=-0.5)
    add("eta", method, ValueError, r"eta: must be finite, got nan", eta=float("nan"))
    add("eta", method, ValueError, r"eta: must be finite, got inf", eta=float("inf"))
    add("eta", method, TypeError, r"eta: expected a real number, got '0.5'", eta="0.5")
    add("eta", method, TypeError, r"eta: expected a real number, got None", eta=None)
    add("eta", method, TypeError, r"eta: expected a real number, got True", eta=True)
for method in ("SGD", "update_mini_batch", "total_cost"):
    add("lmbda", method, ValueError, r"lmbda: must be >= 0.0, got -1", lmbda=-1)
    add("lmbda", method, ValueError, r"lmbda: must be finite, got nan", lmbda=float("nan"))
    add("lmbda", method, ValueError, r"lmbda: must be finite, got inf", lmbda=np.inf)
    add("lmbda", method, TypeError, r"lmbda: expected a real number, got \[1\]", lmbda=[1])
add("mini_batch_size", "SGD", ValueError, r"mini_batch_size: must be >= 1, got 0", mini_batch_size=0)
add("mini_batch_size", "SGD", ValueError, r"mini_batch_size: must be >= 1, got -3", mini_batch_size=-3)
add("mini_batch_size", "SGD", ValueError, r"mini_batch_size: must be <= 12, got 13", mini_batch_size=13)
add("mini_batch_size", "SGD", TypeError, r"mini_batch_size: expected an integer, got 2.5", mini_batch_size=2.5)
add("mini_batch_size", "SGD", TypeError, r"mini_batch_size: expected an integer, got None", mini_batch_size=None)
add("epochs", "SGD", ValueError, r"epochs: must be >= 0, got -1", epochs=-1)
add("epochs", "SGD", TypeError, r"epochs: expected an integer, got 1.5", epochs=1.5)
add("epochs", "SGD", TypeError, r"epochs: expected an integer, got '3'", epochs="3")
add("epochs", "SGD", TypeError, r"epochs: expected an integer, got None", epochs=None)
for method in ("update_mini_batch", "total_cost"):
    add("other hyper-parameters", method, ValueError, r"n: must be >= 1, got 0", n=0)
    add("other hyper-parameters", method, TypeError, r"n: expected an integer, got 12.0", n=12.0)
for method in ("SGD", "update_mini_batch"):
    add("other hyper-parameters", method, ValueError, r"dropout: must be < 1.0, got 1.0", dropout=1.0)
    add("other hyper-parameters", method, ValueError, r"dropout: must be >= 0.0, got -0.1", dropout=-0.1)
    add("other hyper-parameters", method, ValueError, r"momentum: must be < 1.0, got 1", momentum=1)
    add("other hyper-parameters", method, ValueError, r"momentum: must be >= 0.0, got -0.5", momentum=-0.5)
    add("other hyper-parameters", method, ValueError, r"l1_ratio: must be <= 1.0, got 1.5", l1_ratio=1.5)
add("other hyper-parameters", "SGD", ValueError, r"monitor_update_ema: must be > 0.0, got 0", monitor_update_ema=0)
add("other hyper-parameters", "SGD", ValueError, r"monitor_update_ema: must be <= 1.0, got 2", monitor_update_ema=2)
add("other hyper-parameters", "SGD", ValueError, r"early_stopping_n: must be >= 0, got -1", early_stopping_n=-1)
add("other hyper-parameters", "SGD", TypeError, r"halve_eta_after: expected an integer, got 1.5", halve_eta_after=1.5)
add("other hyper-parameters", "SGD", ValueError, r"evaluation_data: early_stopping_n", early_stopping_n=2)
add(
    "other hyper-parameters",
    "SGD",
    ValueError,
    r"evaluation_data: inputs must have shape \(n, 4\)",
    evaluation_data=(X[:, :3], y),
)
add("other hyper-parameters", "SGD", TypeError, r"progress: expected True, False or a function.*got 3", progress=3)
for method in ("sparsity", "prune"):
    add("other hyper-parameters", method, ValueError, r"threshold: must be >= 0.0, got -1", threshold=-1)
    add("other hyper-parameters", method, ValueError, r"threshold: must be finite, got nan", threshold=float("nan"))
    add("other hyper-parameters", method, TypeError, r"threshold: expected a real number, got '0.1'", threshold="0.1")

# -- unknown names
for method in ("SGD", "update_mini_batch", "total_cost"):
    add("unknown names", method, ValueError, r"regularization: unknown value 'l3'", regularization="l3")
    add("unknown names", method, TypeError, r"regularization: expected one of .* got 2", regularization=2)
for method in ("SGD", "update_mini_batch"):
    add("unknown names", method, ValueError, r"l1_method: unknown value 'lasso'", l1_method="lasso")

# -- files
add("files", "save", TypeError, r"expected str, bytes or os.PathLike object, not int", filename=3)
add("files", "save", TypeError, r"expected str, bytes or os.PathLike object, not NoneType", filename=None)
add("files", "save", FileNotFoundError, r"No such file or directory", filename="/nonexistent-dir/net.json")


def state_of(net) -> tuple:
    return ([w.copy() for w in net.weights], [b.copy() for b in net.biases], net._rng.bit_generator.state)


def assert_unchanged(before: tuple, after: tuple) -> None:
    for p, q in zip(before[0] + before[1], after[0] + after[1]):
        assert np.array_equal(p, q)
    assert before[2] == after[2]


@pytest.mark.parametrize("case", BAD_CALLS, ids=lambda c: c.id)
def test_bad_call_raises_naming_the_argument_and_changes_nothing(Engine, case, tmp_path):
    net = Engine(SIZES, seed=1)
    before = state_of(net)
    args = valid_args(case.method, tmp_path)
    args.update(case.args)
    with pytest.raises(case.error, match=case.match) as info:
        getattr(net, case.method)(**args)
    assert type(info.value) is case.error  # exactly, so both engines raise the same type
    assert_unchanged(before, state_of(net))
    assert list(tmp_path.iterdir()) == []  # a refused save leaves no file, temporary or not


BAD_NETWORKS = [
    (dict(sizes=[3]), ValueError, r"sizes: a network needs at least an input and an output layer, got \[3\]"),
    (dict(sizes=[]), ValueError, r"sizes: a network needs at least an input and an output layer, got \[\]"),
    (dict(sizes=[3, 0]), ValueError, r"sizes\[1\]: must be >= 1, got 0"),
    (dict(sizes=[3, -2, 1]), ValueError, r"sizes\[1\]: must be >= 1, got -2"),
    (dict(sizes=[3.0, 2]), TypeError, r"sizes\[0\]: expected an integer, got 3.0"),
    (dict(sizes=[True, 2]), TypeError, r"sizes\[0\]: expected an integer, got True"),
    (dict(sizes="784"), TypeError, r"sizes: expected a list of layer sizes.*got '784'"),
    (dict(sizes=None), TypeError, r"sizes: expected a list of layer sizes.*got None"),
    (dict(sizes=10), TypeError, r"sizes: expected a list of layer sizes.*got 10"),
    # absurd sizes: refused before anything is allocated (and before any size product in C++)
    (dict(sizes=[2**40, 2**40]), ValueError, r"sizes: .* parameters, more than nndl supports"),
    (dict(sizes=[2**62, 2**62, 1]), ValueError, r"sizes: .* parameters, more than nndl supports"),
    (dict(sizes=[4, 2], cost="HingeCost"), ValueError, r"cost: unknown cost 'HingeCost'"),
    (dict(sizes=[4, 2], cost=len), TypeError, r"cost: expected QuadraticCost.*got <built-in function len>"),
    (dict(sizes=[4, 2], cost=nndl.LogLikelihoodCost), ValueError, r"cost: LogLikelihoodCost needs a softmax output"),
    (dict(sizes=[4, 2], output="softmax"), ValueError, r"output: a softmax output goes with LogLikelihoodCost"),
    (dict(sizes=[4, 3, 2], activation="elu"), ValueError, r"activation: unknown value 'elu'"),
    (dict(sizes=[4, 3, 2], activation=3), TypeError, r"activation: expected a name or a list of names, got 3"),
    (dict(sizes=[4, 3, 2], activation=["relu"]), ValueError, r"activation: expected 2 names .* got 1"),
    (dict(sizes=[4, 3, 2], activation=["softmax", "sigmoid"]), ValueError, r"activation: softmax is only allowed"),
    (dict(sizes=[4, 2], dtype="int32"), ValueError, r"dtype: expected float32 or float64, got int32"),
    (dict(sizes=[4, 2], dtype="float16"), ValueError, r"dtype: expected float32 or float64, got float16"),
    (dict(sizes=[4, 2], dtype="nope"), TypeError, r"dtype: expected float32 or float64, got 'nope'"),
    (dict(sizes=[4, 2], seed=-1), ValueError, r"seed: must be >= 0, got -1"),
    (dict(sizes=[4, 2], seed=1.5), TypeError, r"seed: expected an integer, got 1.5"),
]


@pytest.mark.parametrize("kwargs, error, match", BAD_NETWORKS, ids=lambda v: str(v)[:40] if isinstance(v, dict) else "")
def test_bad_network_is_refused(Engine, kwargs, error, match):
    with pytest.raises(error, match=match) as info:
        Engine(**kwargs)
    assert type(info.value) is error


@pytest.mark.parametrize("format", ["pickle", None, 3])
def test_load_mnist_unknown_format(format):
    with pytest.raises(ValueError, match=f"format: expected 'book' or 'arrays', got {format!r}"):
        nndl.load_mnist(format)


def test_save_refuses_a_network_it_could_not_load(Engine, tmp_path):
    """Non-finite or wrongly shaped weights put there by hand: refused, and the old file kept."""
    net = Engine(SIZES, seed=1)
    net.save(tmp_path / "net.json")
    good = (tmp_path / "net.json").read_bytes()
    net.weights[0][1, 2] = np.nan
    with pytest.raises(ValueError, match=r"weights\[0\]: expected finite numbers of shape \(3, 4\)"):
        net.save(tmp_path / "net.json")
    assert (tmp_path / "net.json").read_bytes() == good and len(list(tmp_path.iterdir())) == 1


# -- layouts the engines must copy, never mis-read -------------------------------------------------
def _unaligned(a: np.ndarray) -> np.ndarray:
    """The same values in a C-contiguous array at an odd address."""
    raw = bytearray(a.nbytes + 1)
    out = np.frombuffer(memoryview(raw)[1:], dtype=a.dtype).reshape(a.shape)
    out[...] = a
    assert not out.flags.aligned
    return out


def _read_only(a: np.ndarray) -> np.ndarray:
    out = a.copy()
    out.flags.writeable = False
    return out


def _strided(a: np.ndarray) -> np.ndarray:
    wide = np.zeros((a.shape[0] * 2,) + a.shape[1:] if a.ndim == 1 else (a.shape[0], a.shape[1] * 2), a.dtype)
    out = wide[::2] if a.ndim == 1 else wide[:, ::2]
    out[...] = a
    assert not out.flags.c_contiguous
    return out


LAYOUTS: dict[str, Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]] = {
    "fortran-order": lambda X, y: (np.asfortranarray(X), y),
    "strided": lambda X, y: (_strided(X), _strided(y)),
    "transposed-view": lambda X, y: (np.ascontiguousarray(X.T).T, y),
    "read-only": lambda X, y: (_read_only(X), _read_only(y)),
    "unaligned": lambda X, y: (_unaligned(X), _unaligned(y)),
    "big-endian": lambda X, y: (X.astype(">f8"), y.astype(">i8")),
    "float32-inputs": lambda X, y: (X.astype(np.float32), y),
    "small-int-labels": lambda X, y: (X, y.astype(np.uint8)),
    "one-hot-strided": lambda X, y: (X, _strided(np.eye(2)[y])),
    "lists-of-columns": lambda X, y: ([(X[i].reshape(4, 1), int(y[i])) for i in range(len(y))],),  # type: ignore[return-value]
}


def _as_data(layout: str):
    out = LAYOUTS[layout](X, y)
    return out[0] if len(out) == 1 else out


def _results(net, data, columns) -> list:
    """What each method gives on ``data``: evaluation, one step, one epoch."""
    out: list = [net.accuracy(data), net.total_cost(data, 0.1), net.feedforward(columns)]
    net.update_mini_batch(data, 0.5, 0.1, 12)
    out += [w.copy() for w in net.weights]
    net.SGD(data, 1, 3, 0.5, lmbda=0.1, verbose=False)
    return out + [w.copy() for w in net.weights + net.biases]


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_other_layouts_are_copied_not_misread(Engine, layout):
    plain = _results(Engine(SIZES, seed=3), (X, y), X)
    data = _as_data(layout)
    columns = data[0] if isinstance(data, tuple) else X
    other = _results(Engine(SIZES, seed=3), data, columns)
    for p, q in zip(plain, other):
        assert np.array_equal(p, q)  # the same values in, so bit-identical results out


def test_case_counts():
    """The table's size by class of bad input (the README quotes these; two engines each)."""
    counts = Counter(c.category for c in BAD_CALLS)
    print("\nbad calls per class (x2 engines):", dict(sorted(counts.items())), "total", len(BAD_CALLS))
    print("bad constructions (x2 engines):", len(BAD_NETWORKS), "layouts copied (x2 engines):", len(LAYOUTS))
    assert len(BAD_CALLS) >= 150


# -- the extension's own boundary: nndl._core refuses what the Python layer would have copied ------
def _core_calls():
    from nndl import _core

    net = nndl.Network(SIZES, seed=1)
    arch, params = net._arch, net._params
    good = np.ascontiguousarray(X)
    return _core, arch, params, good


@pytest.mark.parametrize(
    "bad, error, match",
    [
        (lambda X: X.astype(np.float32), TypeError, r"X: expected an array of float64, got float32"),
        (lambda X: X.astype(np.int64), TypeError, r"X: expected an array of float64, got int64"),
        (lambda X: np.asfortranarray(X), ValueError, r"X: expected a C-contiguous array"),
        (lambda X: X[:, :3].copy(), ValueError, r"X: expected size 4 on axis 1, got 3"),
        (lambda X: X.reshape(-1), ValueError, r"X: expected 2 dimensions, got 1"),
        (_unaligned, ValueError, r"X: expected an aligned array"),
    ],
)
def test_core_checks_arrays_without_converting(bad, error, match):
    _core, arch, params, good = _core_calls()
    with pytest.raises(error, match=match):
        _core.feedforward(arch, params, bad(good))
    with pytest.raises(error, match=match):
        _core.evaluate(arch, params, bad(good), labels=y.astype(np.int64))
    # a read-only input is fine: it is only read
    np.testing.assert_array_equal(
        _core.feedforward(arch, params, _read_only(good)), _core.feedforward(arch, params, good)
    )


def test_core_refuses_to_train_into_a_read_only_or_converted_buffer():
    _core, arch, params, good = _core_calls()
    Yg = np.ascontiguousarray(Y)
    order = np.arange(12, dtype=np.int64)
    rule = _core.UpdateRule("l2", "subgradient", 0.5, 0.1, 0.5, 12, 0.0)
    dropout = _core.Dropout(0.0, 1)
    with pytest.raises(ValueError, match="params: array is read-only"):
        _core.train_minibatches(arch, _read_only(params), good, Yg, order, 3, 0, 4, rule, dropout, _core.TrainState())
    with pytest.raises(TypeError, match="X: expected an array of float32, got float64"):  # a dtype mix-up
        _core.train_minibatches(
            arch, params.astype(np.float32), good, Yg, order, 3, 0, 4, rule, dropout, _core.TrainState()
        )
    with pytest.raises(ValueError, match="order: index out of range at position 0"):
        _core.train_minibatches(arch, params, good, Yg, order - 1, 3, 0, 4, rule, dropout, _core.TrainState())
    with pytest.raises(ValueError, match=r"mini_batch_size: must be in \[1, 12\], got 13"):
        _core.train_minibatches(arch, params, good, Yg, order, 13, 0, 1, rule, dropout, _core.TrainState())
    with pytest.raises(ValueError, match=r"labels: label 2 at position 0 is outside \[0, 2\)"):
        _core.evaluate(arch, params, good, labels=np.full(12, 2, np.int64))


@pytest.mark.parametrize("label", [-1, 10, 2**40])
def test_one_hot_of_a_label_out_of_range_is_refused(label):
    with pytest.raises(ValueError, match=f"j: label {label} is outside"):
        nndl.vectorized_result(label)
    with pytest.raises(ValueError, match=f"label {label} is outside"):
        nndl.book_form(X[:2], np.array([0, label]), one_hot=True)


# -- the C++ engine checks training inputs for NaN/inf as it reads each mini-batch, not in a pass
#    before training: a bad example far into the data is found after several chunks have trained,
#    and the call must still leave the network exactly as it was.
def test_nonfinite_input_found_mid_epoch_leaves_the_network_as_before():
    rng = np.random.default_rng(0)
    n = 4 * EXAMPLES_PER_CHUNK + 1000  # several chunks of mini-batches
    Xb = rng.random((n, 4))
    yb = rng.integers(0, 2, n)
    Xb[n - 235, 2] = np.nan
    net = nndl.Network(SIZES, seed=3)
    net.SGD((Xb[:100], yb[:100]), 1, 10, 0.5, momentum=0.5, verbose=False)  # some state to keep
    before = state_of(net)
    velocity = net._state.velocity.copy()
    chunks_trained = []
    with pytest.raises(ValueError, match=rf"training_data: inputs contain NaN or infinity \(example {n - 235}\)"):
        net.SGD(
            (Xb, yb),
            3,
            10,
            0.5,
            lmbda=1.0,
            regularization="l1",
            l1_method="cumulative",
            momentum=0.9,
            verbose=False,
            progress=lambda epoch, done, total: chunks_trained.append(done),
        )
    assert chunks_trained  # the bad example came after whole chunks had been trained (and undone)
    assert_unchanged(before, state_of(net))
    np.testing.assert_array_equal(net._state.velocity, velocity)
    # and it goes on exactly as a network that never saw the bad call
    twin = nndl.Network(SIZES, seed=3)
    twin.SGD((Xb[:100], yb[:100]), 1, 10, 0.5, momentum=0.5, verbose=False)
    for trained in (net, twin):
        trained.SGD((Xb[:8000], yb[:8000]), 1, 10, 0.5, verbose=False)
    for p, q in zip(net.weights + net.biases, twin.weights + twin.biases):
        np.testing.assert_array_equal(p, q)


def test_zero_epochs_still_refuse_nonfinite_inputs(Engine):
    net = Engine(SIZES, seed=1)
    with pytest.raises(ValueError, match="training_data: inputs contain NaN or infinity"):
        net.SGD((NAN_X, y), 0, 3, 0.5, verbose=False)


# -- and evaluates: accuracy and total_cost find a bad row as each block is read, on any thread
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("method", ["accuracy", "total_cost"])
def test_nonfinite_input_found_while_evaluating_names_the_first_bad_example(method, threads):
    rng = np.random.default_rng(1)
    Xb = rng.random((3000, 64))  # 12 evaluation blocks, enough work to split between two threads
    yb = rng.integers(0, 2, 3000)
    Xb[2900, 0], Xb[1234, 3] = np.inf, np.nan  # in blocks 11 and 4: different threads, later one first
    net = nndl.Network([64, 30, 2], seed=1)
    args = (0.0,) if method == "total_cost" else ()
    before = nndl.get_num_threads()
    nndl.set_num_threads(threads)
    try:
        with pytest.raises(ValueError, match=r"^data: inputs contain NaN or infinity \(example 1234\)$"):
            getattr(net, method)((Xb, yb), *args)
        Xb[1234, 3] = 0.5
        with pytest.raises(ValueError, match=r"\(example 2900\)"):
            getattr(net, method)((Xb, yb), *args)
        Xb[2900, 0] = 0.5
        getattr(net, method)((Xb, yb), *args)  # finite again: evaluates
    finally:
        nndl.set_num_threads(before)


@pytest.mark.parametrize("threads", [1, 2])
def test_nonfinite_input_found_by_either_thread_of_a_large_mini_batch(threads):
    rng = np.random.default_rng(2)
    Xb = rng.random((3000, 64))
    yb = rng.integers(0, 2, 3000)
    Xb[[2500, 2999], [5, 63]] = np.nan, -np.inf
    net = nndl.Network([64, 30, 2], seed=4)
    before = state_of(net)
    saved = nndl.get_num_threads()
    nndl.set_num_threads(threads)  # mini-batches of 1000 on this net are split between two threads
    try:
        with pytest.raises(ValueError, match=r"training_data: inputs contain NaN or infinity \(example (2500|2999)\)"):
            net.SGD((Xb, yb), 2, 1000, 0.5, verbose=False)
    finally:
        nndl.set_num_threads(saved)
    assert_unchanged(before, state_of(net))
