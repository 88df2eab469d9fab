"""The local store: every event we derived, and which targets acknowledged it.

A target is a base URL plus a fingerprint of the API key (never the key itself). Events recorded
without a key wait in the store until a run with a key delivers them.
"""

from __future__ import annotations

import functools
import hashlib
import json
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Concatenate, ParamSpec, Protocol, TypeVar

import platformdirs

from pulse_backfill.derive.failures import Failure
from pulse_backfill.errors import StoreError
from pulse_backfill.pulse.events import Event
from pulse_backfill.store.failures import damaged, failed, unwritable
from pulse_backfill.store.lock import StoreLock
from pulse_backfill.store.pages import PageCheck, check_pages
from pulse_backfill.store.schema import APPLICATION_ID, IDENTITY_INDEX, check_existing, migrate

# Events staged at a time when recorded: the staging table stays small, in memory.
_BATCH = 10_000
_FIRST_BATCH = 1_000
# A staged batch into the events, each new one numbered after the store's last (?1), in order.
_INSERT = (
    "INSERT INTO events (id, system, kind, identifier, body, recorded_at, origin)"
    " SELECT ?1 + rowid, system, kind, identifier, body, ?2, ?3 FROM temp.recording"
)
# The same, and an event recorded before takes its new body and origin, if they changed.
# (WHERE true: SQLite's grammar needs it between a SELECT and ON CONFLICT.)
_UPSERT = (
    _INSERT + " WHERE true ON CONFLICT (identifier, kind, system) DO UPDATE"
    " SET body = excluded.body, origin = excluded.origin"
    " WHERE body IS NOT excluded.body OR origin IS NOT excluded.origin"
)


def default_store_path() -> Path:
    return platformdirs.user_state_path("pulse-backfill") / "store.sqlite3"


def key_fingerprint(api_key: str) -> str:
    """Tells keys apart without keeping them."""
    digest = hashlib.sha256(b"pulse-backfill key fingerprint\0" + api_key.encode()).hexdigest()
    return f"sha256:{digest[:16]}"


