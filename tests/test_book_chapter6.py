"""``nndl reproduce --chapter 6``: every row and the vote, rows trained in full on request, and runs
kept in ``--cache`` and reused (the chapter takes a day on one core, so it is trained a few rows at
a time). The sizes are shrunk here: the book's sizes are what the committed report ran."""

from __future__ import annotations

import dataclasses
import json
import re

import numpy as np
import pytest

from nndl.book import chapter6, chapter6_runs, runs
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


def test_rows_trained_in_full_are_kept_and_reused(tmp_path, tiny_chapter, monkeypatch, capsys):
    cache, out = tmp_path / "cache", tmp_path / "out"
    common = ["reproduce", "--chapter", "6", "--seeds", "4,5", "--cache", str(cache), "--out", str(out)]
    # --rows without --quick: the named rows in full, the others quick (not a day of full rows).
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

    # The same full run trained again from its seed gives the same network; its record keeps what the
    # report needs of it: the history, the test digits it predicts, a conv first layer's filters.
    data = chapter6.load(False, need_expanded=False)
    store = chapter6_runs.RunStore(out)
    for row, seed in ((fc100, 5), (relu, 4)):
        net, history = chapter6.train_row(row, data, seed, 2)
        record = store.find(chapter6._run_key(row, seed, 2, True))
        assert record is not None and record["trained_by"].startswith("nndl ")
        kept = chapter6_runs.from_record(record, data.test[1])
        assert dataclasses.replace(kept.history, seconds=history.seconds) == history  # all but the timings
        assert np.array_equal(kept.test_predictions, np.argmax(net.feedforward(data.test[0]), axis=1))
        if row is relu:
            assert kept.first_filters.dtype == np.float32 and np.array_equal(kept.first_filters, net.layers[0].w)
        else:
            assert kept.first_filters is None  # a dense first layer: not kept
    assert history.test_accuracy_at_best == first[relu.experiment]["values"][0]
    # The report's directory keeps its full runs, one record a line; the quick ones only --cache.
    lines = (out / chapter6_runs.RECORDS_FILE).read_text().splitlines()
    assert lines[0] == "[" and lines[-1] == "]" and len(lines) == 2 + 4

    # Without --rows, the full runs in the cache are reused (not trained), the other rows run quick.
    tiny_chapter.clear()
    assert main(common + ["--quick"]) == 0
    second = {r["experiment"]: r for r in json.loads((out / "chapter6.json").read_text())}
    assert second[fc100.experiment] | {"note": ""} == first[fc100.experiment] | {"note": ""}
    assert second[relu.experiment]["values"] == first[relu.experiment]["values"]
    # The quick runs were cached by the first call too: nothing was trained the second time.
    assert tiny_chapter == []

    # A report written elsewhere from the same --cache keeps the full runs it is made of beside it.
    elsewhere = tmp_path / "elsewhere"
    assert (
        main(
            ["reproduce", "--chapter", "6", "--quick", "--seeds", "4,5", "--cache", str(cache), "--out", str(elsewhere)]
        )
        == 0
    )
    assert tiny_chapter == []
    kept = (elsewhere / chapter6_runs.RECORDS_FILE).read_text()
    assert kept == (out / chapter6_runs.RECORDS_FILE).read_text()

    # Without --cache the report's directory still holds the full runs: only the quick rows train.
    monkeypatch.setattr(runs, "_cache", None)
    assert main(["reproduce", "--chapter", "6", "--quick", "--seeds", "4,5", "--out", str(out)]) == 0
    third = {r["experiment"]: r for r in json.loads((out / "chapter6.json").read_text())}
    assert third[relu.experiment]["full"] and third[relu.experiment]["values"] == first[relu.experiment]["values"]
    assert tiny_chapter and all(epochs == 1 for _, _, epochs in tiny_chapter)
    assert {name for name, _, _ in tiny_chapter}.isdisjoint({fc100.experiment, relu.experiment})


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
    store = chapter6_runs.RunStore(out)
    kept = [store.find(chapter6._run_key(rows[5], seed, 2, True)) for seed in vote["seeds"]]
    voters = [chapter6_runs.from_record(record, data.test[1]).test_predictions for record in kept]
    assert vote["values"] == [chapter6.vote(voters, data.test[1])]
    # The kept predictions are the network's: seed 101 trained again predicts the same digits.
    net, _ = chapter6.train_row(rows[5], data, 101, 2)
    assert np.array_equal(voters[3], np.argmax(net.feedforward(data.test[0]), axis=1))
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


