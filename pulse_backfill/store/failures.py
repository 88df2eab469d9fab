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
    if _kind(error) == "damaged":
        return damaged(path, error)
    if _kind(error) in ("full", "failing"):
        return write_failed(path, error)
    return StoreError(
        f"cannot write the store at {path} ({_reason(error)}): "
        "pass --store with a writable path, or set PULSE_BACKFILL_STORE"
    )


def damaged(path: Path, error: Exception | str) -> StoreError:
    """The store's file is damaged: a mistake to fix (exit 2), as a file that is not a store is.
    Nothing is written to it, so that it can still be restored."""
    reason = str(error).split(" with text ", 1)[0]  # a decoding error quotes the damaged bytes
    return StoreError(
        f"{path} is damaged (SQLite: {reason}): move it aside or restore it; "
        "the next run rebuilds it from --since"
    )


def failed(path: Path, error: Exception, *, writing: bool) -> StoreError:
    """Any failure of the open store, as the one line that names its fix."""
    if _kind(error) == "damaged":
        return damaged(path, error)
    if writing or _kind(error) is not None:
        return write_failed(path, error)
    return StoreError(f"cannot read the store at {path} ({_reason(error)})")


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


# What SQLite says of a file whose pages were overwritten, cut short or are not its own.
_DAMAGE = frozenset({sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_FORMAT})


def _kind(error: Exception) -> str | None:
    if isinstance(error, sqlite3.Error):
        # The primary code of an extended one; an error of Python's own has none.
        extended: int | None = getattr(error, "sqlite_errorcode", None)
        code = (extended or 0) & 0xFF
        if code in _DAMAGE or (extended is None and _undecodable(error)):
            return "damaged"
        return {sqlite3.SQLITE_FULL: "full", sqlite3.SQLITE_READONLY: "read-only"}.get(
            code, "failing" if code == sqlite3.SQLITE_IOERR else None
        )
    if isinstance(error, OSError):
        return {errno.ENOSPC: "full", errno.EROFS: "read-only", errno.EIO: "failing"}.get(
            error.errno or 0
        )
    return None


def _undecodable(error: sqlite3.Error) -> bool:
    # Raised by Python's sqlite3, not SQLite (no error code), when a text's bytes were damaged.
    return str(error).startswith("Could not decode")


def _reason(error: Exception) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error)
