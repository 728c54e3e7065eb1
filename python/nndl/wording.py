"""Counts in words, for messages."""

from __future__ import annotations


def count(n: int, noun: str, plural: str | None = None) -> str:
    """``count(1, "epoch")`` is "1 epoch", ``count(3, "epoch")`` "3 epochs"."""
    return f"{n} {noun if n == 1 else (plural or noun + 's')}"
