"""The answers a hosted API gave, kept with their ETags, so that asking again costs a 304 and
no quota: one SQLite file in the cache folder. It keeps what the API answered (the body, the
next page's address) keyed by the address asked and a fingerprint of the token (a token that
sees less must not be answered from one that sees more); never the token itself.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

from pulse_backfill.errors import UsageError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    url TEXT NOT NULL,
    viewer TEXT NOT NULL,
    etag TEXT NOT NULL,
    body BLOB NOT NULL,
    next TEXT,
    PRIMARY KEY (url, viewer)
);
CREATE TABLE IF NOT EXISTS listings (
    key TEXT PRIMARY KEY,
    document TEXT NOT NULL
)
"""


@dataclass(frozen=True)
class Kept:
    etag: str
    body: bytes
    next: str | None


def fingerprint(token: str | None) -> str:
    """Which token asked, as no one can read the token back from."""
    if token is None:
        return "anonymous"
    return hashlib.sha256(b"pulse-backfill api cache\0" + token.encode()).hexdigest()[:16]


class AnswerCache:
    """ETags and answers, shared by the threads of one run (and, through SQLite's locks, by
    runs at once)."""

    def __init__(self, path: Path) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, timeout=30, check_same_thread=False)
            # A cache: losing its last answers to a crash costs requests, not correctness.
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=OFF")
            self._db.executescript(_SCHEMA)
            self._db.commit()
        except (OSError, sqlite3.Error) as error:
            raise UsageError(
                f"cannot keep the API's answers in {path} ({error}): pass --api-cache-dir a "
                "writable folder"
            ) from None
        self._lock = threading.Lock()

    def get(self, url: str, viewer: str) -> Kept | None:
        with self._lock:
            row = self._db.execute(
                "SELECT etag, body, next FROM answers WHERE url = ? AND viewer = ?", (url, viewer)
            ).fetchone()
        return None if row is None else Kept(row[0], bytes(row[1]), row[2])

    def put(self, url: str, viewer: str, kept: Kept) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO answers (url, viewer, etag, body, next) "
                "VALUES (?, ?, ?, ?, ?)",
                (url, viewer, kept.etag, kept.body, kept.next),
            )
            self._db.commit()

    def listing(self, key: str) -> str | None:
        """What a source's last listing gave, as `keep_listing` kept it."""
        with self._lock:
            row = self._db.execute("SELECT document FROM listings WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def keep_listing(self, key: str, document: str) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO listings (key, document) VALUES (?, ?)", (key, document)
            )
            self._db.commit()

    def close(self) -> None:
        with self._lock:
            self._db.close()
