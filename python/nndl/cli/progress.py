"""The progress bar of ``nndl train``: one tqdm bar per epoch on stderr (mini-batches done, their
rate, the time left), cleared when the epoch's line is printed."""

from __future__ import annotations

from typing import Any, TextIO


class ProgressBar:
    """tqdm, started at an epoch's first report and closed (leaving no trace) at its end."""

    def __init__(self, stream: TextIO, enabled: bool, epochs: int):
        self.stream, self.enabled, self.epochs = stream, enabled, epochs
        self._bar: Any = None
        self._epoch = -1

    def restart(self) -> None:
        """An epoch's training starts now (after the previous epoch's monitors)."""
        self.clear()

    def update(self, epoch: int, done: int, total: int) -> None:
        if not self.enabled:
            return
        if self._bar is None or epoch != self._epoch:
            from tqdm import tqdm

            self.clear()
            self._epoch = epoch
            self._bar = tqdm(
                total=total,
                initial=done,  # shown at once: the first report comes a chunk into the epoch
                desc=f"epoch {epoch + 1}/{self.epochs}",
                unit=" mini-batches",
                bar_format="{desc} |{bar}| {n_fmt}/{total_fmt} mini-batches  {rate_fmt}  ETA {remaining}",
                file=self.stream,
                leave=False,
                dynamic_ncols=True,
                mininterval=0.2,
            )
        self._bar.update(done - self._bar.n)

    def clear(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
