"""The command line end to end (subprocesses on a small subset of MNIST), its one-line errors,
Ctrl-C during training, and `nndl reproduce` on a tiny setting."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

import nndl
from nndl import cli


def nndl_command(*args: str, cwd, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "nndl", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


def test_train_json_save_and_plot(tmp_path):
    pytest.importorskip("matplotlib")
    result = nndl_command(
        "train",
        "--limit",
        "1000",
        "--epochs",
        "2",
        "--seed",
        "1",
        "--regularization",
        "l1",
        "--l1-method",
        "proximal",
        "--lmbda",
        "1",
        "--save",
        "net.json",
        "--plot",
        "curves.png",
        "--json",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["event"] for r in records] == ["start", "epoch", "epoch", "end"]
    assert records[0]["n_training"] == 1000 and records[0]["sizes"] == [784, 30, 10]
    assert 0.3 < records[2]["validation_accuracy"] <= 1.0  # two epochs on 1000 images: well above chance (0.1)
    assert "training_cost" in records[1]  # --plot turns on the training monitors
    assert 0 < records[3]["first_layer_zero_fraction"] < 1  # proximal L1 leaves exact zeros
    net = nndl.load(tmp_path / "net.json")
    assert net.sizes == [784, 30, 10]
    assert (tmp_path / "curves.png").stat().st_size > 5000


def test_sparse_inputs_on_and_off_save_the_same_network(tmp_path):
    """--sparse-inputs changes how the first layer is computed, not a single weight."""
    saved = []
    for choice in ("on", "off"):
        name = f"net-{choice}.json"
        result = nndl_command(
            "train", "--limit", "500", "--epochs", "1", "--seed", "3", "--regularization", "l1",
            "--sparse-inputs", choice, "--save", name, cwd=tmp_path,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        saved.append(json.loads((tmp_path / name).read_text()))
    assert saved[0]["weights"] == saved[1]["weights"] and saved[0]["biases"] == saved[1]["biases"]
    result = nndl_command("train", "--sparse-inputs", "sometimes", cwd=tmp_path)
    assert result.returncode == 2 and "--sparse-inputs" in result.stderr


def test_train_human_output_python_engine(tmp_path):
    result = nndl_command(
        "train",
        "--limit",
        "300",
        "--epochs",
        "1",
        "--engine",
        "python",
        "--regularization",
        "l2",
        "--sizes",
        "784,20,10",
        "--seed",
        "2",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "nndl.reference.Network(sizes=[784, 20, 10]" in out
    assert "Epoch 1/1: validation accuracy" in out and "Test accuracy:" in out
    assert result.stderr == ""  # not a terminal: no progress bar unless asked


@pytest.mark.parametrize(
    "args, status, message",
    [
        (["train", "--eta", "abc"], 2, "argument --eta: expected a number, got 'abc'"),
        (["train", "--regularization", "l3"], 2, "invalid choice: 'l3'"),
        (["train", "--sizes", "784,x"], 2, "layer sizes"),
        (["train", "--dropout", "1"], 2, "must be < 1"),
        (["train", "--bogus"], 2, "unrecognized arguments: --bogus"),
        (["train", "--train-images", "a"], 2, "go together"),
        ([], 2, "required"),
        (["train", "--load", "missing.json"], 1, "no such file: missing.json"),
        (["train", "--data", "/no/such/dir"], 1, "neither a known dataset"),
    ],
    ids=["eta", "regularization", "sizes", "dropout", "unknown-flag", "idx-paths", "no-command", "load", "data"],
)
def test_user_errors_are_one_line(tmp_path, monkeypatch, capsys, args, status, message):
    monkeypatch.chdir(tmp_path)
    assert cli.main(args) == status
    captured = capsys.readouterr()
    assert captured.out == ""
    assert message in captured.err
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err


def test_incompatible_sizes_in_a_subprocess(tmp_path):
    result = nndl_command("train", "--sizes", "100,30,10", "--epochs", "1", "--limit", "100", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "the first layer must be 784, got 100" in result.stderr


def test_ctrl_c_stops_at_a_mini_batch_boundary_and_saves(tmp_path):
    # Many epochs, so training is certainly running when the signal arrives; SIGINT is sent once
    # the first epoch has been reported.
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "nndl",
            "train",
            "--limit",
            "5000",
            "--epochs",
            "10000",
            "--seed",
            "3",
            "--save",
            "net.json",
            "--json",
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = []
        for line in process.stdout:
            lines.append(json.loads(line))
            if lines[-1]["event"] == "epoch":
                break
        process.send_signal(signal.SIGINT)
        rest, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == cli.EXIT_INTERRUPTED, err
    records = lines + [json.loads(line) for line in rest.splitlines()]
    stop = [r for r in records if r["event"] == "interrupted"]
    assert len(stop) == 1 and 0 < stop[0]["mini_batches_done"] <= stop[0]["mini_batches_in_epoch"] == 500
    assert "Interrupted" in err and "Traceback" not in err
    assert "Saved the network trained so far to net.json" in err
    net = nndl.load(tmp_path / "net.json")
    assert net.sizes == [784, 30, 10]
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")], "nothing half-written"


@pytest.mark.slow
def test_bench_quick_runs_every_engine_and_reports_every_target(tmp_path):
    result = nndl_command("bench", "--quick", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for engine in (
        "nndl.reference (book, per example) f64 m=10",
        "numpy matrix form float64 m=10",
        "nndl float64 1 thread m=10",
        "nndl float32 2 threads m=100",
        "nndl evaluate 10,000 images f64 2 threads",
    ):
        assert f"| {engine} |" in out, engine
    targets = [line for line in out.splitlines() if line.endswith("| met |") or line.endswith("| NOT met |")]
    torch_rows = [line for line in targets if "PyTorch" in line]
    assert len(targets) - len(torch_rows) == 9 and len(torch_rows) in (0, 4)
    assert f"{sum(line.endswith('| met |') for line in targets)} of {len(targets)} targets met" in out
    if len(os.sched_getaffinity(0)) >= 2:  # two-thread rows say how far apart the two cores were
        assert "cross-core round trip before each two-thread row: " in out


def test_progress_bar_renders():
    import io

    stream = io.StringIO()
    bar = cli.ProgressBar(stream, True, epochs=30)
    bar.update(0, 250, 5000)
    bar.clear()
    text = stream.getvalue()
    assert "epoch 1/30" in text and "250/5000 mini-batches" in text and "ETA" in text
    assert text.endswith("\r")


def test_reproduce_writes_a_report(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    from nndl import reproduce

    monkeypatch.setitem(reproduce.QUICK, "n_training", 500)
    configs = [c for c in reproduce.CONFIGS if c.key in ("l2", "l1-proximal-5")]
    report = reproduce.run(tmp_path, quick=True, epochs=1, configs=configs, log=None)
    text = report.read_text()
    assert "| L2, λ=5 |" in text and "| L1 proximal, λ=5 |" in text
    for name in ("learning_curves.png", "first_layer_weights.png", "weight_histogram.png"):
        assert (tmp_path / name).stat().st_size > 5000 and f"]({name})" in text
    results = json.loads((tmp_path / "results.json").read_text())
    assert len(results["runs"]) == 2 and len(results["runs"][1]["test_accuracy"]) == 1
