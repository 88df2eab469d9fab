"""The local store: every event we derived, and which targets acknowledged it.

A target is a base URL plus a fingerprint of the API key (never the key itself). Events recorded
without a key wait in the store until a run with a key delivers them.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

import platformdirs

from pulse_backfill.errors import StoreError, StoreLocked
from pulse_backfill.events import Event

APPLICATION_ID = 0x50554C53  # "PULS": marks the file as ours
SCHEMA_VERSION = 3

# Index i holds the statements that upgrade a store from version i to version i + 1.
_MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        system TEXT NOT NULL,              -- '' when the event has no system
        kind TEXT NOT NULL CHECK (kind IN ('change', 'deployment', 'incident')),
        identifier TEXT NOT NULL,
        body TEXT NOT NULL,                -- the exact JSON that is POSTed
        recorded_at INTEGER NOT NULL,
        UNIQUE (system, kind, identifier)
    );
    CREATE TABLE targets (
        id INTEGER PRIMARY KEY,
        base_url TEXT NOT NULL,
        key_fingerprint TEXT NOT NULL,
        UNIQUE (base_url, key_fingerprint)
    );
    CREATE TABLE deliveries (
        event INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
        target INTEGER NOT NULL REFERENCES targets (id) ON DELETE CASCADE,
        -- 'sending' is written before the request: a crash leaves it, and the event goes again.
        state TEXT NOT NULL CHECK (state IN ('sending', 'acked', 'rejected')),
        attempts INTEGER NOT NULL DEFAULT 0,
        detail TEXT,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (event, target)
    ) WITHOUT ROWID;
    -- A re-derived event whose body changed is news to every target.
    CREATE TRIGGER events_body_changed AFTER UPDATE OF body ON events
    WHEN old.body IS NOT new.body
    BEGIN
        DELETE FROM deliveries WHERE event = old.id;
    END;
    """,
    """
    -- Where each origin's last sync left off (an origin: a repository, derived with given
    -- options), and which origin each event came from: a re-sync derives only what is new.
    CREATE TABLE syncs (
        id INTEGER PRIMARY KEY,
        origin TEXT NOT NULL UNIQUE,
        point TEXT,                        -- JSON: the deployments derived, in order
        synced_at INTEGER
    );
    ALTER TABLE events ADD COLUMN origin INTEGER REFERENCES syncs (id);
    CREATE INDEX events_by_origin ON events (origin);
    """,
    """
    -- Every commit an origin's deployments reach (its id's bytes): a re-sync takes them away
    -- from git's `NEW --not KNOWN`, which under clock skew lists some of them too.
    CREATE TABLE reached (
        origin INTEGER NOT NULL REFERENCES syncs (id) ON DELETE CASCADE,
        commit_id BLOB NOT NULL,
        PRIMARY KEY (origin, commit_id)
    ) WITHOUT ROWID;
    -- Points of version 2 were re-synced by trusting `--not`: each origin's next sync derives
    -- its whole history once.
    UPDATE syncs SET point = NULL;
    """,
)


def default_store_path() -> Path:
    return platformdirs.user_state_path("pulse-backfill") / "store.sqlite3"


def key_fingerprint(api_key: str) -> str:
    """Tells keys apart without keeping them."""
    digest = hashlib.sha256(b"pulse-backfill key fingerprint\0" + api_key.encode()).hexdigest()
    return f"sha256:{digest[:16]}"


