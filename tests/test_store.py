from __future__ import annotations

import errno
import signal
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

from pulse_backfill.errors import StoreError
from pulse_backfill.pulse.events import change_event, deployment_event
from pulse_backfill.store import APPLICATION_ID, SCHEMA_VERSION, Store, key_fingerprint


def test_a_new_store_carries_its_id_and_schema_version(store: Path) -> None:
    Store(store).close()
    db = sqlite3.connect(store)
    assert db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_a_new_stores_first_recording_goes_into_the_file_then_wal(store: Path) -> None:
    # Written once, under a rollback journal (a whole history's pages, not twice through the
    # WAL); then WAL, so that readers see what is committed while a run goes on writing.
    events = [change_event("a" * 40, 0, system="s")]
    with Store(store) as db:
        assert _journal(store) == "delete"
        db.record(events)
        assert _journal(store) == "wal"
        db.record(events)
    with Store(store):  # a store opened again is in WAL before it writes
        assert _journal(store) == "wal"
    assert sorted(path.name for path in store.parent.iterdir()) == [
        store.name,
        f"{store.name}.lock",
    ]


_KILLED_WHILE_RECORDING = """
import os, signal, sys
from pathlib import Path
from pulse_backfill.pulse.events import change_event
from pulse_backfill.store import Store

def events():
    for n in range(50_000):
        if n == 30_000:  # three batches staged, the transaction open: the process dies
            os.kill(os.getpid(), signal.SIGKILL)
        yield change_event(f"{n:040x}", n, system="s")

with Store(Path(sys.argv[1])) as store:
    store.record(events(), origin="o", point="[]")
"""


def test_a_first_recording_killed_midway_leaves_a_sound_empty_store(store: Path) -> None:
    # The rollback journal is SQLite's own: the next opening rolls the transaction back.
    killed = subprocess.run([sys.executable, "-c", _KILLED_WHILE_RECORDING, str(store)])
    assert killed.returncode == -signal.SIGKILL
    assert (store.parent / f"{store.name}-journal").exists()
    events = [change_event("a" * 40, 0, system="s")]
    with Store(store) as db:
        assert db.count_unacknowledged("o") == 0
        assert db.record(events, origin="o", point="[]") == [1]
        assert _journal(store) == "wal"
    with closing(sqlite3.connect(store)) as check:
        assert check.execute("PRAGMA quick_check").fetchall() == [("ok",)]
        assert check.execute("SELECT count(*) FROM events").fetchone() == (1,)


def _journal(store: Path) -> str:
    with closing(sqlite3.connect(store)) as db:
        return str(db.execute("PRAGMA journal_mode").fetchone()[0])


def test_acknowledgements_are_kept_per_target(store: Path) -> None:
    events = [
        change_event("a" * 40, 0, system="s"),
        deployment_event("v1", 1, ["a" * 40], system="s"),
    ]
    with Store(store) as db:
        rows = db.record(events)
        one, other = db.target("https://x", "key-1"), db.target("https://x", "key-2")
        db.mark(rows[0], one, "sending")
        db.mark(rows[0], one, "acked")
        assert db.acknowledged(one) == {rows[0]}
        assert db.acknowledged(other) == set()
    with Store(store) as db:  # and across runs
        assert db.record(events) == rows
        assert db.acknowledged(db.target("https://x", "key-1")) == {rows[0]}


def test_a_changed_body_is_news_to_every_target(store: Path) -> None:
    with Store(store) as db:
        [row] = db.record([change_event("a" * 40, 0, system="s")])
        target = db.target("https://x", "key")
        db.mark(row, target, "acked")
        assert db.record([change_event("a" * 40, 60, system="s")]) == [row]
        assert db.acknowledged(target) == set()


def test_events_recorded_before_keep_their_rows_among_new_ones(store: Path) -> None:
    old = [change_event(c * 40, 0, system="s") for c in "ab"]
    new = [change_event(c * 40, 0, system="s") for c in "cd"]
    with Store(store) as db:
        first = db.record(old)
        rows = db.record([new[0], old[1], new[1], old[0]])
        assert rows[1::2] == first[::-1]
        assert len(set(rows)) == 4
        assert db.record([*old, *new]) == [first[0], first[1], rows[0], rows[2]]


