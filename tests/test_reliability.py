"""What a user's work must survive: divergence, crashes while saving, bad files, threads, Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

import nndl
from nndl import reference

LOADERS = {"cpp": nndl.load, "python": reference.load}


def small_data(n: int = 60, n_in: int = 5, n_out: int = 3, seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.uniform(size=(n, n_in)), rng.integers(0, n_out, size=n)


def replay(Engine, sizes, seed, X, y, m, eta, lmbda, batches):
    """A fresh network trained for exactly ``batches`` mini-batches of SGD's order, one
    ``update_mini_batch`` at a time: what SGD's weights are after that many mini-batches."""
    net = Engine(sizes, seed=seed)
    n = len(y)
    per_epoch = (n + m - 1) // m
    epochs, rest = divmod(batches, per_epoch)
    if epochs:
        net.SGD((X, y), epochs, m, eta, lmbda=lmbda, verbose=False)
    order = net._rng.permutation(n)  # the generator SGD draws the next epoch's order from
    for k in range(rest):
        index = order[k * m : (k + 1) * m]
        net.update_mini_batch((X[index], y[index]), eta, lmbda, n)
    return net


# -- divergence ------------------------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore::nndl.TrainingWarning")  # extreme data on purpose: the warnings are right
def test_divergence_names_epoch_and_mini_batch_and_keeps_the_last_finite_weights(Engine):
    X, y = small_data()
    # A finite but enormous input in a few examples: the first mini-batch holding one takes the
    # weights past the largest double (no hidden layer, so no saturated sigmoid hides the input
    # from the gradient). Where that mini-batch falls depends on the seeded order.
    X[[7, 31, 50], 0] = 1e308
    sizes, m, eta = [5, 3], 4, 100.0
    net = Engine(sizes, seed=11)
    with pytest.raises(nndl.DivergenceError) as info:
        net.SGD((X, y), 5, m, eta, lmbda=0.5, verbose=False)
    message = str(info.value)
    found = __import__("re").search(r"epoch (\d+): mini-batch (\d+) gave non-finite weights", message)
    assert found, message
    assert "smaller eta" in message and f"now {eta}" in message
    epoch, batch = int(found[1]), int(found[2])
    assert all(np.isfinite(p).all() for p in net.weights + net.biases)
    # the weights are those after the last finite mini-batch: a replay stopping just before it
    expected = replay(Engine, sizes, 11, X, y, m, eta, 0.5, epoch * 15 + batch)
    for p, q in zip(net.weights + net.biases, expected.weights + expected.biases):
        np.testing.assert_array_equal(p, q)


def test_huge_eta_diverges_cleanly_in_both_engines(Engine):
    X, y = small_data()
    net = Engine([5, 4, 3], seed=2)
    with pytest.raises(nndl.DivergenceError, match=r"epoch \d+: mini-batch \d+ gave non-finite weights.*smaller eta"):
        net.SGD((X, y), 100, 10, 1e308, verbose=False)
    assert all(np.isfinite(p).all() for p in net.weights + net.biases)
    # update_mini_batch too: the step that overflows is undone
    with pytest.raises(nndl.DivergenceError, match=r"mini-batch 0 gave non-finite weights.*smaller eta"):
        for _ in range(10):
            before = [p.copy() for p in net.weights + net.biases]
            net.update_mini_batch((X[:10], y[:10]), 1e308, 0.0, 60)
    for p, q in zip(before, net.weights + net.biases):
        np.testing.assert_array_equal(p, q)
    net.default_weight_initializer()  # the last finite weights are huge; started afresh, it trains
    net.SGD((X, y), 1, 10, 0.5, verbose=False)
    assert all(np.isfinite(p).all() for p in net.weights)