class Store:
    """The store, held by this process alone until closed (see StoreLock)."""

    def __init__(
        self, path: Path, *, wait: bool = False, on_wait: Callable[[], None] | None = None
    ) -> None:
        self.path = path
        self._lock = StoreLock(path, wait=wait, on_wait=on_wait)
        try:
            _check_existing(path)
            self._db = sqlite3.connect(path, isolation_level=None, timeout=30)
            self._db.execute("PRAGMA foreign_keys = ON")
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = NORMAL")
            # Change ids are hashes, so index inserts land all over the file: a larger page
            # cache than the 2 MB default records a large history about twice as fast.
            self._db.execute("PRAGMA cache_size = -32768")
            self._migrate()
        except (OSError, sqlite3.OperationalError) as error:
            self._lock.release()
            raise _unwritable(path, error) from None
        except BaseException:
            self._lock.release()
            raise

    def close(self) -> None:
        self._db.close()
        self._lock.release()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _migrate(self) -> None:
        version: int = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version == SCHEMA_VERSION:
            return
        self._db.execute("BEGIN IMMEDIATE")
        for statements in _MIGRATIONS[version:]:
            for statement in _split_statements(statements):
                self._db.execute(statement)
        self._db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        self._db.execute("COMMIT")

    def target(self, base_url: str, api_key: str) -> int:
        fingerprint = key_fingerprint(api_key)
        self._db.execute(
            "INSERT INTO targets (base_url, key_fingerprint) VALUES (?, ?) ON CONFLICT DO NOTHING",
            (base_url, fingerprint),
        )
        row = self._db.execute(
            "SELECT id FROM targets WHERE base_url = ? AND key_fingerprint = ?",
            (base_url, fingerprint),
        ).fetchone()
        return int(row[0])

    def record(
        self,
        events: Sequence[Event],
        *,
        origin: str | None = None,
        point: str | None = None,
        reached: Sequence[str] = (),
        whole: bool = False,
    ) -> list[int]:
        """Upsert `events` (and where `origin`'s sync now stands); their row ids, in order.

        `reached`: the ids (hex) of commits the deployments of `point` reach and earlier ones
        did not. `whole`: these are all of `origin`'s events now, and `reached` all it reaches;
        earlier events no longer derived (a deleted tag's deployment, say) stop belonging to
        it, so no re-sync sends them.
        """
        now = int(time.time())
        self._db.execute("BEGIN IMMEDIATE")
        try:
            origin_id = None if origin is None else self._origin_id(origin)
            if whole and origin_id is not None:
                self._db.execute("UPDATE events SET origin = NULL WHERE origin = ?", (origin_id,))
                self._db.execute("DELETE FROM reached WHERE origin = ?", (origin_id,))
            rows = (
                (e.system or "", e.kind, e.identifier, e.payload.decode("utf-8"), now, origin_id)
                for e in events
            )
            self._db.executemany(
                "INSERT INTO events (system, kind, identifier, body, recorded_at, origin)"
                " VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (system, kind, identifier) DO UPDATE SET body = excluded.body,"
                " origin = excluded.origin"
                " WHERE body IS NOT excluded.body OR origin IS NOT excluded.origin",
                rows,
            )
            if origin_id is not None and point is not None:
                self._db.execute(
                    "UPDATE syncs SET point = ?, synced_at = ? WHERE id = ?",
                    (point, now, origin_id),
                )
                self._db.executemany(
                    "INSERT OR IGNORE INTO reached (origin, commit_id) VALUES (?, ?)",
                    ((origin_id, bytes.fromhex(commit)) for commit in reached),
                )
            ids = self._ids(events)
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        return ids

    def _ids(self, events: Sequence[Event]) -> list[int]:
        """The row ids of `events`, in order: looked up through a temporary table, so the cost
        follows the events asked for, not the size of the store."""
        self._db.execute(
            "CREATE TEMP TABLE IF NOT EXISTS asked"
            " (position INTEGER PRIMARY KEY, system TEXT, kind TEXT, identifier TEXT)"
        )
        self._db.execute("DELETE FROM temp.asked")
        self._db.executemany(
            "INSERT INTO temp.asked VALUES (?, ?, ?, ?)",
            ((n, e.system or "", e.kind, e.identifier) for n, e in enumerate(events)),
        )
        ids = [
            int(row[0])
            for row in self._db.execute(
                "SELECT e.id FROM temp.asked a JOIN events e ON e.system = a.system"
                " AND e.kind = a.kind AND e.identifier = a.identifier ORDER BY a.position"
            )
        ]
        self._db.execute("DELETE FROM temp.asked")
        return ids

    def _origin_id(self, origin: str) -> int:
        self._db.execute("INSERT INTO syncs (origin) VALUES (?) ON CONFLICT DO NOTHING", (origin,))
        row = self._db.execute("SELECT id FROM syncs WHERE origin = ?", (origin,)).fetchone()
        return int(row[0])

    def sync_point(self, origin: str) -> str | None:
        """Where the last sync of `origin` left off, as `record` was given it."""
        row = self._db.execute("SELECT point FROM syncs WHERE origin = ?", (origin,)).fetchone()
        return None if row is None or row[0] is None else str(row[0])

    def reached(self, origin: str) -> ReachedCommits:
        """The commits `origin`'s deployments reach, as `record` was given them."""
        return ReachedCommits(self._db, origin)

    def unacknowledged(self, origin: str, target: int) -> tuple[list[Event], list[int]]:
        """The events of `origin` that `target` has not acknowledged, in recording order."""
        events: list[Event] = []
        rows: list[int] = []
        for row_id, system, kind, identifier, body in self._db.execute(
            "SELECT id, system, kind, identifier, body FROM events e"
            " WHERE origin = (SELECT id FROM syncs WHERE origin = ?)"
            " AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event = e.id"
            " AND d.target = ? AND d.state = 'acked') ORDER BY id",
            (origin, target),
        ):
            events.append(Event.from_body(kind, identifier, json.loads(body), system or None))
            rows.append(row_id)
        return events, rows

    def count_unacknowledged(self, origin: str) -> int:
        """Events of `origin` that no target has acknowledged (those a keyless run left)."""
        # All of them less the acknowledged, these looked for from the deliveries (CROSS JOIN
        # keeps SQLite to that order): a keyless store has none, and costs a count of an index.
        row = self._db.execute(
            "SELECT (SELECT count(*) FROM events WHERE origin = o.id)"
            " - (SELECT count(DISTINCT d.event) FROM deliveries d CROSS JOIN events e"
            " ON e.id = d.event WHERE e.origin = o.id AND d.state = 'acked')"
            " FROM syncs o WHERE o.origin = ?",
            (origin,),
        ).fetchone()
        return 0 if row is None else int(row[0])

    def count_waiting(self, rows: Sequence[int]) -> int:
        """How many of these events no target has acknowledged."""
        self._db.execute("CREATE TEMP TABLE IF NOT EXISTS picked (id INTEGER PRIMARY KEY)")
        self._db.execute("DELETE FROM temp.picked")
        self._db.executemany("INSERT OR IGNORE INTO temp.picked VALUES (?)", ((r,) for r in rows))
        row = self._db.execute(
            "SELECT count(*) FROM temp.picked p WHERE NOT EXISTS"
            " (SELECT 1 FROM deliveries d WHERE d.event = p.id AND d.state = 'acked')"
        ).fetchone()
        return int(row[0])

    def acknowledged_changes(
        self, target: int, wanted: Iterable[tuple[str, str]]
    ) -> set[tuple[str, str]]:
        """Which of these (system, change id) pairs `target` has acknowledged."""
        self._db.execute("CREATE TEMP TABLE IF NOT EXISTS wanted (system TEXT, identifier TEXT)")
        self._db.execute("DELETE FROM temp.wanted")
        self._db.executemany("INSERT INTO temp.wanted VALUES (?, ?)", sorted(set(wanted)))
        return {
            (str(system), str(identifier))
            for system, identifier in self._db.execute(
                "SELECT e.system, e.identifier FROM temp.wanted w"
                " JOIN events e ON e.system = w.system AND e.kind = 'change'"
                " AND e.identifier = w.identifier"
                " JOIN deliveries d ON d.event = e.id AND d.target = ? AND d.state = 'acked'",
                (target,),
            )
        }

    def acknowledged(self, target: int) -> set[int]:
        """Row ids of the events `target` has acknowledged."""
        return {
            row[0]
            for row in self._db.execute(
                "SELECT event FROM deliveries WHERE target = ? AND state = 'acked'", (target,)
            )
        }

    def mark(self, event: int, target: int, state: str, detail: str | None = None) -> None:
        self.mark_many([event], target, state, detail)

    def mark_many(
        self, events: Sequence[int], target: int, state: str, detail: str | None = None
    ) -> None:
        """Record `state` for these events in one transaction."""
        self.mark_states(target, {state: events}, detail)

    def mark_states(
        self, target: int, states: Mapping[str, Sequence[int]], detail: str | None = None
    ) -> None:
        """Record each state for its events, in order, in one transaction."""
        now = int(time.time())
        rows = [
            (event, target, state, 1 if state == "sending" else 0, detail, now)
            for state, events in states.items()
            for event in events
        ]
        if not rows:
            return
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.executemany(
                "INSERT INTO deliveries (event, target, state, attempts, detail, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (event, target) DO UPDATE SET state = excluded.state,"
                " attempts = attempts + excluded.attempts, detail = excluded.detail,"
                " updated_at = excluded.updated_at",
                rows,
            )
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise


