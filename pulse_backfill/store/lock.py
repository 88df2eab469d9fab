"""One writer at a time: the lock beside the store."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable
from pathlib import Path

from pulse_backfill.errors import StoreLocked
from pulse_backfill.store.failures import unwritable


class StoreLock:
    """One writer at a time: an exclusive lock on a file beside the store, held while it is open.

    The operating system releases it when the process ends, however it ends.
    """

    def __init__(
        self, path: Path, *, wait: bool = False, on_wait: Callable[[], None] | None = None
    ) -> None:
        lock_path = path.with_name(path.name + ".lock")
        try:
            self._fd: int | None = _open_creating_folders(lock_path)
        except OSError as error:
            raise unwritable(path, error) from None
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(self._fd, 32, 0).decode(errors="replace").strip()
            if not wait:
                self.release()
                who = f" (pid {holder})" if holder.isdigit() else ""
                raise StoreLocked(
                    f"another pulse-backfill run{who} is using the store {path}: "
                    "let it finish, or pass --wait to wait for it"
                ) from None
            if on_wait is not None:
                on_wait()
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, str(os.getpid()).encode(), 0)

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the lock
            self._fd = None


def _open_creating_folders(path: Path) -> int:
    flags = os.O_RDWR | os.O_CREAT
    try:
        return os.open(path, flags, 0o600)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(path, flags, 0o600)
