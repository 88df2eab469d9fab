"""What went wrong with the store's disk, told as the one line that names the fix.

A store that cannot be written where it is asked for (a folder without permission) is a
mistake in the command (exit 2). A disk that fills up, turns read-only or fails while a run
writes is not (exit 1): what was acknowledged so far is kept, since each acknowledgement is
recorded in its own transaction, and the next run goes on from there.
"""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path

from pulse_backfill.errors import StoreError, StoreWriteError

_KEPT = "everything acknowledged so far is kept"


def unwritable(path: Path, error: Exception) -> StoreError:
    """The store cannot be opened for writing."""
    if _kind(error) in ("full", "failing"):
        return write_failed(path, error)
    return StoreError(
        f"cannot write the store at {path} ({_reason(error)}): "
        "pass --store with a writable path, or set PULSE_BACKFILL_STORE"
    )


def write_failed(path: Path, error: Exception) -> StoreWriteError:
    """A write to the open store failed."""
    match _kind(error):
        case "full":
            return StoreWriteError(
                f"no space left on the device of {path}: free space and run again; {_KEPT}"
            )
        case "read-only":
            return StoreWriteError(
                f"the store {path} can no longer be written ({_reason(error)}): make it "
                f"writable and run again; {_KEPT}"
            )
        case "failing":
            return StoreWriteError(
                f"the disk of {path} failed a write ({_reason(error)}): check it, then run "
                f"again; {_KEPT}"
            )
    return StoreWriteError(f"cannot write the store {path} ({_reason(error)}): run again; {_KEPT}")


def _kind(error: Exception) -> str | None:
    if isinstance(error, sqlite3.Error):
        code = (error.sqlite_errorcode or 0) & 0xFF  # the primary code of an extended one
        return {sqlite3.SQLITE_FULL: "full", sqlite3.SQLITE_READONLY: "read-only"}.get(
            code, "failing" if code == sqlite3.SQLITE_IOERR else None
        )
    if isinstance(error, OSError):
        return {errno.ENOSPC: "full", errno.EROFS: "read-only", errno.EIO: "failing"}.get(
            error.errno or 0
        )
    return None


def _reason(error: Exception) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error)
