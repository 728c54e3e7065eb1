"""One call at a time per network: the guard every public method of a network runs under."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Callable, TypeVar


class InUse:
    """One call at a time per network. A call from a second thread while one runs (training,
    evaluating, saving) is refused with RuntimeError rather than racing on the parameters; calls
    nested in the same thread (SGD's monitors) pass. A copied or unpickled network gets its own."""

    def __init__(self) -> None:
        self._lock = threading.RLock()

    def __reduce__(self) -> tuple[type[InUse], tuple[()]]:
        return (InUse, ())

    @contextmanager
    def __call__(self, what: str) -> Iterator[None]:
        if not self._lock.acquire(blocking=False):
            raise RuntimeError(
                f"{what}: this network is in use in another thread (training or evaluating); "
                "use one network per thread (copy.deepcopy(net) makes an independent one)"
            )
        try:
            yield
        finally:
            self._lock.release()


F = TypeVar("F", bound=Callable[..., Any])


def exclusive(method: F) -> F:
    """Run ``method`` holding the network's ``InUse`` guard (created on first use)."""

    @functools.wraps(method)
    def guarded(self: Any, *args: Any, **kwargs: Any) -> Any:
        with self.__dict__.setdefault("_in_use", InUse())(method.__name__):
            return method(self, *args, **kwargs)

    return guarded  # type: ignore[return-value]