def test_vote_is_the_plurality_with_ties_to_the_smallest_digit():
    y = np.array([0, 1, 2, 3])
    predictions = [np.array([0, 1, 5, 3]), np.array([0, 2, 5, 4]), np.array([1, 1, 2, 7])]
    # Columns: 0 (two of three), 1 (two), 5 (two, wrong), 3/4/7 (a tie: 3, the smallest, is right).
    assert chapter6.vote(predictions, y) == 0.75


def test_a_record_gives_back_the_run_exactly_and_refuses_predictions_out_of_range():
    from nndl import network3 as n3

    history = n3.History3([0.5, 0.6], [0.4, 0.7], [0.1, 0.1], [1.0, 1.5], 0.6, 1, 19, 0.7)
    filters = np.random.default_rng(0).normal(size=(3, 1, 5, 5)).astype(np.float32) / 7
    labels = np.array([3, 1, 4, 1, 5, 9, 2, 6], dtype=np.int64)
    predicted = labels.copy()
    predicted[[2, 7]] = [0, 8]
    run = chapter6_runs.Run(history, predicted, filters, "nndl test")
    record = json.loads(json.dumps(chapter6_runs.to_record({"seed": 1}, run, labels)))
    assert record["test_errors"] == {"index": [2, 7], "predicted": [0, 8]}
    back = chapter6_runs.from_record(record, labels)
    assert back.history == history and back.trained_by == "nndl test"
    assert np.array_equal(back.test_predictions, predicted)
    assert back.first_filters.dtype == np.float32 and np.array_equal(back.first_filters, filters)
    with pytest.raises(ValueError, match="test_errors index out of range for 5 labels"):
        chapter6_runs.from_record(record, labels[:5])


def test_the_committed_report_is_made_of_its_committed_runs():
    """docs/book/chapter6.json's full rows are the records in docs/book/chapter6_runs.json: each seed's
    value is its record's test accuracy at the best validation epoch, the vote is the plurality of the
    records' predictions, and every record's key is the one the report looks up (so it is reused)."""
    from pathlib import Path

    from nndl import network3 as n3

    docs = Path(__file__).resolve().parents[1] / "docs" / "book"
    rows = json.loads((docs / "chapter6.json").read_text())
    records = json.loads((docs / chapter6_runs.RECORDS_FILE).read_text())
    by_run = {(r["key"]["experiment"], r["key"]["seed"]): r for r in records}
    by_name = {row.experiment: row for row in chapter6.ROWS}
    for record in records:
        key = record["key"]
        assert key == chapter6._run_key(by_name[key["experiment"]], key["seed"], key["epochs"], True)
    full = [row for row in rows if row["full"]]
    assert len(full) >= 6
    labels = n3.load_data_shared()[2][1][: chapter6.FULL_EVAL]
    dropout = next(row.experiment for row in chapter6.ROWS if row.build is chapter6.conv2_dropout)
    for row in full:
        if row["experiment"] == chapter6.VOTE_EXPERIMENT:
            kept = [chapter6_runs.from_record(by_run[(dropout, seed)], labels) for seed in row["seeds"]]
            assert row["values"] == [chapter6.vote([run.test_predictions for run in kept], labels)]
        else:
            kept_values = [
                by_run[(row["experiment"], seed)]["history"]["test_accuracy_at_best"] for seed in row["seeds"]
            ]
            assert row["values"] == kept_values
