"""The terminal progress bar of ``nndl train``."""

from __future__ import annotations

import math
import time
from typing import TextIO


class ProgressBar:
    """One self-overwriting line on a stream: mini-batches done, rate and time left in the epoch."""

    def __init__(self, stream: TextIO, enabled: bool, epochs: int, width: int = 28):
        self.stream, self.enabled, self.epochs, self.width = stream, enabled, epochs, width
        self._epoch_start = time.perf_counter()
        self._shown = 0

    def restart(self) -> None:
        """An epoch's training starts now (after the previous epoch's monitors)."""
        self._epoch_start = time.perf_counter()

    def update(self, epoch: int, done: int, total: int) -> None:
        if not self.enabled:
            return
        elapsed = max(time.perf_counter() - self._epoch_start, 1e-9)
        rate = done / elapsed
        left = (total - done) / rate if rate > 0 else float("inf")
        filled = int(self.width * done / max(total, 1))
        bar = "#" * filled + "." * (self.width - filled)
        text = (
            f"epoch {epoch + 1}/{self.epochs} [{bar}] {done}/{total} mini-batches  {rate:,.0f}/s  ETA {_duration(left)}"
        )
        self.stream.write("\r" + text.ljust(self._shown))
        self.stream.flush()
        self._shown = len(text)

    def clear(self) -> None:
        if self.enabled and self._shown:
            self.stream.write("\r" + " " * self._shown + "\r")
            self.stream.flush()
            self._shown = 0


def _duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    seconds = round(seconds)
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"
