"""Incidents from a status page, PagerDuty and files, served over real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pulse_backfill.documents.tables import TableError, parse_time
from pulse_backfill.incidents.records import (
    Incident,
    select_incidents,
)
from tests.conftest import API_KEY, Cli
from tests.ingestion_server import IngestionServer

FIXTURES = Path(__file__).parent.parent / "fixtures" / "incidents"


def serve(name: str, status: int = 200) -> Callable[..., tuple[int, str, bytes]]:
    body = (FIXTURES / name).read_bytes()
    kind = "text/csv" if name.endswith(".csv") else "application/json"
    return lambda query, headers: (status, kind, body)


def incidents(  # type: ignore[no-untyped-def]
    cli: Cli,
    server: IngestionServer,
    store: Path,
    *args: str | Path,
    env: dict[str, str] | None = None,
):
    return cli(
        "incidents", *args, "--api-key", API_KEY, "--base-url", server.base_url,
        "--store", store, "--concurrency", "1", env=env,
    )  # fmt: skip


def sent(server: IngestionServer) -> list[tuple[str, str, str]]:
    return [
        (b["incident_id"], b["time_created"], b["time_resolved"]) for b in server.accepted_bodies()
    ]


def test_a_statuspage_page(cli: Cli, server: IngestionServer, store: Path) -> None:
    server.sources["/api/v2/incidents.json"] = serve("statuspage.json")
    result = incidents(cli, server, store, "statuspage", server.base_url, "--system", "api")
    assert result.exit_code == 0, result.output
    assert sent(server) == [
        ("x7k2hgq1b9dd", "2020-10-02T06:00:00Z", "2020-10-02T06:20:00Z"),
        ("p31zjtct2jer", "2020-10-08T10:00:00Z", "2020-10-08T11:15:00Z"),
    ]
    assert {r.query["system"][0] for r in server.requests} == {"api"}
    assert {b["source"] for b in server.accepted_bodies()} == {"statuspage"}
    lines = result.stderr.splitlines()
    assert lines[0] == (
        f"3 incidents from {server.base_url}: 2 resolved to send, 1 unresolved, 0 rejected, "
        "0 outside the period"
    )
    assert lines[1] == "Unresolved, for a later run once resolved: cp306tmzcl0y."

    # The open incident is picked up once it is resolved; the others are not sent twice.
    document = json.loads((FIXTURES / "statuspage.json").read_text())
    document["incidents"][0]["resolved_at"] = "2020-10-14T16:00:00.000-06:00"
    server.requests.clear()
    server.sources["/api/v2/incidents.json"] = lambda q, h: (
        200, "application/json", json.dumps(document).encode()
    )  # fmt: skip
    again = incidents(cli, server, store, "statuspage", server.base_url, "--system", "api")
    assert again.exit_code == 0, again.output
    assert sent(server) == [("cp306tmzcl0y", "2020-10-14T20:22:39Z", "2020-10-14T22:00:00Z")]


def test_a_full_statuspage_page_is_said(cli: Cli, server: IngestionServer, store: Path) -> None:
    full = {
        "incidents": [
            {"id": f"i{n}", "created_at": f"2020-10-{n % 28 + 1:02d}T00:00:00Z",
             "resolved_at": f"2020-10-{n % 28 + 1:02d}T01:00:00Z"}
            for n in range(50)
        ]
    }  # fmt: skip
    server.sources["/status/api/v2/incidents.json"] = lambda q, h: (
        200, "application/json", json.dumps(full).encode()
    )  # fmt: skip
    url = f"{server.base_url}/status/api/v2/incidents.json"
    result = incidents(cli, server, store, "statuspage", url, "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["notes"] == [
        "the status page listed 50 incidents, the most its API gives: older incidents are not "
        "included"
    ]
    assert summary["incidents"]["derived"] == 50
    assert server.requests == []


def test_pagerduty_pages_and_six_month_windows(
    cli: Cli, server: IngestionServer, store: Path
) -> None:
    def answer(query: dict[str, list[str]], headers: dict[str, str]) -> tuple[int, str, bytes]:
        if headers.get("authorization") != "Token token=pd-secret":
            return 401, "application/json", b'{"error": {"message": "Unauthorized"}}'
        if query["since"] != ["2020-01-01T00:00:00Z"]:
            return 200, "application/json", b'{"incidents": [], "more": false}'
        page = "pagerduty-page-1.json" if query["offset"] == ["0"] else "pagerduty-page-2.json"
        return 200, "application/json", (FIXTURES / page).read_bytes()

    server.sources["/incidents"] = answer
    result = incidents(
        cli, server, store, "pagerduty", "--api-url", server.base_url, "--service", "PIJ90N7",
        "--since", "2020-01-01", "--until", "2021-01-01", "--system", "platform",
        env={"PAGERDUTY_TOKEN": "pd-secret"},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert sent(server) == [
        ("PT4KHLK", "2020-03-06T21:30:42Z", "2020-03-06T22:00:42Z"),
        ("PRL6M3X", "2020-04-01T10:00:00Z", "2020-04-01T13:00:00Z"),
    ]
    windows = [(r.query["since"][0], r.query["until"][0]) for r in server.source_requests]
    assert windows == [
        ("2020-01-01T00:00:00Z", "2020-06-29T00:00:00Z"),
        ("2020-01-01T00:00:00Z", "2020-06-29T00:00:00Z"),
        ("2020-06-29T00:00:00Z", "2020-12-26T00:00:00Z"),
        ("2020-12-26T00:00:00Z", "2021-01-01T00:00:00Z"),
    ]
    assert {r.query["service_ids[]"][0] for r in server.source_requests} == {"PIJ90N7"}
    assert "pd-secret" not in result.output

    refused = incidents(
        cli, server, store, "pagerduty", "--api-url", server.base_url, "--since", "2020-01-01",
        "--token", "wrong",
    )  # fmt: skip
    assert refused.exit_code == 2
    assert refused.stderr == ("Error: PagerDuty refused the credentials (401): check the token\n")


def test_the_guides_status_page_format_from_a_url(
    cli: Cli, server: IngestionServer, store: Path
) -> None:
    server.sources["/api/incidents"] = serve("guide-status-page.json")
    result = incidents(
        cli, server, store, "file", f"{server.base_url}/api/incidents",
        "--id-field", "incidentID", "--created-field", "createdAt",
        "--resolved-field", "updatedAt", "--status-field", "status", "--resolved-status",
        "Resolved",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert sent(server) == [("inc-301", "2020-10-05T12:00:00Z", "2020-10-05T12:45:30Z")]
    lines = result.stderr.splitlines()
    assert lines[0] == (
        "warning: incident inc-303: resolved (2020-10-15T09:00:00Z) before it was created "
        "(2020-10-15T10:00:00Z): not sent"
    )
    assert "Unresolved, for a later run once resolved: inc-302." in lines


def test_a_csv_file_with_milliseconds_seconds_and_iso_times(
    cli: Cli, server: IngestionServer, store: Path
) -> None:
    result = incidents(
        cli, server, store, "file", FIXTURES / "incidents.csv", "--created-field", "opened",
        "--resolved-field", "closed", "--since", "2020-10-01", "--until", "2020-10-20",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert sent(server) == [("db-1", "2020-10-01T10:00:00Z", "2020-10-01T11:00:00Z")]
    assert result.stderr.splitlines()[0] == (
        f"3 incidents from {FIXTURES / 'incidents.csv'}: 1 resolved to send, 1 unresolved, "
        "0 rejected, 1 outside the period"
    )


def test_source_failures(cli: Cli, server: IngestionServer, store: Path, tmp_path: Path) -> None:
    server.sources["/broken/api/v2/incidents.json"] = lambda q, h: (503, "text/plain", b"down")
    down = incidents(cli, server, store, "statuspage", f"{server.base_url}/broken")
    assert down.exit_code == 1
    assert down.stderr == (
        f"Error: the status page answered 503 Service Unavailable at "
        f"{server.base_url}/broken/api/v2/incidents.json: try later\n"
    )
    missing = incidents(cli, server, store, "statuspage", f"{server.base_url}/nowhere")
    assert missing.exit_code == 2
    assert missing.stderr == (
        f"Error: the status page has nothing at {server.base_url}/nowhere/api/v2/incidents.json "
        "(404): check the address\n"
    )
    odd = tmp_path / "odd.json"
    odd.write_text('[{"id": "a", "created_at": "last tuesday"}]')
    bad = incidents(cli, server, store, "file", odd)
    assert bad.exit_code == 2
    assert bad.stderr == (
        f"Error: {odd}: item 1: created_at is not a time (epoch seconds or milliseconds, "
        "or ISO 8601): 'last tuesday'\n"
    )
    other_header = tmp_path / "other.csv"
    other_header.write_text("ref,opened,closed\nINC-1,1601546400,1601550000\n")
    unread = incidents(cli, server, store, "file", other_header)
    assert unread.exit_code == 2
    assert unread.stderr == (
        f"Error: {other_header}: line 2: no 'id': the columns are ref, opened, closed; name the "
        "field with --id-field\n"
    )
    no_token = incidents(cli, server, store, "pagerduty", "--since", "2020-01-01")
    assert no_token.exit_code == 2
    assert no_token.stderr == (
        "Error: PagerDuty needs a token: set PAGERDUTY_TOKEN or pass --token\n"
    )
    assert server.accepted == []


@pytest.mark.parametrize(
    ("value", "epoch"),
    [
        (1601546400, 1601546400),
        (1601546400000, 1601546400),
        ("1601546400", 1601546400),
        ("1601546400123", 1601546400),
        ("2020-10-01T10:00:00Z", 1601546400),
        ("2020-10-01T12:00:00+02:00", 1601546400),
        ("2020-10-01T10:00:00", 1601546400),
        ("2020-10-01T10:00:00.999Z", 1601546400),
    ],
)
def test_times(value: object, epoch: int) -> None:
    assert parse_time(value, "t") == epoch


@pytest.mark.parametrize(
    "value", [None, True, "", "soon", [1], "nan", "inf", float("nan"), 10**400, -5, "99999-01-01"]
)
def test_not_times(value: object) -> None:
    with pytest.raises(TableError):
        parse_time(value, "t")


def test_selection() -> None:
    chosen = select_incidents(
        [
            Incident("late", 300, 400),
            Incident("early", 100, 150),
            Incident("open", 200, None),
            Incident("before", 50, 60),
            Incident("backwards", 250, 240),
        ],
        since=100,
        until=1000,
        system=None,
        source="cli",
    )
    assert [e.identifier for e in chosen.events] == ["early", "late"]
    assert chosen.unresolved == ["open"]
    assert chosen.outside == 1
    assert len(chosen.rejected) == 1


def test_a_signed_urls_token_is_never_shown(cli: Cli, server: IngestionServer, store: Path) -> None:
    server.sources["/export.json"] = lambda q, h: (503, "text/plain", b"down")
    url = f"{server.base_url}/export.json?signature=s3cr3t-sig"
    result = incidents(cli, server, store, "file", url)
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: the incident file answered 503 Service Unavailable at "
        f"{server.base_url}/export.json?...: try later\n"
    )


@given(st.one_of(st.text(), st.integers(), st.floats(), st.none(), st.booleans()))
def test_any_value_is_a_time_or_one_clear_error(value: object) -> None:
    try:
        seconds = parse_time(value, "t")
    except TableError:
        return
    assert 0 <= seconds <= 253_402_300_799