# -- files -----------------------------------------------------------------------------------------
def test_interrupted_save_keeps_the_old_file(Engine, tmp_path, monkeypatch):
    path = tmp_path / "net.json"
    old = Engine([5, 4, 3], seed=1)
    old.save(path)
    good = path.read_bytes()
    new = Engine([5, 4, 3], seed=2)

    def dump_half_then_interrupt(data, f):
        text = json.dumps(data)
        f.write(text[: len(text) // 2])
        raise KeyboardInterrupt  # Ctrl-C in the middle of writing

    monkeypatch.setattr(nndl.network_file.json, "dump", dump_half_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        new.save(path)
    assert path.read_bytes() == good
    assert os.listdir(tmp_path) == ["net.json"]  # the partial temporary file is removed


def test_crash_mid_save_never_leaves_a_truncated_network(tmp_path):
    """The process dies (os._exit, as a kill -9 would) after half the new file is written."""
    path = tmp_path / "net.json"
    nndl.Network([5, 4, 3], seed=1).save(path)
    good = path.read_bytes()
    script = textwrap.dedent(f"""
        import json, os, nndl
        def dump_half_then_die(data, f):
            text = json.dumps(data)
            f.write(text[: len(text) // 2])
            f.flush()
            os._exit(17)
        nndl.network_file.json.dump = dump_half_then_die
        nndl.Network([5, 4, 3], seed=2).save({str(path)!r})
    """)
    done = subprocess.run([sys.executable, "-c", script], timeout=120)
    assert done.returncode == 17
    assert path.read_bytes() == good  # the old network, whole
    np.testing.assert_array_equal(nndl.load(path).weights[0], nndl.Network([5, 4, 3], seed=1).weights[0])
    leftovers = [p for p in os.listdir(tmp_path) if p != "net.json"]
    assert all(p.startswith(".nndl-") and p.endswith(".json.tmp") for p in leftovers)  # at most a hidden temp file


def _saved(**changes) -> str:
    data = {"sizes": [2, 1], "weights": [[[0.5, -0.5]]], "biases": [[[0.1]]], "cost": "CrossEntropyCost"}
    data.update(changes)
    return json.dumps(data)


BAD_FILES = {
    "empty": b"",
    "binary": bytes(range(256)),
    "invalid-utf8": b'{"sizes": "\xff\xfe"}',
    "truncated": _saved().encode()[:-7],
    "deep-nesting": b"[" * 200_000 + b"]" * 200_000,
    "a-list": b"[1, 2, 3]",
    "a-number": b"42",
    "missing-weights": json.dumps({"sizes": [2, 1], "biases": [[[0]]], "cost": "CrossEntropyCost"}).encode(),
    "missing-everything": b"{}",
    "sizes-a-string": _saved(sizes="2,1").encode(),
    "sizes-one-layer": _saved(sizes=[2]).encode(),
    "sizes-zero": _saved(sizes=[2, 0]).encode(),
    "sizes-negative": _saved(sizes=[-2, 1]).encode(),
    "sizes-bool": _saved(sizes=[True, 1]).encode(),
    "sizes-float": _saved(sizes=[2.0, 1]).encode(),
    "sizes-absurd": _saved(sizes=[100000, 100000]).encode(),
    "sizes-overflowing": _saved(sizes=[2**62, 2**62]).encode(),
    "weights-wrong-shape": _saved(weights=[[[0.5, -0.5, 1.0]]]).encode(),
    "weights-transposed": _saved(weights=[[[0.5], [-0.5]]]).encode(),
    "weights-too-many-layers": _saved(weights=[[[0.5, -0.5]], [[1.0]]]).encode(),
    "weights-ragged": _saved(weights=[[[0.5], [1.0, 2.0]]]).encode(),
    "weights-strings": _saved(weights=[[["a", "b"]]]).encode(),
    "weights-null": _saved(weights=None).encode(),
    "weights-dict": _saved(weights=[{"a": 1}]).encode(),
    "biases-wrong-shape": _saved(biases=[[0.1]]).encode(),
    "weights-nan": _saved().replace("0.5,", "NaN,").encode(),
    "weights-infinity": _saved().replace("0.5,", "Infinity,").encode(),
    "biases-minus-infinity": _saved().replace("0.1", "-Infinity").encode(),
    "number-overflowing-double": _saved().replace("0.5,", "1e999,").encode(),
    "integer-overflowing-double": _saved().replace("0.5,", "1" + "0" * 400 + ",").encode(),
    "cost-unknown": _saved(cost="HingeCost").encode(),
    "cost-code": _saved(cost="__import__('os').system('touch pwned')").encode(),
    "cost-list": _saved(cost=["CrossEntropyCost"]).encode(),
    "activations-unknown": _saved(activations=["swish"]).encode(),
    "activations-wrong-count": _saved(activations=["sigmoid", "sigmoid"]).encode(),
    "activations-number": _saved(activations=3).encode(),
    "activations-cost-mismatch": _saved(activations=["softmax"]).encode(),
    "dtype-int": _saved(dtype="int8").encode(),
    "dtype-list": _saved(dtype=[["a", "f8"]]).encode(),
    "dtype-garbage": _saved(dtype="not a dtype").encode(),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
@pytest.mark.parametrize("engine", sorted(LOADERS))
def test_load_rejects_bad_files_with_a_value_error_naming_the_file(tmp_path, monkeypatch, engine, name):
    monkeypatch.chdir(tmp_path)  # where "cost-code" would leave its file, if anything ran it
    path = tmp_path / f"{name}.json"
    path.write_bytes(BAD_FILES[name])
    with pytest.raises(ValueError, match=r"filename: .*" + name) as info:
        LOADERS[engine](path)
    assert type(info.value) in (ValueError,)
    assert not (tmp_path / "pwned").exists()


def test_load_of_a_missing_file_is_an_os_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        nndl.load(tmp_path / "nothing.json")


# -- threads ---------------------------------------------------------------------------------------
def _train(net, X, y):
    net.SGD((X, y), 3, 10, 0.5, lmbda=0.1, regularization="l1", momentum=0.5, dropout=0.2, verbose=False)
    return [p.copy() for p in net.weights + net.biases]


def test_two_networks_in_two_threads_equal_sequential_training():
    X, y = small_data(n=3000, n_in=64, n_out=10)
    sequential = [_train(nndl.Network([64, 48, 10], seed=s), X, y) for s in (1, 2)]
    results: dict[int, list] = {}
    errors: list[BaseException] = []

    def work(seed):
        try:
            results[seed] = _train(nndl.Network([64, 48, 10], seed=seed), X, y)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(s,)) for s in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for s, expected in zip((1, 2), sequential):
        for p, q in zip(results[s], expected):
            np.testing.assert_array_equal(p, q)  # bit for bit: the threads share nothing


def test_a_second_thread_is_refused_while_a_network_trains(Engine, tmp_path):
    """Any call from another thread during training is refused, and changes nothing."""
    X, y = small_data(n=40)
    net = Engine([5, 4, 3], seed=3)
    inside, release = threading.Event(), threading.Event()
    calls = 0

    def progress(epoch, done, total):
        nonlocal calls
        calls += 1
        if calls == 1:
            inside.set()
            assert release.wait(60)

    trainer = threading.Thread(target=lambda: net.SGD((X, y), 2, 4, 0.5, lmbda=0.1, verbose=False, progress=progress))
    trainer.start()
    assert inside.wait(60)
    refused = {
        "SGD": lambda: net.SGD((X, y), 1, 4, 0.5, verbose=False),
        "update_mini_batch": lambda: net.update_mini_batch((X[:4], y[:4]), 0.5, 0.1, 40),
        "accuracy": lambda: net.accuracy((X, y)),
        "total_cost": lambda: net.total_cost((X, y), 0.1),
        "feedforward": lambda: net.feedforward(X),
        "backprop": lambda: net.backprop(X[0], 1),
        "save": lambda: net.save(tmp_path / "net.json"),
        "prune": lambda: net.prune(0.1),
        "sparsity": lambda: net.sparsity(),
        "default_weight_initializer": lambda: net.default_weight_initializer(),
    }
    try:
        for name, call in refused.items():
            with pytest.raises(RuntimeError, match=f"^{name}: this network is in use in another thread"):
                call()
    finally:
        release.set()
        trainer.join()
    assert not (tmp_path / "net.json").exists()
    # the refused calls changed nothing: the same as training undisturbed
    alone = Engine([5, 4, 3], seed=3)
    alone.SGD((X, y), 2, 4, 0.5, lmbda=0.1, verbose=False)
    for p, q in zip(net.weights + net.biases, alone.weights + alone.biases):
        np.testing.assert_array_equal(p, q)
    assert net.accuracy((X, y)) == alone.accuracy((X, y))  # and the network is usable again


def test_hammering_one_network_from_four_threads_is_safe():
    """Calls either run or are refused; nothing crashes, no weight is torn (run under ASan in CI)."""
    X, y = small_data(n=400, n_in=32, n_out=10)
    net = nndl.Network([32, 24, 10], seed=4)
    outcomes: list[str] = []

    def work(k):
        for i in range(15):
            try:
                if (i + k) % 3 == 0:
                    net.SGD((X, y), 1, 10, 0.1, momentum=0.5, verbose=False)
                elif (i + k) % 3 == 1:
                    net.accuracy((X, y))
                else:
                    net.feedforward(X[:50])
                outcomes.append("ran")
            except RuntimeError as error:
                assert "in use in another thread" in str(error)
                outcomes.append("refused")

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(outcomes) == 60 and "ran" in outcomes
    assert all(np.isfinite(p).all() for p in net.weights + net.biases)


# -- interrupts ------------------------------------------------------------------------------------
CHILD = textwrap.dedent("""
    import sys, time
    import numpy as np
    import nndl
    from nndl import reference
    engine, sizes, path = sys.argv[1], [int(s) for s in sys.argv[2].split(",")], sys.argv[3]
    Engine = nndl.Network if engine == "cpp" else reference.Network
    rng = np.random.default_rng(0)
    X, y = rng.uniform(size=(600, sizes[0])), rng.integers(0, sizes[-1], size=600)
    net = Engine(sizes, seed=5)
    started = False
    def progress(epoch, done, total):
        global started
        if not started:
            started = True
            print("training", flush=True)
    try:
        net.SGD((X, y), 10**6, 10, 0.05, lmbda=0.1, verbose=False, progress=progress)
    except KeyboardInterrupt:
        caught = time.monotonic()
        net.save(path)
        print("interrupted", caught, net._step, flush=True)
""")


@pytest.mark.parametrize(
    "engine, sizes",
    [("cpp", [40, 100, 10]), ("cpp", [784, 400, 400, 10]), ("python", [40, 30, 10])],
    ids=["cpp-small", "cpp-wide", "python"],
)
def test_ctrl_c_during_sgd_is_prompt_and_leaves_weights_at_a_mini_batch_boundary(tmp_path, engine, sizes):
    path = tmp_path / "interrupted.json"
    with subprocess.Popen(
        [sys.executable, "-c", CHILD, engine, ",".join(map(str, sizes)), str(path)], stdout=subprocess.PIPE, text=True
    ) as child:
        try:
            assert child.stdout.readline().strip() == "training"
            time.sleep(0.5)  # well into training
            sent = time.monotonic()
            child.send_signal(signal.SIGINT)
            words = child.stdout.readline().split()
            assert child.wait(timeout=120) == 0
        finally:
            child.kill()
    assert words[0] == "interrupted"
    latency, steps = float(words[1]) - sent, int(words[2])
    print(f"\n{engine} {sizes}: KeyboardInterrupt {latency * 1e3:.0f} ms after SIGINT, after {steps} mini-batches")
    assert latency < 2.0  # generous: the machine is shared; one chunk is ~0.1 s of work
    saved = LOADERS[engine](path)
    assert all(np.isfinite(p).all() for p in saved.weights + saved.biases)
    if engine == "cpp":
        # a whole number of mini-batches: exactly the network trained for `steps` of them
        rng = np.random.default_rng(0)
        X, y = rng.uniform(size=(600, sizes[0])), rng.integers(0, sizes[-1], size=600)
        expected = replay(nndl.Network, sizes, 5, X, y, 10, 0.05, 0.1, steps)
        for p, q in zip(saved.weights + saved.biases, expected.weights + expected.biases):
            np.testing.assert_array_equal(p, q)
