"""What chapter 6's report keeps of one training, so that runs made in different sessions (or on
different machines) make one report.

The chapter takes about a day on one core, more than one sitting. A report needs three things of
each run: its history (the accuracies per epoch, the timings), the first layer's filters when the
first layer is a ConvPoolLayer (the L1/L2 figure), and the test-set predictions (the vote). Those
are a few kilobytes; the trained network of the dropout row is 6.6 MB. So a run is kept as a
``Run`` and written as a JSON record: its key (row, hyper-parameters, seed, epochs, data sizes),
what trained it, the history, the filters, and the predictions as the test examples it got wrong.

Two places keep records: the report's directory keeps its full runs in ``chapter6_runs.json``
(committed beside the report, so ``nndl reproduce --chapter 6 --out docs/book --rows 6`` trains
row 6 and reuses every other row's runs), and ``nndl reproduce --cache DIR`` keeps every run,
quick ones included, one file each.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__, simd_info
from .. import network3 as n3
from . import runs

RECORDS_FILE = "chapter6_runs.json"


@dataclass
class Run:
    history: n3.History3
    test_predictions: np.ndarray  # the predicted digit of each test example, int64
    first_filters: np.ndarray | None  # a ConvPoolLayer first layer's w; None for a dense first layer
    trained_by: str  # nndl's version, its kernel set and the date


def run_of(net: n3.Network, history: n3.History3, test: tuple[np.ndarray, np.ndarray]) -> Run:
    """What the report keeps of a trained network."""
    predictions = np.argmax(net.feedforward(test[0]), axis=1).astype(np.int64)
    first = net.layers[0]
    filters = np.array(first.w) if isinstance(first, n3.ConvPoolLayer) else None
    made = f"nndl {__version__}, {simd_info()['path']} kernels, {datetime.date.today().isoformat()}"
    return Run(history, predictions, filters, made)


def to_record(key: Mapping[str, Any], run: Run, test_labels: np.ndarray) -> dict[str, Any]:
    wrong = np.flatnonzero(run.test_predictions != test_labels)
    record: dict[str, Any] = {
        "key": dict(key),
        "trained_by": run.trained_by,
        "history": dataclasses.asdict(run.history),
        # The predictions as the examples predicted wrong: ~1% of the test set, not all 10,000.
        "test_errors": {"index": wrong.tolist(), "predicted": run.test_predictions[wrong].tolist()},
        "first_filters": None,
    }
    if run.first_filters is not None:
        filters = run.first_filters
        # The shortest decimal that reads back as the same float32 (or float64).
        values = [float(str(v)) for v in filters.ravel()]
        record["first_filters"] = {"shape": list(filters.shape), "dtype": filters.dtype.name, "values": values}
    return record


def from_record(record: Mapping[str, Any], test_labels: np.ndarray) -> Run:
    errors = record["test_errors"]
    index = np.asarray(errors["index"], dtype=np.int64)
    if index.size and (index.min() < 0 or index.max() >= len(test_labels)):
        raise ValueError(f"run record of {record['key']}: test_errors index out of range for {len(test_labels)} labels")
    predictions = np.array(test_labels, dtype=np.int64)
    predictions[index] = np.asarray(errors["predicted"], dtype=np.int64)
    filters = record["first_filters"]
    first = (
        None
        if filters is None
        else np.asarray(filters["values"], dtype=filters["dtype"]).reshape(tuple(filters["shape"]))
    )
    return Run(n3.History3(**record["history"]), predictions, first, record["trained_by"])


def _key_text(key: Mapping[str, Any]) -> str:
    return json.dumps(key, sort_keys=True)


class RunStore:
    """Records found by key: the report directory's file first, then ``--cache``; new runs added to both
    (to the report's file when full). Runs train in threads (``--jobs``): one writer at a time."""

    def __init__(self, out: Path):
        self._file = out / RECORDS_FILE
        self._lock = threading.Lock()
        self._records: dict[str, dict[str, Any]] = {}
        if self._file.exists():
            for record in json.loads(self._file.read_text()):
                self._records[_key_text(record["key"])] = record

    def find(self, key: Mapping[str, Any]) -> dict[str, Any] | None:
        with self._lock:
            found = self._records.get(_key_text(key))
        if found is not None:
            return found
        cached = runs._cache_file("network3-run", key)
        if cached is not None and cached.with_suffix(".json").exists():
            record: dict[str, Any] = json.loads(cached.with_suffix(".json").read_text())
            return record
        return None

    def add(self, record: dict[str, Any], full: bool) -> None:
        """A new run: into --cache, and into the report's file when it is a full run."""
        cached = runs._cache_file("network3-run", record["key"])
        if cached is not None:
            runs._write_atomically(cached.with_suffix(".json"), json.dumps(record).encode())
        if full:
            self.keep(record)

    def keep(self, record: dict[str, Any]) -> None:
        """A full run the report uses, into the report's file (a run found in --cache only, too)."""
        with self._lock:
            if self._records.get(_key_text(record["key"])) == record:
                return
            self._records[_key_text(record["key"])] = record
            ordered = [self._records[k] for k in sorted(self._records)]
            self._file.parent.mkdir(parents=True, exist_ok=True)
            # One record a line: a new run is a new line in a diff.
            text = "[\n" + ",\n".join(json.dumps(r, sort_keys=True) for r in ordered) + "\n]\n"
            runs._write_atomically(self._file, text.encode())