def test_the_same_event_twice_in_a_first_recording_is_one_row(store: Path) -> None:
    # A first recording builds the identity index after its rows: the same event twice among
    # them is undone and upserted, as in any later recording.
    events = [
        change_event("a" * 40, 0, system="s"),
        change_event("b" * 40, 0, system="s"),
        change_event("a" * 40, 60, system="s"),
    ]
    with Store(store) as db:
        assert db.record(events, origin="o") == [1, 2, 1]
        assert db.record([change_event("c" * 40, 0, system="s")]) == [3]
    with closing(sqlite3.connect(store)) as check:
        assert check.execute("SELECT id, body FROM events ORDER BY id").fetchall() == [
            (1, events[2].payload.decode()),
            (2, events[1].payload.decode()),
            (3, change_event("c" * 40, 0, system="s").payload.decode()),
        ]
        assert _identity_index(check) == [("events_identity", 1)]


def test_a_first_recording_leaves_the_identity_index(store: Path) -> None:
    events = [change_event(f"{n:040x}", n, system="s") for n in range(25_000)]
    with Store(store) as db:
        rows = db.record(events, origin="o")
        assert rows == list(range(1, 25_001))
        assert db.record(events[::-1], origin="o") == rows[::-1]
    with closing(sqlite3.connect(store)) as check:
        assert _identity_index(check) == [("events_identity", 1)]
        assert check.execute("SELECT count(*) FROM events").fetchone() == (25_000,)


def _identity_index(db: sqlite3.Connection) -> list[tuple[str, int]]:
    """The events' unique indexes: (name, unique)."""
    return [
        (name, unique) for _, name, unique, *_ in db.execute("PRAGMA index_list(events)") if unique
    ]


def test_the_same_identifier_in_two_systems_is_two_events(store: Path) -> None:
    with Store(store) as db:
        rows = db.record(
            [change_event("a" * 40, 0, system="one"), change_event("a" * 40, 0, system=None)]
        )
        assert len(set(rows)) == 2


def test_key_fingerprints_tell_keys_apart_without_showing_them() -> None:
    assert key_fingerprint("secret-1") != key_fingerprint("secret-2")
    assert "secret" not in key_fingerprint("secret-1")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            b"just some text, not a database at all" * 200,
            "is not a pulse-backfill store (not an SQLite database, or corrupt): pass --store a "
            "new path; the file was left untouched",
        ),
    ],
)
def test_a_file_that_is_not_a_database_is_left_untouched(
    store: Path, content: bytes, message: str
) -> None:
    store.write_bytes(content)
    with pytest.raises(StoreError) as error:
        Store(store)
    assert str(error.value) == f"{store} {message}"
    assert store.read_bytes() == content


def test_another_programs_database_is_refused(store: Path) -> None:
    db = sqlite3.connect(store)
    db.execute("CREATE TABLE notes (text TEXT)")
    db.commit()
    db.close()
    before = store.read_bytes()
    with pytest.raises(StoreError, match="is not a pulse-backfill store: pass --store a new path"):
        Store(store)
    assert store.read_bytes() == before


def test_a_store_from_a_newer_version_is_refused(store: Path) -> None:
    Store(store).close()
    db = sqlite3.connect(store)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.commit()
    db.close()
    with pytest.raises(StoreError) as error:
        Store(store)
    assert str(error.value) == (
        f"{store} was written by a newer pulse-backfill (schema {SCHEMA_VERSION + 1}, this one "
        f"knows {SCHEMA_VERSION}): upgrade pulse-backfill"
    )


