"""`pulse-backfill git` end to end: real repositories, a real server, exact bytes and lines."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from fixtures.fast_import import CommitSpec, TagSpec, build
from pulse_backfill import __version__
from tests.conftest import API_KEY, Cli
from tests.gitoracle import commit_of, git
from tests.ingestion_server import Fault, IngestionServer, ServerThread


def send(cli: Cli, repo: Path, server: IngestionServer, store: Path, *args: str):  # type: ignore[no-untyped-def]
    return cli(
        "git", repo, "--api-key", API_KEY, "--base-url", server.base_url, "--store", store, *args
    )


def kinds_and_ids(bodies: list[dict[str, object]]) -> list[tuple[object, object]]:
    return [(b["$type"], b.get("deploy_id") or b.get("change_id")) for b in bodies]


def test_sends_exactly_what_the_standard_cli_sends(
    cli: Cli, repos: dict[str, Path], server: IngestionServer, store: Path
) -> None:
    path = repos["release-branches"]
    result = send(cli, path, server, store, "--concurrency", "1")
    assert result.exit_code == 0, result.output

    a, b = commit_of(path, "feature a"), commit_of(path, "feature b")
    first = server.accepted[:3]
    assert [r.body for r in first] == [
        (
            f'{{"source":"git","change_id":"{a}","time_created":"2020-10-03T09:30:00Z",'
            '"event_type":"commit","$type":"change"}'
        ).encode(),
        (
            f'{{"source":"git","change_id":"{b}","time_created":"2020-10-04T09:30:00Z",'
            '"event_type":"commit","$type":"change"}'
        ).encode(),
        (
            '{"source":"git","deploy_id":"v1.1.0","time_created":"2020-10-04T11:00:00Z",'
            f'"changes":["{a}","{b}"],"teams":[],"$type":"deployment"}}'
        ).encode(),
    ]
    for request in server.requests:
        assert request.method == "POST"
        assert request.path == "/v1/ingestion/cli"
        assert request.raw_query == f"api_key={API_KEY}&system=release-branches"
        assert request.headers["content-type"] == "application/json"
        assert request.headers["environment"] == "_unknown_"
        assert request.headers["cli-version"] == __version__

    deployments = [b["deploy_id"] for b in server.accepted_bodies() if b["$type"] == "deployment"]
    assert deployments == ["v1.1.0", "v2.0.0", "v1.1.1", "v2.1.0", "v1.1.2", "v2.2.0"]
    assert len(server.requests) == 6 + 10


def test_every_deployment_follows_its_changes(
    cli: Cli, repos: dict[str, Path], server: IngestionServer, store: Path
) -> None:
    assert send(cli, repos["linear"], server, store).exit_code == 0
    seen: set[str] = set()
    for body in server.accepted_bodies():
        if body["$type"] == "change":
            assert body["change_id"] not in seen
            seen.add(body["change_id"])
        else:
            assert set(body["changes"]) <= seen


def test_summary_says_what_was_sent(
    cli: Cli, repos: dict[str, Path], server: IngestionServer, store: Path
) -> None:
    result = send(cli, repos["release-branches"], server, store)
    lines = result.stderr.splitlines()[-3:]
    assert lines[0] == (
        f"6 deployments with 10 changes derived from {repos['release-branches']} "
        "(system release-branches); skipped: 0 with no new changes, 1 as a baseline"
    )
    assert lines[1] == (
        f"Sent 6 deployments and 10 changes to {server.base_url}/v1/ingestion/cli; "
        "already delivered: 0 deployments, 0 changes."
    )
    assert re.fullmatch(r"Done in \d\.\d s\.", lines[-1])
    assert result.stdout == ""


@pytest.mark.parametrize("group", [[], ["push"], ["incidents"]])
def test_nothing_asked_is_the_help_alone(cli: Cli, group: list[str]) -> None:
    result = cli(*group)
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == cli(*group, "--help").stdout
    assert "Usage: pulse-backfill" in result.stdout


def test_a_second_run_sends_nothing_new(
    cli: Cli, repos: dict[str, Path], server: IngestionServer, store: Path
) -> None:
    send(cli, repos["linear"], server, store)
    server.reset()
    result = send(cli, repos["linear"], server, store)
    assert result.exit_code == 0
    assert server.requests == []
    lines = result.stderr.splitlines()
    assert f"{repos['linear']} (system linear): no new deployments since the last sync." in lines
    assert f"Nothing new to send to {server.base_url}/v1/ingestion/cli." in lines


def test_already_delivered_counts_what_earlier_runs_delivered(
    cli: Cli, big_repo: Path, server: IngestionServer, store: Path
) -> None:
    # The key is rejected once 100 events were taken: the run stops, and the next one sends
    # the rest, counting the 100 as already delivered.
    server.when_taken = (100, lambda: setattr(server, "accepted_keys", set()))
    stopped = send(cli, big_repo, server, store, "--include-first")
    assert stopped.exit_code == 1
    taken = server.accepted_bodies()
    assert len(taken) == 100
    before = {k: sum(1 for b in taken if b["$type"] == k) for k in ("change", "deployment")}
    server.reset()

    again = send(cli, big_repo, server, store, "--include-first", "--json")

    assert again.exit_code == 0, again.output
    summary = json.loads(again.stdout)
    assert summary["repositories"][0]["sync"] == "up to date"  # only what waits is sent
    for kind in ("change", "deployment"):
        assert summary[f"{kind}s"]["already_delivered"] == before[kind]
    assert summary["changes"]["sent"] + summary["deployments"]["sent"] == 330 - 100
    lines = send(cli, big_repo, server, store, "--include-first", "--force").stderr.splitlines()
    assert (
        f"Sent 30 deployments and 300 changes to {server.base_url}/v1/ingestion/cli; "
        "already delivered: 0 deployments, 0 changes."
    ) in lines


def test_force_sends_again(
    cli: Cli, repos: dict[str, Path], server: IngestionServer, store: Path
) -> None:
    send(cli, repos["linear"], server, store, "--concurrency", "1")
    first = server.accepted_bodies()
    server.reset()
    assert send(cli, repos["linear"], server, store, "--force", "--concurrency", "1").exit_code == 0
    assert server.accepted_bodies() == first


def test_new_tags_send_only_what_is_new(
    cli: Cli, repos: dict[str, Path], server: IngestionServer, store: Path, tmp_path: Path
) -> None:
    clone = tmp_path / "clone"
    git(repos["release-branches"], "clone", "--quiet", str(repos["release-branches"]), str(clone))
    for tag in git(repos["release-branches"], "tag").split():
        git(clone, "fetch", "--quiet", "origin", f"refs/tags/{tag}:refs/tags/{tag}")
    git(clone, "tag", "-d", "v2.2.0")
    send(cli, clone, server, store, "--system", "app")
    server.reset()
    git(clone, "fetch", "--quiet", "origin", "refs/tags/v2.2.0:refs/tags/v2.2.0")
    result = send(cli, clone, server, store, "--system", "app", "--concurrency", "1")
    assert result.exit_code == 0
    assert kinds_and_ids(server.accepted_bodies()) == [
        ("change", commit_of(clone, "feature e")),  # its beta tags are not releases
        ("change", commit_of(clone, "feature f")),
        ("deployment", "v2.2.0"),
    ]


def test_without_a_key_events_wait_in_the_store_until_a_key_comes(
    cli: Cli, repos: dict[str, Path], server: IngestionServer, store: Path
) -> None:
    keyless = cli("git", repos["linear"], "--store", store)
    assert keyless.exit_code == 0, keyless.output
    assert server.requests == []
    assert (
        f"Nothing was sent (no API key): 16 events wait in {store} (16 new); to send them, set "
        "PULSE_API_KEY and run the same command again."
    ) in keyless.stderr.splitlines()
    # A second run records nothing new, and says so: the same events still wait.
    again = cli("git", repos["linear"], "--store", store)
    assert again.stderr.splitlines()[-3:-1] == [
        f"{repos['linear']} (system linear): no new deployments since the last sync.",
        f"Nothing was sent (no API key): 16 events wait in {store} (0 new); to send them, set "
        "PULSE_API_KEY and run the same command again.",
    ]

    keyed = cli(
        "git",
        repos["linear"],
        "--store",
        store,
        "--base-url",
        server.base_url,
        env={"PULSE_API_KEY": API_KEY},
    )
    assert keyed.exit_code == 0, keyed.output
    assert len(server.accepted) == 16


def test_a_new_key_is_a_new_target(
    cli: Cli, repos: dict[str, Path], server: IngestionServer, store: Path
) -> None:
    send(cli, repos["linear"], server, store)
    server.reset()
    cli(
        "git",
        repos["linear"],
        "--store",
        store,
        "--base-url",
        server.base_url,
        "--api-key",
        "another-key",
    )
    assert len(server.accepted) == 16


def test_dry_run_neither_sends_nor_records(
    cli: Cli, repos: dict[str, Path], server: IngestionServer, store: Path
) -> None:
    result = send(cli, repos["linear"], server, store, "--dry-run")
    assert result.exit_code == 0
    assert server.requests == []
    assert not store.exists()
    assert "Dry run: nothing was sent or recorded." in result.stderr.splitlines()


def test_output_writes_ndjson_in_sending_order(
    cli: Cli, repos: dict[str, Path], server: IngestionServer, store: Path, tmp_path: Path
) -> None:
    output = tmp_path / "events.ndjson"
    assert (
        send(
            cli, repos["linear"], server, store, "--output", output, "--concurrency", "1"
        ).exit_code
        == 0
    )
    lines = output.read_text().splitlines()
    sent = [r.body.decode() for r in server.accepted]
    assert [json.loads(line) for line in lines] == [
        {**json.loads(body), "system": "linear"} for body in sent
    ]
    assert lines[0].endswith(',"system":"linear"}')


def test_output_to_stdout_with_dry_run(cli: Cli, repos: dict[str, Path]) -> None:
    result = cli("git", repos["linear"], "--dry-run", "--output", "-", "--system", "")
    assert result.exit_code == 0
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(events) == 16
    assert all(event["system"] is None for event in events)


def test_system_and_teams(
    cli: Cli, repos: dict[str, Path], server: IngestionServer, store: Path
) -> None:
    send(cli, repos["linear"], server, store, "--system", "web app/\u03b1", "--teams", "core, web")
    assert server.requests[0].raw_query == f"api_key={API_KEY}&system=web+app%2F%CE%B1"
    deployment = next(b for b in server.accepted_bodies() if b["$type"] == "deployment")
    assert deployment["teams"] == ["core", "web"]


def test_environment_header_names_the_ci(
    cli: Cli,
    repos: dict[str, Path],
    server: IngestionServer,
    store: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    send(cli, repos["linear"], server, store)
    assert {r.headers["environment"] for r in server.requests} == {"github-actions"}


def test_json_summary(
    cli: Cli, repos: dict[str, Path], server: IngestionServer, store: Path
) -> None:
    result = send(cli, repos["linear"], server, store, "--json")
    summary = json.loads(result.stdout)
    summary.pop("elapsed_seconds")
    assert summary == {
        "repositories": [
            {
                "repository": str(repos["linear"]),
                "system": "linear",
                "sync": "full",
                "deployments_from": "tags",
                "deployments": {"derived": 5, "skipped_empty": 1, "baselines": 1},
                "changes": {"derived": 11},
                "infer_failures": None,
                "failures": [],
                "error": None,
            }
        ],
        "shard": None,
        "destination": f"{server.base_url}/v1/ingestion/cli",
        "store": str(store),
        "dry_run": False,
        "deployments": {
            "derived": 5,
            "sent": 5,
            "already_delivered": 0,
            "not_delivered": 0,
            "skipped_empty": 1,
            "baselines": 1,
        },
        "changes": {"derived": 11, "sent": 11, "already_delivered": 0, "not_delivered": 0},
        "incidents": {"derived": 0, "sent": 0, "already_delivered": 0, "not_delivered": 0},
        "waiting_for_a_key": 0,
        "not_delivered": [],
        "failed_repositories": [],
        "stopped": None,
        "interrupted": False,
        "warnings": ["tag v9.9.9 points at a tree, not a commit: skipped"],
    }
    assert "Done in" not in result.stderr  # the JSON replaces the human summary


def test_a_rejected_event_holds_back_its_deployment_only(
    cli: Cli, repos: dict[str, Path], server: IngestionServer, store: Path
) -> None:
    server.faults.append(Fault(400, "change_id: malformed"))
    result = send(cli, repos["release-branches"], server, store, "--concurrency", "1")
    assert result.exit_code == 1
    a = commit_of(repos["release-branches"], "feature a")
    assert "Not delivered: 1 change, 1 deployment; run the same command again to retry them." in (
        result.stderr.splitlines()
    )
    assert f"  change {a}: 400 Bad Request: change_id: malformed" in result.stderr.splitlines()
    assert "  deployment v1.1.0: 1 of its changes were not delivered" in result.stderr.splitlines()
    sent = [b.get("deploy_id") for b in server.accepted_bodies() if b["$type"] == "deployment"]
    assert sent == ["v2.0.0", "v1.1.1", "v2.1.0", "v1.1.2", "v2.2.0"]

    server.reset()
    retry = send(cli, repos["release-branches"], server, store)
    assert retry.exit_code == 0
    assert kinds_and_ids(server.accepted_bodies()) == [("change", a), ("deployment", "v1.1.0")]


def test_a_rejected_key_stops_the_run(
    cli: Cli, repos: dict[str, Path], server: IngestionServer, store: Path
) -> None:
    server.accepted_keys = {"the-right-key"}
    result = send(cli, repos["linear"], server, store, "--json")
    assert result.exit_code == 1
    assert len(server.requests) == 1
    summary = json.loads(result.stdout)
    assert summary["stopped"] == (
        "the API key from --api-key was rejected (401 Unauthorized: invalid api key): check the key"
    )
    assert len(summary["not_delivered"]) == 16


def test_a_bare_repository_is_named_without_git(
    cli: Cli, repos: dict[str, Path], tmp_path: Path
) -> None:
    bare = tmp_path / "service.git"
    git(tmp_path, "clone", "--quiet", "--bare", str(repos["linear"]), str(bare))
    result = cli("git", bare, "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["repositories"][0]["system"] == "service"
    assert json.loads(result.stdout)["deployments"]["derived"] == 5


def one_commit(repo: Path, branch: str) -> Path:
    """A new repository at `repo` with one commit, on `branch`."""
    git(repo.parent, "init", "--quiet", f"--initial-branch={branch}", str(repo))
    identity = ("-c", "user.name=a", "-c", "user.email=a@b")
    git(repo, *identity, "commit", "--quiet", "--allow-empty", "-m", "one")
    return repo


def test_no_release_tags_is_not_an_error(cli: Cli, tmp_path: Path) -> None:
    repo = one_commit(tmp_path / "plain", "main")
    git(repo, "tag", "nightly")
    git(repo, "tag", "release-7")
    git(repo, "tag", "svc/v1.0.0")
    result = cli("git", repo, "--dry-run")
    assert result.exit_code == 0
    assert (
        "No release tags among its 3 tags (such as nightly, release-7, svc/v1.0.0): "
        "try --tag-prefix 'svc/', or --tag-pattern REGEX; or, to deploy from a branch, "
        "--deployments-from branch:main."
    ) in result.stderr.splitlines()


def test_a_given_prefix_that_matches_nothing_is_named(cli: Cli, tmp_path: Path) -> None:
    repo = one_commit(tmp_path / "plain", "main")
    for tag in ("nightly", "release-7", "svc/v1.0.0"):
        git(repo, "tag", tag)
    result = cli("git", repo, "--dry-run", "--tag-prefix", "release-")
    assert result.exit_code == 0
    assert (
        "No release tags with --tag-prefix 'release-' among its 3 tags (such as nightly, "
        "release-7, svc/v1.0.0): try --tag-prefix 'svc/', or --tag-pattern REGEX; or, to deploy "
        "from a branch, --deployments-from branch:main."
    ) in result.stderr.splitlines()


def moved_to_prefixed_tags(path: Path) -> Path:
    """Releases v3.0.0 and v3.1.0 (2020, 2021), then svelte@4.0.0, svelte@5.0.0 and
    @sveltejs/kit@2.0.0 (2022 to 2024): a repository whose releases took a prefix."""
    day = 86_400
    start = 1_583_020_800  # 2020-03-01
    commits = [CommitSpec((n - 1,) if n else (), start + n * 365 * day, start + n * 365 * day)
               for n in range(5)]  # fmt: skip
    names = ["v3.0.0", "v3.1.0", "svelte@4.0.0", "svelte@5.0.0", "@sveltejs/kit@2.0.0"]
    tags = [TagSpec(name, min(n, 4), None) for n, name in enumerate(names)]
    tags.append(TagSpec("@sveltejs/kit@1.0.0", 3, None))
    build(path, commits, tags)
    return path


def test_releases_that_give_nothing_to_send_beside_prefixed_versions_are_hinted(
    cli: Cli, tmp_path: Path
) -> None:
    repo = moved_to_prefixed_tags(tmp_path / "svelte.git")
    result = cli("git", repo, "--dry-run", "--since", "2022-01-01")
    assert result.exit_code == 0
    assert result.stderr.splitlines()[:2] == [
        f"0 deployments with 0 changes derived from {repo} (system svelte); skipped: 0 with no "
        "new changes, 2 as baselines",
        "No deployment to send from its 2 release tags (the last: v3.1.0, on 2021-03-01); other "
        "tags are versions after a prefix: try --tag-prefix '@sveltejs/kit@' (2 tags, such as "
        "@sveltejs/kit@2.0.0) or --tag-prefix 'svelte@' (2 tags, such as svelte@5.0.0).",
    ]
    # With one of them, the others are hinted no more: it has something to send.
    taken = cli("git", repo, "--dry-run", "--since", "2022-01-01", "--tag-prefix", "svelte@")
    assert taken.stderr.splitlines()[0].startswith("1 deployment with 1 change derived")
    assert "prefix" not in taken.stderr


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["git", "/no/such/repo"],
            "Error: /no/such/repo does not exist: pass the path of a git repository",
        ),
        (
            ["git", "REPO", "--since", "the day before"],
            "Error: --since: 'the day before' is not a date: use YYYY-MM-DD, an ISO 8601 "
            "date-time (2020-10-01T12:00:00Z), UNIX epoch seconds, or a relative date "
            "('2 weeks ago', 'yesterday')",
        ),
        (
            ["git", "REPO", "--since", "2021-01-01", "--until", "2020-01-01"],
            "Error: --since must be before --until",
        ),
        (
            ["git", "REPO", "--tag-prefix", "a/", "--tag-pattern", "x"],
            "Error: --tag-prefix and --tag-pattern exclude each other: pass only one",
        ),
        (
            ["git", "REPO", "--tag-pattern", "v(1"],
            "Error: --tag-pattern 'v(1' is not a valid regular expression "
            "(missing ), unterminated subpattern at position 1)",
        ),
        (
            ["git", "REPO", "--base-url", "ingestion.example.com"],
            "Error: --base-url 'ingestion.example.com' is not an http(s) URL: pass one like "
            "https://ingestion.pulse.codacy.com",
        ),
        (
            ["git", "REPO", "--path", "services/api", "--path", ""],
            "Error: --path '' names no path: pass a file or folder of the repository",
        ),
        (
            ["git", "REPO", "--json", "--output", "-"],
            "Error: --json and --output - both write to stdout: write the events to a file",
        ),
        (
            ["git", "REPO", "--concurrency", "0"],
            "Error: Invalid value for '--concurrency': 0 is not from 1 to 256 "
            "(see 'pulse-backfill git --help')",
        ),
        (
            ["git", "REPO", "--no-such-flag"],
            "Error: No such option: --no-such-flag (see 'pulse-backfill git --help')",
        ),
    ],
)
def test_mistakes_get_one_line_and_exit_2(
    cli: Cli, repos: dict[str, Path], args: list[str], line: str
) -> None:
    result = cli(*[str(repos["linear"]) if a == "REPO" else a for a in args])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [line]
    assert result.stdout == ""


def test_a_folder_that_is_not_a_repository(cli: Cli, tmp_path: Path) -> None:
    result = cli("git", tmp_path)
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: {tmp_path} is not a git repository: pass a repository's folder, "
        "or clone one first\n"
    )


def test_an_empty_repository(cli: Cli, tmp_path: Path) -> None:
    git(tmp_path, "init", "--quiet", "empty")
    result = cli("git", tmp_path / "empty")
    assert result.exit_code == 2
    assert result.stderr == f"Error: {tmp_path / 'empty'} has no commits yet: nothing to backfill\n"


def test_a_shallow_clone_is_refused(cli: Cli, repos: dict[str, Path], tmp_path: Path) -> None:
    shallow = tmp_path / "shallow"
    git(tmp_path, "clone", "--quiet", "--depth", "2", f"file://{repos['linear']}", str(shallow))
    result = cli("git", shallow)
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: {shallow} is a shallow clone, so the changes of its deployments would be "
        f"wrong: fetch its full history with 'git -C {shallow} fetch --unshallow --tags'\n"
    )


def test_version_and_module_entry_point() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pulse_backfill", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode, result.stdout) == (0, f"pulse-backfill {__version__}\n")


def test_unusual_characters_in_system_and_teams(
    cli: Cli, repos: dict[str, Path], server: IngestionServer, store: Path
) -> None:
    system = "a&b=c?d#e \u00e9/\u6f22"
    result = send(
        cli,
        repos["linear"],
        server,
        store,
        "--system",
        system,
        "--teams",
        'q"uote, <b>&co ,\u00fc, ,',
    )
    assert result.exit_code == 0, result.output
    assert server.requests[0].raw_query == (
        f"api_key={API_KEY}&system=a%26b%3Dc%3Fd%23e+%C3%A9%2F%E6%BC%A2"
    )
    assert server.requests[0].query["system"] == [system]
    deployment = next(r for r in server.accepted if r.json()["$type"] == "deployment")
    assert deployment.json()["teams"] == ['q"uote', "<b>&co", "\u00fc"]
    assert b'"teams":["q\\"uote","\\u003cb\\u003e\\u0026co","\xc3\xbc"]' in deployment.body


@pytest.mark.parametrize("concurrency", [1, 4])
def test_concurrency_keeps_requests_in_flight_and_the_order(
    cli: Cli, repos: dict[str, Path], server: IngestionServer, store: Path, concurrency: int
) -> None:
    server.latency = 0.05
    result = send(
        cli,
        repos["release-branches"],
        server,
        store,
        "--include-first",
        "--concurrency",
        str(concurrency),
    )
    assert result.exit_code == 0
    assert server.most_in_flight == concurrency
    seen: set[str] = set()
    for body in server.accepted_bodies():
        if body["$type"] == "change":
            seen.add(body["change_id"])
        else:
            assert set(body["changes"]) <= seen


def test_a_proxy_from_the_environment_carries_the_events(
    cli: Cli,
    repos: dict[str, Path],
    server: IngestionServer,
    store: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # As Go's client (the standard CLI's) does: HTTP_PROXY for an http:// base URL. The test
    # server plays the proxy, so what it receives is what went through one.
    monkeypatch.setenv("HTTP_PROXY", server.base_url)
    result = cli(
        "git", repos["release-branches"], "--api-key", API_KEY, "--store", store,
        "--base-url", "http://pulse.invalid", "--insecure",
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert len(server.accepted) == 16  # every event of the fixture, as without a proxy
    assert {(r.proxied_for, r.path) for r in server.requests} == {
        ("http://pulse.invalid", "/v1/ingestion/cli")
    }


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[IngestionServer, Path]]:
    """An https server on 127.0.0.1, and the file of the authority that signed its certificate."""
    authority = trustme.CA()
    certificate = tmp_path / "server.pem"
    authority.issue_cert("127.0.0.1").private_key_and_cert_chain_pem.write_to_path(certificate)
    authority_file = tmp_path / "authority.pem"
    authority.cert_pem.write_to_path(authority_file)
    with ServerThread(IngestionServer(), certificate=certificate) as server:
        yield server, authority_file


def test_events_go_over_tls_to_a_server_the_machine_trusts(
    cli: Cli,
    repos: dict[str, Path],
    tls_server: tuple[IngestionServer, Path],
    store: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server, authority = tls_server
    monkeypatch.setenv("SSL_CERT_FILE", str(authority))  # OpenSSL's own: the machine's trust
    result = send(cli, repos["release-branches"], server, store)

    assert result.exit_code == 0, result.output
    assert len(server.accepted) == 16


def test_a_certificate_nobody_trusts_delivers_nothing_and_says_why(
    cli: Cli, repos: dict[str, Path], tls_server: tuple[IngestionServer, Path], store: Path
) -> None:
    server, _ = tls_server
    result = send(cli, repos["release-branches"], server, store, "--max-retries", "0")

    assert result.exit_code == 1
    assert server.requests == []
    lines = result.stderr.splitlines()
    refusal = "ConnectError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"
    assert any(line.startswith(f"Stopped early: {refusal}") for line in lines), lines
    assert (
        "Not delivered: 10 changes, 6 deployments; run the same command again to retry them."
        in lines
    )


def test_a_repository_without_tags_is_told_to_deploy_from_its_branch(
    cli: Cli, tmp_path: Path
) -> None:
    repo = one_commit(tmp_path / "untagged", "trunk")

    result = cli("git", repo, "--dry-run")

    assert result.exit_code == 0
    assert (
        "No release tags: the repository has no tags at all. To deploy from a branch, pass "
        "--deployments-from branch:trunk."
    ) in result.stderr.splitlines()