class ReachedCommits:
    """Whether a commit (its hex id) is one an origin's deployments reach: asked of the store
    commit by commit, as a re-sync meets only the few that git lists."""

    def __init__(self, db: sqlite3.Connection, origin: str) -> None:
        self._db = db
        row = db.execute("SELECT id FROM syncs WHERE origin = ?", (origin,)).fetchone()
        self._origin = None if row is None else int(row[0])

    def __bool__(self) -> bool:
        return self._origin is not None and self._ask(
            "SELECT 1 FROM reached WHERE origin = ? LIMIT 1", ()
        )

    def __contains__(self, commit: object) -> bool:
        if not isinstance(commit, str) or self._origin is None:
            return False
        query = "SELECT 1 FROM reached WHERE origin = ? AND commit_id = ?"
        return self._ask(query, (bytes.fromhex(commit),))

    def _ask(self, query: str, values: tuple[bytes, ...]) -> bool:
        return self._db.execute(query, (self._origin, *values)).fetchone() is not None


def read_events(path: Path) -> list[tuple[str, str, str]]:
    """Every event of the store at `path`, for any target or none, as (system, kind, body).

    Read-only and without the lock: a report may run while a sync writes (SQLite's WAL keeps
    what it reads consistent)."""
    if not path.is_file():
        raise StoreError(
            f"there is no store at {path}: run 'pulse-backfill git' first, or pass --store or "
            "--from FILE"
        )
    _check_existing(path)
    try:
        with sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True) as db:
            rows = db.execute("SELECT system, kind, body FROM events ORDER BY id").fetchall()
        db.close()
    except sqlite3.DatabaseError as error:
        raise StoreError(f"cannot read the store at {path} ({error})") from None
    return [(str(system), str(kind), str(body)) for system, kind, body in rows]


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
            raise _unwritable(path, error) from None
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