def test_an_unwritable_location(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(StoreError, match="pass --store with a writable path"):
        Store(blocker / "store.sqlite3")


def _store_of_schema(store: Path, version: int) -> sqlite3.Connection:
    """A store as an older pulse-backfill left it: its first `version` migrations, open."""
    from pulse_backfill.store.schema import MIGRATIONS, split_statements

    db = sqlite3.connect(store)
    for script in MIGRATIONS[:version]:
        for statement in split_statements(script):
            db.execute(statement)
    db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    db.execute(f"PRAGMA user_version = {version}")
    return db


def test_a_store_of_schema_1_is_upgraded_in_place(store: Path) -> None:
    db = _store_of_schema(store, 1)
    db.execute(
        "INSERT INTO events (system, kind, identifier, body, recorded_at)"
        " VALUES ('s', 'change', 'c', '{}', 0)"
    )
    db.commit()
    db.close()
    with Store(store) as upgraded:
        assert upgraded.syncs.sync_point("git /x 0") is None
        assert upgraded.record([change_event("c", 0, system="s")], origin="git /x 0") == [1]
    db = sqlite3.connect(store)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 5
    assert db.execute("SELECT count(*) FROM events").fetchone()[0] == 1


def test_a_store_of_schema_4_keeps_its_events_and_acknowledgements(store: Path) -> None:
    # Schema 5 copies the events into a table whose identity is an index of its own: the rows,
    # their ids and what targets acknowledged stay; a changed body is still news to them.
    db = _store_of_schema(store, 4)
    db.execute("INSERT INTO syncs (id, origin) VALUES (7, 'o')")
    db.executemany(
        "INSERT INTO events VALUES (?, 's', 'change', ?, ?, 0, 7)",
        [(5, "a" * 40, "{}"), (9, "b" * 40, "{}")],
    )
    db.executemany(  # pages enough that the copy leaves some free
        "INSERT INTO events VALUES (?, 's', 'change', ?, ?, 0, NULL)",
        [(n, f"{n:040x}", "{}" + " " * 200) for n in range(100, 1100)],
    )
    db.execute("INSERT INTO targets VALUES (3, 'https://x', ?)", (key_fingerprint("key"),))
    db.executemany("INSERT INTO deliveries VALUES (?, 3, 'acked', 1, NULL, 0)", [(5,), (9,)])
    db.commit()
    db.close()
    with Store(store) as upgraded:
        target = upgraded.target("https://x", "key")
        assert upgraded.acknowledged(target) == {5, 9}
        assert upgraded.count_acknowledged("o", target) == {"change": 2}
        assert upgraded.record([change_event("a" * 40, 0, system="s")], origin="o") == [5]
        assert upgraded.acknowledged(target) == {9}
        assert upgraded.record([change_event("c" * 40, 0, system="s")]) == [1100]
    with closing(sqlite3.connect(store)) as check:
        assert check.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 5
        assert check.execute("PRAGMA foreign_key_check").fetchall() == []
        assert _identity_index(check) == [("events_identity", 1)]
        assert check.execute("PRAGMA freelist_count").fetchone() == (0,)  # vacuumed


def test_a_store_of_schema_2_forgets_where_its_syncs_stood(store: Path) -> None:
    # Schema 2's re-syncs trusted git's `--not`: the next sync of each origin derives its whole
    # history once, and records what its deployments reach.
    db = _store_of_schema(store, 2)
    db.execute("INSERT INTO syncs (origin, point) VALUES ('git /x 0', '{\"releases\": []}')")
    db.commit()
    db.close()
    with Store(store) as upgraded:
        assert upgraded.syncs.sync_point("git /x 0") is None
        assert not upgraded.syncs.reached("git /x 0")
        upgraded.record([], origin="git /x 0", point="{}", reached=["ab" * 20], whole=True)
        assert "ab" * 20 in upgraded.syncs.reached("git /x 0")
        assert "cd" * 20 not in upgraded.syncs.reached("git /x 0")
        assert upgraded.syncs.reached("git /x 0")


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (
            sqlite3.OperationalError("database or disk is full"),
            "no space left on the device of /s: free space and run again; everything "
            "acknowledged so far is kept",
        ),
        (
            OSError(errno.ENOSPC, "No space left on device"),
            "no space left on the device of /s: free space and run again; everything "
            "acknowledged so far is kept",
        ),
        (
            OSError(errno.EROFS, "Read-only file system"),
            "the store /s can no longer be written (Read-only file system): make it writable "
            "and run again; everything acknowledged so far is kept",
        ),
        (
            OSError(errno.EIO, "Input/output error"),
            "the disk of /s failed a write (Input/output error): check it, then run again; "
            "everything acknowledged so far is kept",
        ),
    ],
)
def test_a_disk_that_fails_a_write_is_one_line_and_exit_1(error: Exception, message: str) -> None:
    from pulse_backfill.store.failures import write_failed

    if isinstance(error, sqlite3.Error):
        error.sqlite_errorcode = sqlite3.SQLITE_FULL  # type: ignore[attr-defined]
    failure = write_failed(Path("/s"), error)
    assert (str(failure), failure.exit_code) == (message, 1)
