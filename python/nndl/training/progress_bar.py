"""SGD's own progress display (``SGD(..., progress=True)``): one tqdm bar for the run, which
tqdm.auto draws as a widget in a notebook and as a line on stderr in a terminal."""

from __future__ import annotations

from types import TracebackType
from typing import Any


class TqdmProgress:
    """A ``progress(epoch, done, total)`` callback that advances one bar over all mini-batches."""

    def __init__(self, epochs: int, **tqdm_options: Any):
        from tqdm.auto import tqdm

        self._tqdm = tqdm
        self._epochs = epochs
        self._options = {"unit": "mini-batch", "dynamic_ncols": True, **tqdm_options}
        self._bar: Any = None
        self._position = 0  # mini-batches the bar shows

    def __call__(self, epoch: int, done: int, total: int) -> None:
        if self._bar is None:
            # The total is known at the first report: every epoch has the same mini-batches.
            self._bar = self._tqdm(total=total * self._epochs, **self._options)
        self._bar.set_description(f"epoch {epoch + 1}/{self._epochs}", refresh=False)
        now = epoch * total + done
        self._bar.update(now - self._position)
        self._position = now

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()

    def __enter__(self) -> TqdmProgress:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()
