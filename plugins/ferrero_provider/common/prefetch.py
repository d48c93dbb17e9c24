"""A value read in the background from now on and handed over when first asked for.

Inside a task, reading a connection is a round trip through the task's supervisor to the Execution API; a task
that needs three (the tracking database, the DAM, Box) would otherwise wait for each in turn in front of its own
I/O. A hook built with ``prefetch_connection=True`` gives its client a :class:`Prefetched` reader: the read starts
at once, overlaps what the task does meanwhile, and its outcome (the value, or the very exception) is what the
client gets when it first needs the connection.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable

T = TypeVar("T")


class Prefetched(Generic[T]):
    """``read()`` started now on a daemon thread (a task that ends before needing it does not wait for it)."""

    def __init__(self, read: Callable[[], T], name: str = "prefetch") -> None:
        self._read = read
        self._done = threading.Event()
        self._value: T | None = None
        self._error: BaseException | None = None
        threading.Thread(target=self._run, name=name, daemon=True).start()

    def _run(self) -> None:
        try:
            self._value = self._read()
        except BaseException as exc:  # handed to the caller, raised where the read would have raised
            self._error = exc
        finally:
            self._done.set()

    def __call__(self) -> T:
        self._done.wait()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]  # set when no error was
