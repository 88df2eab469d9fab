"""Every page of the store read once, as SQLite's quick_check reads them: a damaged store is
refused before anything is written to it, not met halfway through a run. It costs about what
reading the file costs (see README, "The local store")."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from pulse_backfill.store.failures import damaged


def check_pages(db: sqlite3.Connection, path: Path) -> None:
    """StoreError if a page of the store open as `db` is damaged (sqlite3.Error if SQLite cannot
    even read it)."""
    problems = [str(row[0]) for row in db.execute("PRAGMA quick_check(1)")]
    if problems != ["ok"]:
        # What SQLite says of any damage (SQLITE_CORRUPT); quick_check's own words take lines.
        raise damaged(path, "database disk image is malformed")


class PageCheck:
    """`check_pages` on a connection of its own, in a thread, from when a run opens the store:
    SQLite reads the pages without the interpreter's lock while the run reads git's tags and
    history. Whatever would write to the store first waits for the verdict (`passed`)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._db = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
        self._failure: Exception | None = None
        self._thread = threading.Thread(target=self._check, name="store-pages", daemon=True)
        self._thread.start()

    def _check(self) -> None:
        try:
            check_pages(self._db, self._path)
        except Exception as error:  # the verdict, raised where it is waited for
            self._failure = error

    def passed(self) -> None:
        """Once every page was read: the StoreError or sqlite3.Error the check met, if any."""
        self._thread.join()
        if self._failure is not None:
            raise self._failure

    def stop(self) -> None:
        """The check ended (interrupted if still reading: the run writes nothing more) and its
        connection closed."""
        if self._thread.is_alive():
            self._db.interrupt()
        self._thread.join()
        self._db.close()
