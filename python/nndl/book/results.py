"""The rows of docs/book/results.json, their statistics and verdicts, and the report's table.

One row per quoted figure (or per measured quantity the book shows without a number):

    {"chapter": int, "experiment": str, "book": float | None, "measure": str, "seeds": [int, ...],
     "values": [float, ...], "mean": float, "sd": float, "epochs": int, "note": str}

Accuracies are fractions (0.9549). ``sd`` is the sample standard deviation over the seeds (0 for
a single value). Rows of several chapters share one file; ``merge_rows`` replaces a chapter's rows
and keeps the others, under a file lock, so chapters may run in parallel processes.
"""

from __future__ import annotations

import fcntl
import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

__all__ = ["Claim", "make_row", "mean_and_sd", "merge_rows", "report_table", "verdict"]

#: How the book states a figure: "about" a number (reproduced when the seeds' range or mean ± 2 sd
#: covers it), "under" or "over" a bound (reproduced when the mean is on the stated side).
Claim = Literal["about", "under", "over"]


def make_row(
    chapter: int,
    experiment: str,
    book: float | None,
    measure: str,
    seeds: Sequence[int],
    values: Sequence[float] | np.ndarray,
    epochs: int,
    note: str = "",
) -> dict[str, Any]:
    """A results.json row; mean and sample sd computed from ``values``."""
    vals = [float(v) for v in values]
    if not vals:
        raise ValueError(f"values: experiment {experiment!r} has no values")
    mean = math.fsum(vals) / len(vals)
    sd = math.sqrt(math.fsum((v - mean) ** 2 for v in vals) / (len(vals) - 1)) if len(vals) > 1 else 0.0
    return {
        "chapter": int(chapter),
        "experiment": experiment,
        "book": None if book is None else float(book),
        "measure": measure,
        "seeds": [int(s) for s in seeds],
        "values": vals,
        "mean": mean,
        "sd": sd,
        "epochs": int(epochs),
        "note": note,
    }


def verdict(row: Mapping[str, Any], claim: Claim = "about") -> str:
    """ "reproduced", "above" or "below" the book's figure; "no book figure" when it has none."""
    book = row["book"]
    if book is None:
        return "no book figure"
    mean, sd, values = row["mean"], row["sd"], row["values"]
    if claim == "under":
        return "reproduced" if mean < book else "above"
    if claim == "over":
        return "reproduced" if mean > book else "below"
    if min(values) <= book <= max(values) or abs(mean - book) <= 2 * sd:
        return "reproduced"
    return "above" if mean > book else "below"


def _is_fraction(row: Mapping[str, Any]) -> bool:
    return "accuracy" in row["measure"] or "fraction" in row["measure"]


def _show(value: float, row: Mapping[str, Any]) -> str:
    return f"{100 * value:.2f}%" if _is_fraction(row) else f"{value:.3g}"


def mean_and_sd(row: Mapping[str, Any], mean: str, sd: str) -> str:
    """A table's "mean ± sd" cell from the row's formatted mean and sd; a row of one value (a vote, a
    single run) has no spread to show, so it reads "<mean> (one value)"."""
    return f"{mean} (one value)" if len(row["values"]) == 1 else f"{mean} ± {sd}"


def report_table(
    rows: Sequence[Mapping[str, Any]],
    claims: Mapping[str, Claim] | None = None,
    differences: Mapping[str, str] | None = None,
) -> str:
    """The Markdown table: book figure, mean ± sd, min–max, verdict, and what differs when not reproduced.

    ``claims`` maps an experiment to how the book states it (default "about"); ``differences``
    maps an experiment to the explanation shown when its verdict is not "reproduced".
    """
    claims = claims or {}
    differences = differences or {}
    lines = [
        "| experiment | measure | book | nndl mean ± sd | min–max | seeds | verdict | what differs |",
        "|---|---|---:|---:|---:|---:|---|---|",
    ]
    for row in rows:
        claim = claims.get(row["experiment"], "about")
        result = verdict(row, claim)
        book = (
            "—" if row["book"] is None else {"about": "", "under": "< ", "over": "> "}[claim] + _show(row["book"], row)
        )
        sd = f"{100 * row['sd']:.2f}" if _is_fraction(row) else f"{row['sd']:.2g}"
        spread = f"{_show(min(row['values']), row)}–{_show(max(row['values']), row)}"
        why = differences.get(row["experiment"], "") if result not in ("reproduced", "no book figure") else ""
        mean_sd = mean_and_sd(row, _show(row["mean"], row), sd)
        lines.append(
            f"| {row['experiment']} | {row['measure']} | {book} | {mean_sd} | {spread} "
            f"| {len(row['seeds']) or '—'} | {result} | {why} |"
        )
    return "\n".join(lines)


def merge_rows(path: str | os.PathLike[str], chapter: int, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Replace ``chapter``'s rows in the JSON list at ``path`` (created if missing); returns the merged list.

    Rows of other chapters are kept, in chapter order. The read-modify-write holds an exclusive
    lock on a side file, so two chapters finishing at once do not lose each other's rows.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # The lock is on the directory itself, so no lock file is left beside the results.
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        fcntl.flock(directory, fcntl.LOCK_EX)
        existing: list[dict[str, Any]] = json.loads(path.read_text()) if path.exists() else []
        if not isinstance(existing, list):
            raise ValueError(f"{path}: expected a JSON list of rows")
        merged = [r for r in existing if r.get("chapter") != chapter] + [dict(r) for r in rows]
        merged.sort(key=lambda r: int(r["chapter"]))  # stable: each chapter keeps its own order
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(merged, indent=1) + "\n")
        os.replace(tmp, path)
    finally:
        os.close(directory)  # releases the lock
    return merged


def chapter_report(
    title: str,
    intro: str,
    rows: Sequence[Mapping[str, Any]],
    claims: Mapping[str, Claim] | None,
    differences: Mapping[str, str] | None,
    sections: Sequence[tuple[str, str]],
    footer: str,
) -> str:
    """A chapter's Markdown report: intro, the table, then (heading, body) sections, then the footer."""
    parts = [f"# {title}", "", intro, "", report_table(rows, claims, differences), ""]
    for heading, body in sections:
        parts += [f"## {heading}", "", body, ""]
    parts += [footer, ""]
    return "\n".join(parts)
