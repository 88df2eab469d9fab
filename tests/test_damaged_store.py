"""A store whose pages were overwritten is refused, in one line, wherever SQLite meets the damage,
and left as it was (so that it can still be restored)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from pulse_backfill.errors import StoreError
from pulse_backfill.store import Store
from tests.conftest import API_KEY, Cli
from tests.ingestion_server import IngestionServer


def _recorded(cli: Cli, repo: Path, store: Path) -> None:
    result = cli("git", repo, "--store", store, "--include-first")
    assert result.exit_code == 0, result.output


def _overwrite(store: Path, at: int, data: bytes) -> bytes:
    with store.open("r+b") as stream:
        stream.seek(at)
        stream.write(data)
    return store.read_bytes()


def _fix(store: Path, reason: str) -> str:
    return (
        f"Error: {store} is damaged (SQLite: {reason}): move it aside or restore it; the next "
        "run rebuilds it from --since\n"
    )


@pytest.mark.parametrize(
    ("where", "reason"),
    [
        ("middle", "database disk image is malformed"),  # two pages of the events' tables
        ("schema", "database disk image is malformed"),  # the first page, after its header
        ("header", "file is not a database"),  # the header, short of the application id
    ],
)
def test_overwritten_pages_are_refused_and_left_untouched(
    cli: Cli, big_repo: Path, store: Path, where: str, reason: str
) -> None:
    _recorded(cli, big_repo, store)
    page_size = sqlite3.connect(store).execute("PRAGMA page_size").fetchone()[0]
    pages = store.stat().st_size // page_size
    assert pages > 8
    at, length = {
        "middle": (page_size * (pages // 2), page_size * 2),
        "schema": (100, page_size - 100),
        "header": (20, 40),
    }[where]
    damaged = _overwrite(store, at, b"\xa5" * length)

    result = cli("git", big_repo, "--store", store, "--include-first")

    assert result.exit_code == 2
    assert result.stderr == _fix(store, reason)
    assert store.read_bytes() == damaged
    if where != "header":  # SQLite itself leaves an empty -wal beside a header it cannot read
        assert sorted(path.name for path in store.parent.iterdir()) == [
            "store.sqlite3",
            "store.sqlite3.lock",
        ]


def test_report_refuses_a_damaged_store_too(cli: Cli, big_repo: Path, store: Path) -> None:
    _recorded(cli, big_repo, store)
    page_size = sqlite3.connect(store).execute("PRAGMA page_size").fetchone()[0]
    damaged = _overwrite(store, page_size * 3, b"\xa5" * page_size * 2)
    result = cli("report", "--store", store)
    assert result.exit_code == 2
    assert result.stderr == _fix(store, "database disk image is malformed")
    assert store.read_bytes() == damaged


def test_damage_met_mid_run_is_refused_the_same_way(
    cli: Cli, big_repo: Path, store: Path, server: IngestionServer
) -> None:
    # Bytes of an event's body overwritten: every page is sound (quick_check passes), and the
    # damage shows only when the run reads that body to send it.
    _recorded(cli, big_repo, store)
    content = store.read_bytes()
    at = content.index(b'"$type":"deployment"')
    damaged = _overwrite(store, at, b"\xff\xfe")

    result = cli(
        "git", big_repo, "--store", store, "--include-first", "--api-key", API_KEY,
        "--base-url", server.base_url,
    )  # fmt: skip

    assert result.exit_code == 2
    assert result.stderr == _fix(store, "Could not decode to UTF-8 column 'body'")
    assert server.requests == []
    # Not repaired, not replaced: what the run had recorded before it met the damage is kept
    # (each write is a transaction of its own), and the damaged bytes are still there.
    assert store.read_bytes()[at : at + 2] == damaged[at : at + 2] == b"\xff\xfe"


def test_in_an_organisation_run_damage_ends_the_run(
    cli: Cli, big_repo: Path, repos: dict[str, Path], store: Path, server: IngestionServer
) -> None:
    # The store is every repository's: the others do not go on writing to a damaged one.
    _recorded(cli, big_repo, store)
    at = store.read_bytes().index(b'"$type":"deployment"')
    _overwrite(store, at, b"\xff\xfe")
    result = cli(
        "git", big_repo, repos["linear"], "--store", store, "--include-first",
        "--api-key", API_KEY, "--base-url", server.base_url,
    )  # fmt: skip
    assert result.exit_code == 2
    assert (
        result.stderr.splitlines()[-1]
        == _fix(store, "Could not decode to UTF-8 column 'body'")[:-1]
    )
    assert server.requests == []


def test_a_store_opens_while_its_pages_are_checked_and_is_written_only_once_they_pass(
    cli: Cli, big_repo: Path, store: Path
) -> None:
    # The run reads git while SQLite reads the pages: opening does not wait for the check, and
    # the first write does (here the target's row, before any event).
    _recorded(cli, big_repo, store)
    page_size = sqlite3.connect(store).execute("PRAGMA page_size").fetchone()[0]
    # Pages of the events' tables, which writing the target's row does not read.
    middle = store.stat().st_size // page_size // 2
    damaged = _overwrite(store, page_size * middle, b"\xa5" * page_size * 2)
    with Store(store) as opened, pytest.raises(StoreError) as refused:
        opened.target("https://pulse.example", API_KEY)
    assert f"Error: {refused.value}\n" == _fix(store, "database disk image is malformed")
    assert store.read_bytes() == damaged
