"""Ctrl-C during ``nndl train``: stop at the next mini-batch boundary, keep what was trained."""

from __future__ import annotations

import signal
import threading
from typing import Any


class StopRequested(Exception):
    """Raised from the progress callback after Ctrl-C: training stops at that mini-batch boundary."""

    def __init__(self, epoch: int, done: int, total: int):
        super().__init__(epoch, done, total)
        self.epoch, self.done, self.total = epoch, done, total


class InterruptFlag:
    """SIGINT sets a flag that the progress callback reads; a second SIGINT quits at once.

    Raising KeyboardInterrupt from the signal handler could land between two layers' updates of
    the Python engine; a flag read only between chunks of mini-batches stops cleanly instead.
    """

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None
        self._installed = False

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __enter__(self) -> InterruptFlag:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
            self._installed = True
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, self._previous)