def _packed(reached: Sequence[str], shipped: Mapping[str, int]) -> list[tuple[bytes, int, str]]:
    """Commits (hex ids) as `Store._reach` writes them, for each length of id (SHA-1,
    SHA-256): their bytes laid end to end, the length in bytes, and a JSON list of the
    deployment that shipped each as a change."""
    packed = []
    for length in sorted({len(commit) for commit in reached}):
        # In order, the index's pages fill one after another: a third faster than in git's.
        commits = sorted(commit for commit in reached if len(commit) == length)
        deployments = json.dumps([shipped.get(commit) for commit in commits])
        packed.append((bytes.fromhex("".join(commits)), length // 2, deployments))
    return packed


class _OfAStore(Protocol):
    path: Path


_Of = TypeVar("_Of", bound=_OfAStore)
_Params = ParamSpec("_Params")
_Result = TypeVar("_Result")


def _guarded(
    method: Callable[Concatenate[_Of, _Params], _Result],
) -> Callable[Concatenate[_Of, _Params], _Result]:
    """Any SQLite error of a read, a write or a damaged page met mid-run, as the one line that
    names its fix: damage can show on any page, whichever query first reads it."""

    def guarded(self: _Of, /, *args: _Params.args, **kwargs: _Params.kwargs) -> _Result:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as error:
            raise failed(self.path, error, writing=False) from None

    functools.update_wrapper(guarded, method)
    return guarded


class Store:
    """The store, held by this process alone until closed (see StoreLock)."""

    def __init__(
        self, path: Path, *, wait: bool = False, on_wait: Callable[[], None] | None = None
    ) -> None:
        self.path = path
        self._lock = StoreLock(path, wait=wait, on_wait=on_wait)
        try:
            _check_existing(path)
            new = not path.exists() or path.stat().st_size == 0
            self._db = sqlite3.connect(path, isolation_level=None, timeout=30)
            # Read first on this connection: SQLite rolls back what a crashed run left here.
            journal = self._db.execute("PRAGMA journal_mode").fetchone()[0]
            # Read while the run reads git; nothing is written before it passed (see `_writing`).
            # A re-sync with nothing new takes a tenth less time than when it came first.
            self._pages = PageCheck(path)
            # A new store's first recording (a first sync: a whole history) is written once,
            # into the file, under a rollback journal that holds nothing for pages the file did
            # not have; in WAL, every page is written twice (the WAL, then the file). WAL from
            # then on (see `_to_wal`), as every store opened again is.
            self._wal_pending = new
            if not new:
                if journal != "wal":
                    self._pages.passed()  # the change of journal is written to the file
                self._to_wal()
            # Change ids are hashes, so index inserts land all over the file: an 8 MB page
            # cache records a large history a sixth faster than the 2 MB default. More is
            # memory for nothing: 32 MB took 30 MB more to record Rails' history no faster.
            self._db.execute("PRAGMA cache_size = -8192")
            # Look-ups of many events go through temporary tables: in memory, not in TMPDIR.
            self._db.execute("PRAGMA temp_store = MEMORY")
            migrate(self._db, before_writing=self._pages.passed)
            self._db.execute("PRAGMA foreign_keys = ON")
        except (OSError, sqlite3.Error) as error:
            self._abandon()
            raise unwritable(path, error) from None
        except BaseException:
            self._abandon()
            raise

    def _to_wal(self) -> None:
        """Readers see what was committed while a run writes (WAL); a commit survives a crash of
        the process, and of the machine once it was checkpointed (synchronous NORMAL)."""
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = NORMAL")
        self._wal_pending = False

    def _abandon(self) -> None:
        """A store that could not be opened: closed at once, so that SQLite removes the files it
        made beside it (-wal, -shm), and the lock released."""
        pages = getattr(self, "_pages", None)
        if pages is not None:
            pages.stop()
        db = getattr(self, "_db", None)
        if db is not None:
            with suppress(sqlite3.Error):
                db.close()
        self._lock.release()

    def close(self) -> None:
        self._pages.stop()
        # A last checkpoint a full disk refuses loses nothing: what was committed is in the WAL.
        with suppress(sqlite3.Error):
            self._db.close()
        self._lock.release()

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """One transaction; on a failed write, rolled back (unless SQLite already did) and told
        as one line that names the fix."""
        try:
            self._pages.passed()
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
        except (sqlite3.Error, OSError) as error:
            raise failed(self.path, error, writing=True) from None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @_guarded
    def target(self, base_url: str, api_key: str) -> int:
        fingerprint = key_fingerprint(api_key)
        with self._writing():
            self._db.execute(
                "INSERT INTO targets (base_url, key_fingerprint) VALUES (?, ?)"
                " ON CONFLICT DO NOTHING",
                (base_url, fingerprint),
            )
        row = self._db.execute(
            "SELECT id FROM targets WHERE base_url = ? AND key_fingerprint = ?",
            (base_url, fingerprint),
        ).fetchone()
        return int(row[0])

    @_guarded
    def record(
        self,
        events: Iterable[Event],
        *,
        origin: str | None = None,
        point: str | None = None,
        reached: Sequence[str] = (),
        whole: bool = False,
        shipped: Mapping[str, int] | None = None,
        failures: Sequence[Failure] = (),
        facts: OriginFacts | None = None,
    ) -> list[int]:
        """Upsert `events` (and where `origin`'s sync now stands); their row ids, in order.

        `reached`: the ids (hex) of commits the deployments of `point` reach and earlier ones
        did not. `whole`: these are all of `origin`'s events now, and `reached` all it reaches;
        earlier events no longer derived (a deleted tag's deployment, say) stop belonging to
        it, so no re-sync sends them. With failure rules: `shipped`, each change's deployment
        position, and `failures`, those found (all of them when `whole`). `facts`: what the
        origin is, for the report.
        """
        now = int(time.time())
        with self._writing():
            origin_id = None if origin is None else self._origin_id(origin)
            if whole and origin_id is not None:
                self._db.execute("UPDATE events SET origin = NULL WHERE origin = ?", (origin_id,))
                self._db.execute("DELETE FROM reached WHERE origin = ?", (origin_id,))
                self._db.execute("DELETE FROM failures WHERE origin = ?", (origin_id,))
            rows = ((e.system or "", e.kind, e.identifier, e.payload.decode()) for e in events)
            first = self._begin_first_events()
            ids = self._stage(rows, now, origin_id, _INSERT if first else _UPSERT)
            with ThreadPoolExecutor(1, thread_name_prefix="reached") as packing:
                # Sorting and packing a whole history's commits is Python's work; building the
                # index is SQLite's, without the interpreter's lock: they overlap.
                packed = packing.submit(_packed, reached, shipped or {})
                if first:
                    ids = self._index_first_events(ids, now, origin_id)
            if origin_id is not None and point is not None:
                self._db.execute(
                    "UPDATE syncs SET point = ?, synced_at = ? WHERE id = ?",
                    (point, now, origin_id),
                )
                self._reach(origin_id, packed.result())
                system = "" if facts is None else facts.system or ""
                self._db.executemany(
                    "INSERT OR REPLACE INTO failures VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        (origin_id, failure.position, system, *failure_row(failure))
                        for failure in failures
                    ),
                )
            if origin_id is not None and facts is not None:
                self._db.execute(
                    "UPDATE syncs SET system = ?, rules = ?, since = ? WHERE id = ?",
                    (facts.system or "", facts.rules, facts.since, origin_id),
                )
        if self._wal_pending:
            self._to_wal()
        return ids

    def _begin_first_events(self) -> bool:
        """If the store holds no event yet (a first sync: a whole history to insert), drop the
        identity index until `_index_first_events`, in a savepoint, and say so. SQLite then
        sorts the keys once, after the rows, instead of placing each hash id in the index as
        it comes: Rails' rows inserted and indexed in 0.47 s instead of 0.59 s."""
        (first,) = self._db.execute("SELECT NOT EXISTS (SELECT 1 FROM events)").fetchone()
        if first:
            self._db.execute("SAVEPOINT first_events")
            self._db.execute("DROP INDEX events_identity")
        return bool(first)

    def _index_first_events(self, ids: list[int], now: int, origin_id: int | None) -> list[int]:
        """The identity index built again over the first events inserted (their `ids`). Should
        two of them be the same event (a document can hold one twice), that is undone, and
        they are upserted as any later events are: their row ids, in order."""
        try:
            self._db.execute(IDENTITY_INDEX)
        except sqlite3.IntegrityError:
            again = self._db.execute(
                "SELECT system, kind, identifier, body FROM events ORDER BY id"
            )
            inserted: list[tuple[str, str, str, str]] = again.fetchall()
            self._db.execute("ROLLBACK TO first_events")
            ids = self._stage(iter(inserted), now, origin_id, _UPSERT)
        self._db.execute("RELEASE first_events")
        return ids

    def _stage(
        self, rows: Iterator[tuple[str, str, str, str]], now: int, origin_id: int | None, into: str
    ) -> list[int]:
        """`rows` (system, kind, identifier, body) written by `into` (`_INSERT`, or `_UPSERT`
        to update those recorded before); their row ids, in order.

        Staged in a temporary table, a batch at a time, and written by one statement each:
        SQLite then goes through the rows on its own, not a call from Python per row (half
        the time of an executemany on git's history). A new event gets the id after the
        store's last, in order, so when a batch is all new (a first sync) its ids are known
        without looking them up; otherwise they are looked up, at a cost that follows the
        batch, not the store. Making the next batch's rows while SQLite writes one takes a
        first sync 4% less time (git's and Rails' histories, in pairs)."""
        db = self._db
        # A batch's rows are numbered 1, 2, ... by SQLite (the rowid of a table emptied).
        db.execute(
            "CREATE TEMP TABLE IF NOT EXISTS recording (system TEXT, kind TEXT, identifier TEXT,"
            " body TEXT)"
        )
        db.execute("DELETE FROM temp.recording")
        ids: list[int] = []

        def staged(size: int = _BATCH) -> list[tuple[str, str, str, str]]:
            return list(islice(rows, size))

        with ThreadPoolExecutor(1, thread_name_prefix="events") as maker:
            # The first batch small: SQLite starts at once, while the next is made.
            batch = staged(_FIRST_BATCH)
            while batch:
                db.executemany("INSERT INTO temp.recording VALUES (?, ?, ?, ?)", batch)
                # SQLite writes a batch without holding the interpreter's lock: the next one
                # is made meanwhile, on another thread. Not while binding, which takes the lock
                # back row by row: the two threads would wait on each other.
                coming = maker.submit(staged)
                (last,) = db.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()
                db.execute(into, (last, now, origin_id))
                (new,) = db.execute("SELECT count(*) FROM events WHERE id > ?", (last,)).fetchone()
                if new == len(batch):
                    ids.extend(range(last + 1, last + 1 + len(batch)))
                else:
                    ids.extend(
                        int(row[0])
                        for row in db.execute(
                            "SELECT e.id FROM temp.recording r JOIN events e ON e.system = r.system"
                            " AND e.kind = r.kind AND e.identifier = r.identifier"
                            " ORDER BY r.rowid"
                        )
                    )
                db.execute("DELETE FROM temp.recording")
                batch = coming.result()
        return ids

    def _reach(self, origin_id: int, packed: list[tuple[bytes, int, str]]) -> None:
        """Record that `origin_id` reaches these commits (see `_packed`): one statement each
        that splits their bytes beside their deployments (a quarter of the time of a row at a
        time)."""
        for commits, length, deployments in packed:
            self._db.execute(
                "INSERT OR IGNORE INTO reached (origin, commit_id, shipped_by)"
                " SELECT ?1, substr(?2, key * ?3 + 1, ?3), value FROM json_each(?4)",
                (origin_id, commits, length, deployments),
            )

    def _origin_id(self, origin: str) -> int:
        self._db.execute("INSERT INTO syncs (origin) VALUES (?) ON CONFLICT DO NOTHING", (origin,))
        row = self._db.execute("SELECT id FROM syncs WHERE origin = ?", (origin,)).fetchone()
        return int(row[0])

    @property
    def syncs(self) -> SyncState:
        """The sync state as this connection sees it (a run's workers use `reading_syncs`)."""
        return SyncState(self._db, self.path)

    @_guarded
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

    @_guarded
    def count_acknowledged(self, origin: str, target: int) -> dict[str, int]:
        """How many events of `origin` `target` has acknowledged, by kind."""
        return {
            str(kind): int(count)
            for kind, count in self._db.execute(
                "SELECT e.kind, count(*) FROM deliveries d CROSS JOIN events e ON e.id = d.event"
                " WHERE d.target = ? AND d.state = 'acked'"
                " AND e.origin = (SELECT id FROM syncs WHERE origin = ?) GROUP BY e.kind",
                (target, origin),
            )
        }

    @_guarded
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

    @_guarded
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

    @_guarded
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

    @_guarded
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

    @_guarded
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
        with self._writing():
            self._db.executemany(
                "INSERT INTO deliveries (event, target, state, attempts, detail, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (event, target) DO UPDATE SET state = excluded.state,"
                " attempts = attempts + excluded.attempts, detail = excluded.detail,"
                " updated_at = excluded.updated_at",
                rows,
            )


@dataclass(frozen=True)
class OriginFacts:
    """What an origin is, for the report: its system, the failure rules its syncs apply (as
    --infer-failures names them; '' for none), and its --since."""

    system: str | None
    rules: str
    since: int | None


def failure_row(failure: Failure) -> tuple[object, ...]:
    """A failure's columns after its origin, position and system, as `failures` holds them."""
    failed, recovered = failure.failed, failure.recovered
    return (
        failed.id,
        failed.commit,
        failed.time,
        str(failure.rule),
        failure.marker,
        failure.subject,
        recovered.id,
        recovered.time,
        int(failure.recovery_shipped),
    )


def _check_existing(path: Path) -> None:
    """`check_existing`, telling a store of ours whose first page was damaged (its header still
    carries our application id) from a file that was never one."""
    try:
        check_existing(path)
    except StoreError:
        if not _header_is_ours(path):
            raise
        try:
            with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as db:
                db.execute("PRAGMA quick_check(1)").fetchall()
        except sqlite3.DatabaseError as error:
            raise damaged(path, error) from None
        raise


def _header_is_ours(path: Path) -> bool:
    # SQLite's file header keeps the application id big-endian at offset 68.
    try:
        with path.open("rb") as stream:
            header = stream.read(100)
    except OSError:
        return False
    return len(header) == 100 and int.from_bytes(header[68:72], "big") == APPLICATION_ID


class SyncState:
    """Where each origin's last sync left off, read on a connection to the store."""

    def __init__(self, db: sqlite3.Connection, path: Path) -> None:
        self._db = db
        self.path = path

    @_guarded
    def failures_before(self, origin: str) -> KnownFailures:
        """What earlier syncs of `origin` found, for a re-sync's failure rules."""
        return KnownFailures(self._db, origin, self.path)

    @_guarded
    def sync_point(self, origin: str) -> str | None:
        """Where the last sync of `origin` left off, as `record` was given it."""
        row = self._db.execute("SELECT point FROM syncs WHERE origin = ?", (origin,)).fetchone()
        return None if row is None or row[0] is None else str(row[0])

    @_guarded
    def reached(self, origin: str) -> ReachedCommits:
        """The commits `origin`'s deployments reach, as `record` was given them."""
        return ReachedCommits(self._db, origin, self.path)


@contextmanager
def reading_syncs(path: Path) -> Iterator[SyncState]:
    """The sync state on a read-only connection of its own: for a thread that derives a
    repository while the run's one writer records others (WAL keeps each read consistent)."""
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    except sqlite3.Error as error:
        raise failed(path, error, writing=False) from None
    try:
        yield SyncState(db, path)
    finally:
        db.close()


class _OfOrigin:
    """Rows of one origin, asked of the store as a re-sync needs them."""

    def __init__(self, db: sqlite3.Connection, origin: str, path: Path) -> None:
        self._db = db
        self.path = path
        row = db.execute("SELECT id FROM syncs WHERE origin = ?", (origin,)).fetchone()
        self._origin = None if row is None else int(row[0])


class KnownFailures(_OfOrigin):
    """Which deployment (its position in the sync point) shipped a commit as a change, and which
    deployments were found failed, by earlier syncs of an origin."""

    @_guarded
    def shipped_by(self, commit: str) -> int | None:
        found = self._db.execute(
            "SELECT shipped_by FROM reached WHERE origin = ? AND commit_id = ?",
            (self._origin, bytes.fromhex(commit)),
        ).fetchone()
        return None if found is None or found[0] is None else int(found[0])

    @_guarded
    def failed(self) -> set[int]:
        rows = self._db.execute("SELECT position FROM failures WHERE origin = ?", (self._origin,))
        return {int(position) for (position,) in rows}


class ReachedCommits(_OfOrigin):
    """Whether a commit (its hex id) is one an origin's deployments reach: asked of the store
    commit by commit, as a re-sync meets only the few that git lists."""

    @_guarded
    def __bool__(self) -> bool:
        return self._origin is not None and self._ask(
            "SELECT 1 FROM reached WHERE origin = ? LIMIT 1", ()
        )

    @_guarded
    def __contains__(self, commit: object) -> bool:
        if not isinstance(commit, str) or self._origin is None:
            return False
        query = "SELECT 1 FROM reached WHERE origin = ? AND commit_id = ?"
        return self._ask(query, (bytes.fromhex(commit),))

    def _ask(self, query: str, values: tuple[bytes, ...]) -> bool:
        return self._db.execute(query, (self._origin, *values)).fetchone() is not None


@dataclass(frozen=True)
class StoreContents:
    """What a report reads of a store."""

    events: list[tuple[str, str, str]]  # (system, kind, JSON body), in recording order
    # Each inferred failure: (system, deployment, commit, deployed_at, rule, marker, subject,
    # recovered_by, recovered_at, recovery_shipped).
    failures: list[tuple[str, str, str, int, str, str, str | None, str, int, int]]
    origins: list[tuple[str, str, int | None]]  # each synced origin's (system, rules, since)


def read_store(path: Path) -> StoreContents:
    """Every event of the store at `path`, for any target or none, with the failures inferred
    and what each origin is.

    Read-only and without the lock: a report may run while a sync writes (SQLite's WAL keeps
    what it reads consistent)."""
    if not path.is_file():
        raise StoreError(
            f"there is no store at {path}: run 'pulse-backfill git' first, or pass --store or "
            "--from FILE"
        )
    _check_existing(path)
    try:
        with closing(
            sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
        ) as db:
            check_pages(db, path)
            db.execute("BEGIN")  # one snapshot for all three
            events = db.execute("SELECT system, kind, body FROM events ORDER BY id").fetchall()
            failures = db.execute(
                "SELECT system, deployment, commit_id, deployed_at, rule, marker, subject,"
                " recovered_by, recovered_at, recovery_shipped FROM failures"
                " ORDER BY system, deployed_at, deployment"
            ).fetchall()
            origins = db.execute(
                "SELECT system, rules, since FROM syncs WHERE point IS NOT NULL AND rules"
                " IS NOT NULL ORDER BY id"
            ).fetchall()
    except sqlite3.Error as error:
        raise failed(path, error, writing=False) from None
    return StoreContents(
        [(str(system), str(kind), str(body)) for system, kind, body in events], failures, origins
    )


def origin_locations(path: Path) -> list[tuple[str, str]]:
    """Each git origin's system and repository location (a path or a URL without credentials),
    as its syncs recorded them; read-only, without the lock."""
    try:
        with closing(
            sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
        ) as db:
            rows = db.execute(
                "SELECT system, origin FROM syncs WHERE origin LIKE 'git %' AND system IS NOT NULL"
            ).fetchall()
    except sqlite3.Error as error:
        raise failed(path, error, writing=False) from None
    # An origin is "git LOCATION RECIPE-HASH": the location may hold spaces, the hash none.
    return [(str(system), str(origin)[4:].rsplit(" ", 1)[0]) for system, origin in rows]
