"""The book's experiments, chapter by chapter, each run for several seeds and compared with the figure the book quotes.

``CHAPTERS`` maps a chapter number to its ``run(out, *, quick, seeds, log)``, which trains, writes
``out/chapterN.md`` and its figures, and returns its rows (``nndl.book.results``); ``reproduce``
runs chapters and merges their rows into ``out/results.json``. ``nndl reproduce --chapter N`` calls it.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Callable, Protocol

from .results import merge_rows, report_table, verdict


class ChapterRun(Protocol):
    def __call__(
        self, out: Path, *, quick: bool, seeds: Sequence[int] | None, log: Callable[[str], None], **options: Any
    ) -> list[dict[str, Any]]: ...


#: chapter number -> module of nndl.book holding its run()
CHAPTER_MODULES = {1: "chapter1", 3: "chapter3", 5: "chapter5", 6: "chapter6"}


def available_chapters() -> list[int]:
    """The chapters whose module is installed (chapter 6 arrives with the network3 work)."""
    found = []
    for chapter, module in CHAPTER_MODULES.items():
        try:
            importlib.import_module(f"{__name__}.{module}")
        except ModuleNotFoundError as error:
            if error.name != f"{__name__}.{module}":
                raise
            continue
        found.append(chapter)
    return found


def chapter_run(chapter: int) -> ChapterRun:
    if chapter not in CHAPTER_MODULES or chapter not in available_chapters():
        raise ValueError(f"chapter: expected one of {available_chapters()}, got {chapter!r}")
    run: ChapterRun = importlib.import_module(f"{__name__}.{CHAPTER_MODULES[chapter]}").run
    return run


def reproduce(
    chapter: int,
    out: str | Path,
    *,
    quick: bool = False,
    seeds: Sequence[int] | None = None,
    log: Callable[[str], None] = print,
    **options: Any,
) -> list[dict[str, Any]]:
    """Run one chapter into ``out`` and merge its rows into ``out/results.json``; returns the chapter's rows.
    ``options`` go to the chapter's run (chapter 6: ``full_rows``, the experiments trained in full)."""
    if seeds is not None and (
        len(seeds) == 0 or any(isinstance(s, bool) or not isinstance(s, int) or s < 0 for s in seeds)
    ):
        raise ValueError(f"seeds: expected non-negative integers, got {seeds!r}")
    out = Path(out)
    rows = chapter_run(chapter)(out, quick=quick, seeds=seeds, log=log, **options)
    merged = merge_rows(out / "results.json", chapter, rows)
    write_index(out, merged)
    return rows


def write_index(out: Path, rows: Sequence[dict[str, Any]]) -> Path:
    """out/README.md: per chapter in results.json, its rows with a book figure, and a link to its report."""
    parts = [
        "# The book's figures, reproduced with error bars",
        "",
        "Each chapter's report has every row, the figures and the settings; `results.json` has the numbers. "
        "Below: the rows where the book quotes a figure.",
        "",
    ]
    for chapter in sorted({int(r["chapter"]) for r in rows}):
        module = (
            importlib.import_module(f"{__name__}.{CHAPTER_MODULES[chapter]}") if chapter in CHAPTER_MODULES else None
        )
        claims = getattr(module, "CLAIMS", {})
        differences = getattr(module, "DIFFERENCES", {})
        quoted = [r for r in rows if r["chapter"] == chapter and r["book"] is not None]
        verdicts = [verdict(r, claims.get(r["experiment"], "about")) for r in quoted]
        parts += [
            f"## Chapter {chapter}: [chapter{chapter}.md](chapter{chapter}.md)",
            "",
            f"{verdicts.count('reproduced')} of {len(quoted)} quoted figures reproduced.",
            "",
            report_table(quoted, claims, differences),
            "",
        ]
    path = out / "README.md"
    path.write_text("\n".join(parts))
    return path


__all__ = ["CHAPTER_MODULES", "available_chapters", "chapter_run", "reproduce", "write_index"]
