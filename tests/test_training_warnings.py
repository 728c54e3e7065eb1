"""Runs that fail quietly warn (nndl.TrainingWarning) naming what to change; the CLI exits 3 with one line."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import warnings

import numpy as np
import pytest

import nndl
from nndl.training import diagnosis


def test_a_diverged_run_warns_naming_eta(Engine, mnist_arrays):
    (X, y), (Xv, yv), _ = mnist_arrays
    net = Engine([784, 30, 10], seed=1)
    with pytest.warns(nndl.TrainingWarning, match=r"eta = 1000 is too large, try eta = 100"):
        net.SGD(
            (X[:300], y[:300]),
            1,
            10,
            1000.0,
            verbose=False,
            evaluation_data=(Xv[:300], yv[:300]),
            monitor_evaluation_cost=True,
        )


def test_raw_pixels_on_a_sigmoid_network_are_warned_about(Engine, mnist_arrays):
    (X, y), _, _ = mnist_arrays
    with pytest.warns(nndl.TrainingWarning, match=r"inputs are far outside \[0, 1\].*divide by 255"):
        Engine([784, 10, 10], seed=1).SGD((np.round(X[:100] * 255), y[:100]), 1, 10, 0.1, verbose=False)


def _percentile_verdict(values):
    with np.errstate(invalid="ignore"):
        p99 = float(np.percentile(values, 99))
    return p99 if p99 > diagnosis.INPUT_SCALE_LIMIT else None


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("size", [1, 2, 99, 100, 101, 1000, 4321])
def test_the_input_scale_check_agrees_with_np_percentile(seed, size):
    # The counting shortcut must give np.percentile's verdict, and its value when it warns: scales
    # far below, at and far above the limit, values exactly at it, NaN and infinity.
    rng = np.random.default_rng(seed)
    limit = diagnosis.INPUT_SCALE_LIMIT
    cases = [
        rng.random(size),
        rng.random(size) * 255,
        np.abs(rng.normal(0, 3, size)),
        np.full(size, limit),
        np.full(size, limit * (1 + 1e-15)),
        np.where(rng.random(size) < 0.0101, 1e6, 0.5),
        np.where(rng.random(size) < 0.0099, 1e6, 0.5),
        np.where(rng.random(size) < 0.02, np.inf, 0.1),
        np.where(rng.random(size) < 0.5, np.nan, 300.0),
        np.sort(rng.random(size) * 2 * limit),
    ]
    for values in cases:
        for dtype in (np.float64, np.float32):
            v = values.astype(dtype)
            assert diagnosis.p99_if_above_limit(v) == _percentile_verdict(v)


def test_a_healthy_run_and_standardized_inputs_give_no_warning(Engine, mnist_arrays):
    (X, y), (Xv, yv), _ = mnist_arrays
    standardized = (X[:300] - X[:300].mean(axis=0)) / (X[:300].std(axis=0) + 1e-3)
    with warnings.catch_warnings():
        warnings.simplefilter("error", nndl.TrainingWarning)
        Engine([784, 20, 10], seed=1).SGD(
            (X[:300], y[:300]),
            2,
            10,
            0.5,
            lmbda=5.0,
            regularization="l1",
            evaluation_data=(Xv[:300], yv[:300]),
            monitor_evaluation_cost=True,
            verbose=False,
        )
        Engine([784, 20, 10], seed=1).SGD((standardized, y[:300]), 1, 10, 0.1, verbose=False)


def test_dropout_without_hidden_layers_is_warned_about(Engine, mnist_arrays):
    (X, y), _, _ = mnist_arrays
    with pytest.warns(nndl.TrainingWarning, match="dropout: a network without hidden layers"):
        Engine([784, 10], seed=1).SGD((X[:20], y[:20]), 1, 10, 0.1, dropout=0.5, verbose=False)


def test_the_cli_exits_3_with_one_line_naming_eta(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "nndl", "train", "--eta", "1000", "--epochs", "1", "--limit", "500", "--seed", "1"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert done.returncode == 3, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nndl: training failed:") and "eta = 1000" in lines[0]


def test_saved_networks_follow_the_umask(Engine, tmp_path):
    old = os.umask(0o027)
    try:
        Engine([3, 2], seed=1).save(tmp_path / "net.json")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "net.json").st_mode) == 0o640


def test_history_repr_shows_the_extra_monitors_and_one_epoch_is_singular(mnist_arrays, capsys):
    (X, y), (Xv, yv), _ = mnist_arrays
    net = nndl.Network([784, 5, 10], seed=1)
    history = net.SGD(
        (X[:40], y[:40]),
        3,
        10,
        0.5,
        monitor_update_ema=0.1,
        evaluation_data=(Xv[:40], yv[:40]),
        early_stopping_n=1,
        verbose=True,
    )
    text = repr(history)
    assert "eta=[0.5" in text and "update_ema=[" in text and "stopped_early=" in text and "update_ema_norms=" in text
    if history.stopped_early:
        assert "no improvement in 1 epoch\n" in capsys.readouterr().out
