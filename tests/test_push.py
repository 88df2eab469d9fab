"""The standard CLI's push commands: its documented examples, checked on the wire."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from pulse_backfill import __version__
from tests.conftest import API_KEY, Cli
from tests.gitoracle import commit_of, git
from tests.ingestion_server import IngestionServer


def push(cli: Cli, server: IngestionServer, store: Path, *args: str | Path):  # type: ignore[no-untyped-def]
    return cli("push", "--base-url", server.base_url, "--store", store, *args)


def only_request(server: IngestionServer) -> tuple[dict[str, list[str]], bytes]:
    assert len(server.requests) == 1
    request = server.requests[0]
    assert request.method == "POST"
    assert request.path == "/v1/ingestion/cli"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["environment"] == "_unknown_"
    assert request.headers["cli-version"] == __version__
    return request.query, request.body


def test_push_change_as_documented(cli: Cli, server: IngestionServer, store: Path) -> None:
    result = push(
        cli, server, store, "change", "--api-key", API_KEY,
        "--identifier", "a1b2c3", "--timestamp", "1602253523",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    query, body = only_request(server)
    assert query == {"api_key": [API_KEY]}
    assert body == (
        b'{"source":"cli","change_id":"a1b2c3","time_created":"2020-10-09T14:25:23Z",'
        b'"event_type":"commit","$type":"change"}'
    )


def test_push_deployment_as_documented(cli: Cli, server: IngestionServer, store: Path) -> None:
    result = push(
        cli, server, store, "--system", "web", "deployment", "--api-key", API_KEY,
        "--identifier", "1.2.3", "--timestamp", "1602253523", "--teams", "core, web",
        "c1", "c2",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    query, body = only_request(server)
    assert query == {"api_key": [API_KEY], "system": ["web"]}
    assert body == (
        b'{"source":"cli","deploy_id":"1.2.3","time_created":"2020-10-09T14:25:23Z",'
        b'"changes":["c1","c2"],"teams":["core","web"],"$type":"deployment"}'
    )


def test_push_incident_as_documented(cli: Cli, server: IngestionServer, store: Path) -> None:
    result = push(
        cli, server, store, "incident", "--api-key", API_KEY, "--identifier", "inc-7",
        "--timestampCreated", "1602253523", "--timestampResolved", "1602257123",
        "--source", "statuspage",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    _, body = only_request(server)
    assert body == (
        b'{"source":"statuspage","incident_id":"inc-7","time_created":"2020-10-09T14:25:23Z",'
        b'"time_resolved":"2020-10-09T15:25:23Z","$type":"incident"}'
    )
    assert result.stderr.splitlines()[0] == (
        f"Sent 1 incident to {server.base_url}/v1/ingestion/cli; already delivered: 0 incidents."
    )


def test_a_step_that_runs_twice_sends_once(cli: Cli, server: IngestionServer, store: Path) -> None:
    args = ("change", "--identifier", "c", "--timestamp", "1", "--event_type", "pr")
    assert push(cli, server, store, "--api-key", API_KEY, *args).exit_code == 0
    again = push(cli, server, store, "--api-key", API_KEY, *args, "--json")
    assert again.exit_code == 0
    assert len(server.requests) == 1
    assert json.loads(again.stdout)["changes"] == {
        "derived": 1,
        "sent": 0,
        "already_delivered": 1,
        "not_delivered": 0,
    }
    assert server.accepted_bodies()[0]["event_type"] == "pr"


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (
            ["incident", "--identifier", "i", "--timestampCreated", "20",
             "--timestampResolved", "10"],
            "Error: --timestampResolved 10 is before --timestampCreated 20: an incident is "
            "resolved after it was created",
        ),
        (
            ["deployment", "--identifier", "1.0.0", "--timestamp", "5"],
            "Error: a deployment needs at least one change: pass the ids of the changes it "
            "shipped after the options",
        ),
        (
            ["change", "--identifier", "c", "--timestamp", "yesterday"],
            "Error: Invalid value for '--timestamp': 'yesterday' is not a whole number "
            "(see 'pulse-backfill push change --help')",
        ),
        (
            ["change", "--identifier", "c", "--timestamp", "99999999999999"],
            "Error: Invalid value for '--timestamp': 99999999999999 is not from 0 to "
            "253402300799 (see 'pulse-backfill push change --help')",
        ),
        (
            ["change", "--identifier", " ", "--timestamp", "5"],
            "Error: --identifier must not be empty",
        ),
        (
            ["change", "--timestamp", "5"],
            "Error: Missing option '--identifier'. (see 'pulse-backfill push change --help')",
        ),
    ],
)  # fmt: skip
def test_what_the_standard_cli_accepts_wrongly_is_refused(
    cli: Cli, server: IngestionServer, store: Path, args: list[str], error: str
) -> None:
    result = push(cli, server, store, "--api-key", API_KEY, *args)
    assert result.exit_code == 2
    assert result.stderr == error + "\n"
    assert server.requests == []


def test_push_git_deployment_sends_previous_ref_to_head(
    cli: Cli, repos: dict[str, Path], server: IngestionServer, store: Path
) -> None:
    repo = repos["release-branches"]
    result = push(
        cli, server, store, "git", "deployment", "--api-key", API_KEY, "--directory", repo,
        "--previous-deployment-ref", "v1.0.0", "--ref", "v1.1.0",
        "--identifier", "v1.1.0", "--timestamp", "1602253523", "--concurrency", "1",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    newest_first = git(repo, "log", "--format=%H", "v1.0.0..v1.1.0").split()
    assert result.stdout.splitlines() == [
        *(f"Found change {commit}" for commit in newest_first),
        "Deployment v1.1.0",
    ]
    bodies = server.accepted_bodies()
    assert [b["change_id"] for b in bodies[:-1]] == newest_first
    assert {b["source"] for b in bodies} == {"git"}
    authored = git(repo, "log", "-1", "--format=%aI", newest_first[0]).strip()
    assert bodies[0]["time_created"] == authored.replace("+00:00", "Z")
    assert bodies[-1] == {
        "source": "git",
        "deploy_id": "v1.1.0",
        "time_created": "2020-10-09T14:25:23Z",
        "changes": newest_first,
        "teams": [],
        "$type": "deployment",
    }


def test_push_git_deployment_paths_dry_run_and_mistakes(
    cli: Cli, repos: dict[str, Path], server: IngestionServer, store: Path
) -> None:
    repo = repos["monorepo"]
    common = ("git", "deployment", "--directory", repo, "--identifier", "a-2", "--timestamp", "9")
    dry = push(
        cli, server, store, *common, "--previous-deployment-ref", "service-a/v1.0.0",
        "--dry-run", "service-a",
    )  # fmt: skip
    assert dry.exit_code == 0, dry.output
    assert dry.stdout.splitlines() == [
        f"Found change {commit_of(repo, 'service-a: breaking')}",
        f"Found change {commit_of(repo, 'service-a: feature')}",
        "Deployment a-2",
    ]
    assert server.requests == []

    bad_ref = push(cli, server, store, *common, "--previous-deployment-ref", "v9.9.9")
    assert bad_ref.exit_code == 2
    assert bad_ref.stderr == (
        f"Error: --previous-deployment-ref 'v9.9.9' names no commit in {repo}: pass a tag, "
        "branch or commit of that repository\n"
    )
    nothing = push(cli, server, store, *common, "--previous-deployment-ref", "HEAD")
    assert nothing.exit_code == 2
    assert nothing.stderr == (
        "Error: no commits between HEAD and HEAD: a deployment needs at least one change; "
        "check --previous-deployment-ref\n"
    )
    no_path = push(cli, server, store, *common, "--previous-deployment-ref", "service-a/v1.0.0", "")
    assert no_path.exit_code == 2
    assert (
        no_path.stderr == "Error: PATH '' names no path: pass a file or folder of the repository\n"
    )
    assert server.requests == []


def test_review_then_send_exactly_that(
    cli: Cli, repos: dict[str, Path], server: IngestionServer, store: Path, tmp_path: Path
) -> None:
    export = tmp_path / "events.ndjson"
    derived = cli("git", repos["linear"], "--dry-run", "--output", export)
    assert derived.exit_code == 0, derived.output
    lines = export.read_text().splitlines()
    # A reviewer drops the last deployment and its change.
    kept = lines[:-2]
    export.write_text("\n".join(kept) + "\n")
    result = push(cli, server, store, "--api-key", API_KEY, "events", export)
    assert result.exit_code == 0, result.output
    sent = sorted(r.body for r in server.requests)
    expected = []
    for line in kept:
        body = json.loads(line)
        assert body.pop("system") == "linear"
        expected.append(json.dumps(body, separators=(",", ":")).encode())
    assert sent == sorted(expected)
    assert {r.query["system"][0] for r in server.requests} == {"linear"}


@pytest.mark.parametrize(
    ("line", "why"),
    [
        ("not json", "not JSON (Expecting value at column 1)"),
        ('{"$type":"commit"}',
         '"$type" must be "change", "deployment" or "incident", not \'commit\''),
        ('{"$type":"change","source":"git","change_id":"c","time_created":"2020-10-01"}',
         "change is missing 'event_type'"),
        ('{"$type":"change","source":"git","change_id":"c","event_type":"commit",'
         '"time_created":"2020-10-01 10:00"}',
         "'time_created' is not an RFC 3339 time like 2020-10-16T12:40:32Z: '2020-10-01 10:00'"),
        ('{"$type":"deployment","source":"git","deploy_id":"v1","time_created":'
         '"2020-10-01T00:00:00Z","changes":[],"teams":[]}',
         "a deployment needs at least one change"),
        ('{"$type":"incident","source":"cli","incident_id":"i","time_created":'
         '"2020-10-02T00:00:00Z","time_resolved":"2020-10-01T00:00:00Z","extra":1}',
         "incident has unknown field 'extra'"),
    ],
)  # fmt: skip
def test_a_bad_line_sends_nothing(
    cli: Cli, server: IngestionServer, store: Path, tmp_path: Path, line: str, why: str
) -> None:
    good = (
        '{"source":"cli","change_id":"ok","time_created":"2020-10-01T00:00:00Z",'
        '"event_type":"commit","$type":"change"}'
    )
    export = tmp_path / "events.ndjson"
    export.write_text(f"{good}\n\n{line}\n")
    result = push(cli, server, store, "--api-key", API_KEY, "events", export)
    assert result.exit_code == 2
    assert result.stderr == f"Error: {export} line 3: {why}; nothing was sent\n"
    assert server.requests == []


def test_push_events_from_stdin(cli: Cli, server: IngestionServer, store: Path) -> None:
    line = (
        '{"source":"cli","incident_id":"i","time_created":"2020-10-01T00:00:00+02:00",'
        '"time_resolved":"2020-10-01T01:00:00+02:00","$type":"incident","system":null}'
    )
    result = cli(
        "push", "events", "-", "--api-key", API_KEY, "--base-url", server.base_url,
        "--store", store, input=line + "\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    _, body = only_request(server)
    assert body == line.removesuffix(',"system":null}').encode() + b"}"


def test_a_keyless_push_says_one_event_waits_and_whether_this_run_recorded_it(
    cli: Cli, store: Path
) -> None:
    args = ("push", "change", "--identifier", "c", "--timestamp", "1", "--store", store)
    first, again = cli(*args), cli(*args)
    assert first.exit_code == again.exit_code == 0
    line = (
        "Nothing was sent (no API key): 1 event waits in {} ({} new); to send it, set "
        "PULSE_API_KEY and run the same command again."
    )
    assert first.stderr.splitlines()[0] == line.format(store, 1)
    assert again.stderr.splitlines()[0] == line.format(store, 0)
    assert re.fullmatch(r"Done in \d\.\d s\.", again.stderr.splitlines()[1])
