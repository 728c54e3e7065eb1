"""``nndl reproduce --chapter 6``: every row and the vote, rows trained in full on request, and runs
kept in ``--cache`` and reused (the chapter takes a day on one core, so it is trained a few rows at
a time). The sizes are shrunk here: the book's sizes are what the committed report ran."""

from __future__ import annotations

import dataclasses
import json
import re

import numpy as np
import pytest

from nndl.book import chapter6, runs
from nndl.cli.main import main


@pytest.fixture
def tiny_chapter(monkeypatch, restore_threads):
    """Quick rows on 100 images for 1 epoch; "full" rows on 200 images for 2 epochs."""
    monkeypatch.setattr(chapter6, "QUICK_TRAIN", 100)
    monkeypatch.setattr(chapter6, "QUICK_EVAL", 100)
    monkeypatch.setattr(chapter6, "QUICK_EPOCHS", 1)
    monkeypatch.setattr(chapter6, "FULL_TRAIN", 200)
    monkeypatch.setattr(chapter6, "FULL_EVAL", 100)
    monkeypatch.setattr(chapter6, "ROWS", [dataclasses.replace(row, epochs=2) for row in chapter6.ROWS])
    # main() sets these module-wide; the test's values must not leak into other tests.
    monkeypatch.setattr(runs, "_cache", None)
    monkeypatch.setattr(runs, "_jobs", 1)
    trained: list[tuple[str, int, int]] = []
    original = chapter6.train_row

    def counting(row, data, seed, epochs):
        trained.append((row.experiment, seed, epochs))
        return original(row, data, seed, epochs)

    monkeypatch.setattr(chapter6, "train_row", counting)
    return trained


def _report_rows(out):
    """The report table's (number, experiment, run) cells."""
    table = re.findall(r"^\| (\d+) \| ([^|]+) \| (full|quick) \|", (out / "chapter6.md").read_text(), re.M)
    return [(int(n), name.strip(), run) for n, name, run in table]


def test_quick_run_writes_every_row_the_vote_and_figures(tmp_path, tiny_chapter, capsys):
    assert main(["reproduce", "--chapter", "6", "--quick", "--seeds", "4", "--out", str(tmp_path)]) == 0
    rows = json.loads((tmp_path / "chapter6.json").read_text())
    names = [row.experiment for row in chapter6.ROWS] + [chapter6.VOTE_EXPERIMENT]
    assert [r["experiment"] for r in rows] == names
    assert all(not r["full"] and r["epochs"] == 1 for r in rows)
    assert _report_rows(tmp_path) == [(k, name, "quick") for k, name in enumerate(names, 1)]
    # Every row trained once per seed, each for the quick epoch; the vote takes the dropout row's run
    # (seed 4) and trains four more networks.
    assert sorted(tiny_chapter) == sorted(
        [(name, 4, 1) for name in names[:-1]] + [(names[5], seed, 1) for seed in range(100, 104)]
    )
    assert rows[-1]["seeds"] == [4, 100, 101, 102, 103]
    for r in rows[:-1]:
        assert 0.0 <= r["values"][0] <= 1.0 and r["mean"] == r["values"][0]
    # results.json gets the quick rows when no row is full, without the report's "full" flag.
    merged = json.loads((tmp_path / "results.json").read_text())
    assert [r["experiment"] for r in merged] == names and "full" not in merged[0]
    for png in ("chapter6_learning_curves.png", "chapter6_filters_l1_l2.png"):
        assert (tmp_path / png).stat().st_size > 1000


