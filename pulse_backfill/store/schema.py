"""The store's schema: its version, the migrations that bring an older store to it, and the
check that a file is a store of ours before anything writes to it."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from pulse_backfill.errors import StoreError

APPLICATION_ID = 0x50554C53  # "PULS": marks the file as ours
SCHEMA_VERSION = 5

# Index i holds the statements that upgrade a store from version i to version i + 1.
MIGRATIONS: tuple[str, ...] = (
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
    """
    -- Failed deployments inferred from a history (--infer-failures). A re-sync whose new
    -- deployments revert a commit shipped long ago asks which deployment shipped it: its
    -- position in the origin's point, for a commit that was a change (NULL otherwise, and for
    -- origins that infer no failures).
    ALTER TABLE reached ADD COLUMN shipped_by INTEGER;
    -- What each origin is, for the report: its system, the failure rules its syncs apply
    -- ('' for none) and its --since.
    ALTER TABLE syncs ADD COLUMN system TEXT;
    ALTER TABLE syncs ADD COLUMN rules TEXT;
    ALTER TABLE syncs ADD COLUMN since INTEGER;
    -- Each failed deployment, what marked it and what recovered it; its incident is an event.
    CREATE TABLE failures (
        origin INTEGER NOT NULL REFERENCES syncs (id) ON DELETE CASCADE,
        position INTEGER NOT NULL,         -- the failed deployment's, in the origin's point
        system TEXT NOT NULL,
        deployment TEXT NOT NULL,
        commit_id TEXT NOT NULL,
        deployed_at INTEGER NOT NULL,
        rule TEXT NOT NULL,
        marker TEXT NOT NULL,              -- the revert's or hotfix's commit; a rollback's id
        subject TEXT,
        recovered_by TEXT NOT NULL,
        recovered_at INTEGER NOT NULL,
        recovery_shipped INTEGER NOT NULL,  -- 0: a rollback, which Pulse never sees
        PRIMARY KEY (origin, position)
    ) WITHOUT ROWID;
    """,
    """
    -- An event's identity as an index of its own, no longer the table's UNIQUE constraint
    -- (which SQLite cannot drop): a store's first recording, a whole history, builds it once
    -- after the rows instead of row by row. Its identifier first: keys that differ there at
    -- once (hash ids, not a system shared by every row) build a third faster and compare
    -- sooner. SQLite's way to change a table: a new one, copied.
    CREATE TABLE events_v5 (
        id INTEGER PRIMARY KEY,
        system TEXT NOT NULL,              -- '' when the event has no system
        kind TEXT NOT NULL CHECK (kind IN ('change', 'deployment', 'incident')),
        identifier TEXT NOT NULL,
        body TEXT NOT NULL,                -- the exact JSON that is POSTed
        recorded_at INTEGER NOT NULL,
        origin INTEGER REFERENCES syncs (id)
    );
    INSERT INTO events_v5 SELECT id, system, kind, identifier, body, recorded_at, origin
    FROM events;
    DROP TABLE events;
    ALTER TABLE events_v5 RENAME TO events;
    CREATE UNIQUE INDEX events_identity ON events (identifier, kind, system);
    CREATE INDEX events_by_origin ON events (origin);
    CREATE TRIGGER events_body_changed AFTER UPDATE OF body ON events
    WHEN old.body IS NOT new.body
    BEGIN
        DELETE FROM deliveries WHERE event = old.id;
    END;
    """,
)

# The statement that builds an event's identity (see the last migration).
IDENTITY_INDEX = "CREATE UNIQUE INDEX events_identity ON events (identifier, kind, system)"


def migrate(db: sqlite3.Connection, *, before_writing: Callable[[], None]) -> None:
    """Upgrade the store open as `db` to this version's schema, in one transaction, after
    `before_writing` (which may refuse it). Foreign keys are off while it runs (a table copied
    and dropped must not cascade to the rows that refer to it): the caller turns them on after."""
    version: int = db.execute("PRAGMA user_version").fetchone()[0]
    if version == SCHEMA_VERSION:
        return
    before_writing()
    db.execute("PRAGMA foreign_keys = OFF")
    db.execute("BEGIN IMMEDIATE")
    for statements in MIGRATIONS[version:]:
        for statement in split_statements(statements):
            db.execute(statement)
    db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    db.execute("COMMIT")
    # A store's events copied (schema 5) leave the old table's pages free: the file is given
    # back its size, once (a second on Rails' history). A new store has nothing to give back.
    if 0 < version < 5 and db.execute("PRAGMA freelist_count").fetchone()[0]:
        db.execute("VACUUM")


def split_statements(script: str) -> list[str]:
    """Statements of a migration script; sqlite3.complete_statement keeps triggers whole."""
    statements: list[str] = []
    current = ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    return [s for s in statements if s]


def check_existing(path: Path) -> None:
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