def _unwritable(path: Path, error: Exception) -> StoreError:
    reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
    return StoreError(
        f"cannot write the store at {path} ({reason}): "
        "pass --store with a writable path, or set PULSE_BACKFILL_STORE"
    )


def _split_statements(script: str) -> list[str]:
    """Statements of a migration script; sqlite3.complete_statement keeps triggers whole."""
    statements: list[str] = []
    current = ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    return [s for s in statements if s]


def _check_existing(path: Path) -> None:
    """Refuse, before touching it, a file that is not a store of ours or is from a newer schema."""
    if not path.exists() or (path.is_file() and path.stat().st_size == 0):
        return
    if path.is_dir():
        raise StoreError(f"{path} is a folder: pass --store the path of a file")
    try:
        uri = f"{path.resolve().as_uri()}?mode=ro"
        with sqlite3.connect(uri, uri=True) as db:
            application_id = db.execute("PRAGMA application_id").fetchone()[0]
            version = db.execute("PRAGMA user_version").fetchone()[0]
        db.close()
    except sqlite3.DatabaseError:
        raise StoreError(
            f"{path} is not a pulse-backfill store (not an SQLite database, or corrupt): "
            "pass --store a new path; the file was left untouched"
        ) from None
    if application_id != APPLICATION_ID:
        raise StoreError(
            f"{path} is not a pulse-backfill store: pass --store a new path; "
            "the file was left untouched"
        )
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{path} was written by a newer pulse-backfill (schema {version}, this one knows "
            f"{SCHEMA_VERSION}): upgrade pulse-backfill"
        )
