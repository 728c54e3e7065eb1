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

from .results import merge_rows


class ChapterRun(Protocol):
    def __call__(
        self, out: Path, *, quick: bool, seeds: Sequence[int] | None, log: Callable[[str], None]
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
) -> list[dict[str, Any]]:
    """Run one chapter into ``out`` and merge its rows into ``out/results.json``; returns the chapter's rows."""
    if seeds is not None and (
        len(seeds) == 0 or any(isinstance(s, bool) or not isinstance(s, int) or s < 0 for s in seeds)
    ):
        raise ValueError(f"seeds: expected non-negative integers, got {seeds!r}")
    out = Path(out)
    rows = chapter_run(chapter)(out, quick=quick, seeds=seeds, log=log)
    merge_rows(out / "results.json", chapter, rows)
    return rows


__all__ = ["CHAPTER_MODULES", "available_chapters", "chapter_run", "reproduce"]
