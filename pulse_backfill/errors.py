"""One base error; each kind carries its exit code. The CLI turns them into one stderr line."""

from __future__ import annotations

from pathlib import Path


class PulseBackfillError(Exception):
    """An expected failure: shown as one line, never as a traceback."""

    exit_code = 1


class UsageError(PulseBackfillError):
    """The user asked for something we cannot do; the message names the fix."""

    exit_code = 2


class RepositoryError(PulseBackfillError):
    """The repository cannot be read as asked (missing, not a repository, shallow, corrupt)."""

    exit_code = 2


class FetchError(PulseBackfillError):
    """A remote repository could not be cloned or fetched: perhaps a later run can."""

    exit_code = 1


class StoreError(PulseBackfillError):
    """The local store cannot be used (not ours, corrupt, newer schema, unwritable)."""

    exit_code = 2


class DeliveryError(PulseBackfillError):
    """Events could not be delivered; the run stops."""

    exit_code = 1


class StoreWriteError(StoreError):
    """The store's disk filled up, turned read-only or failed while a run wrote to it."""

    exit_code = 1


class StoreLocked(StoreError):
    """Another run holds the store."""


def read_user_file(path: Path, named: str, fix: str, *, encoding: str = "utf-8") -> str:
    """The text of a file the user named; one that cannot be read or is not text is their
    mistake: "cannot read NAMED (why): FIX"."""
    try:
        return path.read_text(encoding=encoding)
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
        raise UsageError(f"cannot read {named} ({reason}): {fix}") from None
