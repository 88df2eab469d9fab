"""One writer at a time: the lock beside the store."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path

from pulse_backfill.errors import StoreLocked
from pulse_backfill.store.failures import unwritable

# filelock refuses to wait without end for a path another lock of this process holds (a
# deadlock, were it this thread's); a rival run is another process, or another thread in tests.
_WAIT_STEP = 3600.0


class StoreLock:
    """One writer at a time: an exclusive lock on a file beside the store, held while it is open.

    The operating system releases it when the process ends, however it ends. The holder writes
    its pid into the file, for a rival's message.
    """

    def __init__(
        self, path: Path, *, wait: bool = False, on_wait: Callable[[], None] | None = None
    ) -> None:
        # Imported here: 12 ms of start-up, which runs that never lock (a dry run, a report,
        # --help) need not pay.
        from filelock import FileLock, Timeout

        # Not thread-local: a lock taken by one thread may be released by another.
        self._lock = FileLock(
            path.with_name(path.name + ".lock"),
            mode=0o600,
            thread_local=False,
            on_acquired=_write_pid,
        )
        try:
            try:
                self._lock.acquire(blocking=False)
            except Timeout:
                if not wait:
                    holder = _read_holder(self._lock.lock_file)
                    who = f" (pid {holder})" if holder.isdigit() else ""
                    raise StoreLocked(
                        f"another pulse-backfill run{who} is using the store {path}: "
                        "let it finish, or pass --wait to wait for it"
                    ) from None
                if on_wait is not None:
                    on_wait()
                while not self._lock.is_locked:
                    try:
                        self._lock.acquire(timeout=_WAIT_STEP)
                    except Timeout:
                        continue
        except FileExistsError:
            # filelock makes the missing folders: a file stands where one of them should be.
            reason = NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR))
            raise unwritable(path, reason) from None
        except OSError as error:
            raise unwritable(path, error) from None

    def release(self) -> None:
        self._lock.release()


def _write_pid(fd: int) -> None:
    os.ftruncate(fd, 0)
    os.pwrite(fd, str(os.getpid()).encode(), 0)


def _read_holder(lock_file: str) -> str:
    try:
        with open(lock_file, "rb") as stream:
            return stream.read(32).decode(errors="replace").strip()
    except OSError:
        return ""
