"""A stop that an event loop hears at once.

Ctrl-C and SIGTERM set it in a signal handler (tests set it from any thread) while delivery
waits in an event loop: the loop is told through a callback, not by looking every so often.
"""

from __future__ import annotations

import threading
from collections.abc import Callable


class Cancel(threading.Event):
    """A `threading.Event` that, once set, calls back whoever asked to be told."""

    def __init__(self) -> None:
        super().__init__()
        # No lock: a signal handler may set it while the same thread subscribes. Appending and
        # copying a list are atomic; a callback may run twice, never not at all.
        self._callbacks: list[Callable[[], None]] = []

    def set(self) -> None:
        super().set()
        for callback in tuple(self._callbacks):
            callback()

    def subscribe(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call `callback` when this is set (now, if it is); call what is returned to forget it."""
        self._callbacks.append(callback)
        if self.is_set():
            callback()
        return lambda: self._callbacks.remove(callback)