def test_rows_trained_in_full_are_kept_in_the_cache_and_reused(tmp_path, tiny_chapter, capsys):
    cache, out = tmp_path / "cache", tmp_path / "out"
    common = ["reproduce", "--chapter", "6", "--quick", "--seeds", "4,5", "--cache", str(cache), "--out", str(out)]
    assert main(common + ["--rows", "1,4", "--jobs", "2"]) == 0
    first = {r["experiment"]: r for r in json.loads((out / "chapter6.json").read_text())}
    fc100, relu = chapter6.ROWS[0], chapter6.ROWS[3]
    assert first[fc100.experiment]["full"] and first[fc100.experiment]["epochs"] == 2
    assert first[relu.experiment]["full"] and not first[chapter6.ROWS[1].experiment]["full"]
    assert [run for _, _, run in _report_rows(out)] == ["full", "quick", "quick", "full"] + ["quick"] * 4
    # results.json holds the full rows only: the quick ones are not the book's figures.
    assert [r["experiment"] for r in json.loads((out / "results.json").read_text())] == [
        fc100.experiment,
        relu.experiment,
    ]

    # The same full run trained again from its seed gives the same network: the cache stores it.
    data = chapter6.load(False, need_expanded=False)
    net, history = chapter6.train_row(fc100, data, 5, 2)
    assert history.test_accuracy_at_best == first[fc100.experiment]["values"][1]
    stored = chapter6._cached_run(fc100, 5, 2, True)
    assert stored is not None
    assert all(np.array_equal(a, b) for a, b in zip(stored[0].params, net.params))
    assert dataclasses.replace(stored[1], seconds=history.seconds) == history  # all but the timings

    # Without --rows, the full runs in the cache are reused (not trained), the other rows run quick.
    tiny_chapter.clear()
    assert main(common) == 0
    second = {r["experiment"]: r for r in json.loads((out / "chapter6.json").read_text())}
    assert second[fc100.experiment] | {"note": ""} == first[fc100.experiment] | {"note": ""}
    assert second[relu.experiment]["values"] == first[relu.experiment]["values"]
    # The quick runs were cached by the first call too: nothing was trained the second time.
    assert tiny_chapter == []


def small_dropout(m):
    """The dropout row's shape (conv, dropout on the dense layers' inputs) at a size a test can train."""
    from nndl import network3 as n3

    return [
        n3.ConvPoolLayer((4, 1, 5, 5), (m, 1, 28, 28), (2, 2), n3.ReLU),
        n3.FullyConnectedLayer(4 * 12 * 12, 20, n3.ReLU, p_dropout=0.5),
        n3.SoftmaxLayer(20, 10, p_dropout=0.5),
    ]


def test_the_full_vote_takes_the_dropout_rows_runs_and_trains_the_rest(tmp_path, tiny_chapter, monkeypatch, capsys):
    rows = list(chapter6.ROWS)
    rows[5] = dataclasses.replace(rows[5], build=small_dropout)
    monkeypatch.setattr(chapter6, "ROWS", rows)
    monkeypatch.setattr(chapter6, "conv2_dropout", small_dropout)  # how run() finds the dropout row
    out = tmp_path / "out"
    common = ["reproduce", "--chapter", "6", "--quick", "--seeds", "4,5", "--out", str(out)]
    assert main(common + ["--rows", "6,8", "--cache", str(tmp_path / "cache")]) == 0
    results = {r["experiment"]: r for r in json.loads((out / "chapter6.json").read_text())}
    dropout, vote = rows[5], results[chapter6.VOTE_EXPERIMENT]
    assert results[dropout.experiment]["full"] and vote["full"] and vote["seeds"] == [4, 5, 100, 101, 102]
    # Full (2-epoch) trainings of the dropout network: the row's two seeds once each, and three more.
    full = sorted(seed for name, seed, epochs in tiny_chapter if name == dropout.experiment and epochs == 2)
    assert full == [4, 5, 100, 101, 102]
    # The vote is the plurality of those five networks' predictions on the test set.
    data = chapter6.load(False, need_expanded=True)
    assert len(data.expanded[1]) == 5 * 200  # the expanded set's start, not the book's 250,000
    nets = [chapter6._cached_run(rows[5], seed, 2, True)[0] for seed in vote["seeds"]]
    assert vote["values"] == [chapter6.vote(nets, *data.test)]
    assert "the dropout row's 2 runs (seeds 4, 5) and 3 more networks" in vote["note"]


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--chapter", "6", "--rows", "9"], "--rows: expected row numbers 1-8"),
        (["--chapter", "6", "--rows", "0"], "--rows"),
        (["--chapter", "6", "--rows", "a"], "--rows"),
        (["--chapter", "5", "--rows", "1"], "--rows belongs to --chapter 6"),
        (["--rows", "1"], "--rows need --chapter"),
    ],
)
def test_bad_rows_are_refused_naming_the_option(tmp_path, tiny_chapter, capsys, arguments, message):
    assert main(["reproduce", "--out", str(tmp_path), *arguments]) in (1, 2)
    assert message in capsys.readouterr().err
    assert tiny_chapter == []  # nothing trained
