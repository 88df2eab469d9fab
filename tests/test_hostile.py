"""Delivery in a hostile world: flaky servers, kills, interrupts, rival runs, leaked keys."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from fixtures.fast_import import CommitSpec, TagSpec, build
from pulse_backfill.cli.display import Display
from pulse_backfill.commands.backfill import run_git_backfill
from pulse_backfill.commands.runs import GitBackfillSettings
from pulse_backfill.delivery.policy import RetryPolicy
from pulse_backfill.derive.derivation import DerivationOptions
from pulse_backfill.git.manifest import RepoSpec
from pulse_backfill.store import Store, StoreLock
from tests.conftest import API_KEY, Cli
from tests.gitoracle import git
from tests.ingestion_server import DROP_AFTER, DROP_BEFORE, Fault, IngestionServer


def expected_events(cli: Cli, repo: Path, *args: str) -> list[str]:
    result = cli("git", repo, "--dry-run", "--output", "-", *args)
    assert result.exit_code == 0, result.output
    return [
        json.dumps({k: v for k, v in json.loads(line).items() if k != "system"})
        for line in result.stdout.splitlines()
    ]


def received(server: IngestionServer) -> list[str]:
    return [json.dumps(json.loads(r.body)) for r in server.accepted]


def assert_in_order(bodies: list[str]) -> None:
    """Each deployment reached the server after every one of its changes."""
    seen: set[str] = set()
    for body in map(json.loads, bodies):
        if body["$type"] == "change":
            seen.add(body["change_id"])
        else:
            assert set(body["changes"]) <= seen


def pulse(cli: Cli, repo: Path, server: IngestionServer, store: Path, *args: str | Path):  # type: ignore[no-untyped-def]
    """`pulse-backfill git` against the test server and store, with the key as `args` give it."""
    return cli("git", repo, "--base-url", server.base_url, "--store", store, *args)


def send(cli: Cli, repo: Path, server: IngestionServer, store: Path, *args: str):  # type: ignore[no-untyped-def]
    return pulse(cli, repo, server, store, "--api-key", API_KEY, *args)


def run_in_background(
    repo: Path, server: IngestionServer, store: Path, concurrency: int
) -> subprocess.Popen[str]:
    env = {**os.environ, "PULSE_API_KEY": API_KEY}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pulse_backfill",
            "git",
            str(repo),
            "--include-first",
            "--base-url",
            server.base_url,
            "--store",
            str(store),
            "--concurrency",
            str(concurrency),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_acceptances(server: IngestionServer, count: int) -> None:
    deadline = time.monotonic() + 30
    while len(server.accepted) < count:
        assert time.monotonic() < deadline, "the run never got going"
        time.sleep(0.005)


HOSTILE = (
    Fault(429, headers=(("retry-after", "0"),)),
    Fault(503, "try later"),
    DROP_BEFORE,
    DROP_AFTER,
)


def check_hostile_delivery(server: IngestionServer, expected: list[str]) -> None:
    faults = [r for r in server.requests if not 200 <= r.status < 300]
    assert len(faults) > len(expected) * 0.15  # the server really was hostile
    bodies = received(server)
    assert set(bodies) == set(expected)
    assert_in_order(bodies)
    # Only events the server took while the client never heard so arrive twice.
    taken_unheard = sum(1 for r in server.requests if r.accepted and r.status == 0)
    assert len(bodies) - len(set(bodies)) == taken_unheard


@pytest.mark.parametrize("concurrency", ["1", "8"])
def test_a_flaky_server_still_gets_every_event(
    cli: Cli, repos: dict[str, Path], server: IngestionServer, store: Path, concurrency: str
) -> None:
    repo = repos["release-branches"]
    expected = expected_events(cli, repo, "--include-first", "--include-prereleases")
    server.fault_rate, server.random_faults = 0.3, HOSTILE
    result = send(
        cli,
        repo,
        server,
        store,
        "--include-first",
        "--include-prereleases",
        "--concurrency",
        concurrency,
    )
    assert result.exit_code == 0, result.output
    check_hostile_delivery(server, expected)


@pytest.mark.parametrize("concurrency", [1, 16])
def test_a_flaky_server_and_hundreds_of_events(
    cli: Cli, big_repo: Path, server: IngestionServer, store: Path, concurrency: int
) -> None:
    expected = expected_events(cli, big_repo, "--include-first")
    server.fault_rate, server.random_faults = 0.3, HOSTILE
    settings = GitBackfillSettings(
        repositories=(RepoSpec(location=str(big_repo)),),
        derivation=DerivationOptions(include_first=True),
        api_key=API_KEY,
        base_url=server.base_url,
        store_path=store,
        # Short waits keep the test quick; the bounds are the default policy's (no cap on
        # retries, 120 s an event).
        retry=RetryPolicy(base_delay=0.01, max_delay=0.1),
        concurrency=concurrency,
    )
    summary = run_git_backfill(settings, Display(quiet=True))
    assert summary.exit_code == 0
    check_hostile_delivery(server, expected)


def test_retry_after_is_honoured(
    cli: Cli, repos: dict[str, Path], server: IngestionServer, store: Path
) -> None:
    server.faults.append(Fault(429, headers=(("retry-after", "1"),)))
    assert send(cli, repos["linear"], server, store).exit_code == 0
    first, second = server.requests[:2]
    assert second.body == first.body
    assert second.at - first.at >= 1.0


def test_a_server_that_stays_down_stops_the_run_after_the_time_of_one_event(
    cli: Cli, repos: dict[str, Path], server: IngestionServer, store: Path
) -> None:
    server.outage_after, server.outage_seconds = 0, 3600.0
    started = time.monotonic()
    result = send(cli, repos["linear"], server, store, "--retry-max-time", "2", "--json")
    assert result.exit_code == 1
    assert 2 <= time.monotonic() - started < 10
    summary = json.loads(result.stdout)
    assert summary["stopped"] == (
        "nothing was acknowledged for 2 s "
        "(last answer: 503 Service Unavailable: service unavailable)"
    )
    assert len(summary["not_delivered"]) == 16
    # One request at a time, backing off: not a request per event, nor a tight loop.
    assert 3 <= len(server.requests) <= 10


def test_a_silent_server_stops_the_run_in_bounded_time(
    cli: Cli, repos: dict[str, Path], server: IngestionServer, store: Path
) -> None:
    server.silent = True  # takes every connection in, and never answers
    started = time.monotonic()
    result = send(
        cli, repos["linear"], server, store, "--timeout", "0.3", "--retry-max-time", "2", "--json"
    )
    assert result.exit_code == 1
    assert time.monotonic() - started < 10
    summary = json.loads(result.stdout)
    assert summary["stopped"] == (
        "nothing was acknowledged for 2 s (last answer: ReadTimeout: no answer within --timeout)"
    )
    assert (summary["deployments"]["not_delivered"], summary["changes"]["not_delivered"]) == (5, 11)
    assert result.stderr.splitlines()[-18:-16] == [
        "Stopped early: " + summary["stopped"],
        "Not delivered: 11 changes, 5 deployments; run the same command again to retry them.",
    ]


@pytest.mark.parametrize(
    ("base_url", "reason"),
    [
        # asyncio words a refusal as "Connection refused" or "Connect call failed".
        ("http://127.0.0.1:9", "ConnectError: [Errno 111] "),
        ("https://nonexistent.invalid", "ConnectError: [Errno -2] Name or service not known"),
    ],
)
def test_unreachable_hosts(
    cli: Cli, repos: dict[str, Path], store: Path, base_url: str, reason: str
) -> None:
    result = cli(
        "git",
        repos["linear"],
        "--api-key",
        API_KEY,
        "--store",
        store,
        "--base-url",
        base_url,
        "--retry-max-time",
        "1",
        "--json",
    )
    assert result.exit_code == 1
    summary = json.loads(result.stdout)
    assert summary["stopped"].startswith(f"nothing was acknowledged for 1 s (last answer: {reason}")
    assert (summary["deployments"]["not_delivered"], summary["changes"]["not_delivered"]) == (5, 11)


def test_a_rejected_key_stops_at_once_and_names_its_source(
    cli: Cli, repos: dict[str, Path], server: IngestionServer, store: Path, tmp_path: Path
) -> None:
    server.accepted_keys = {"the-right-key"}
    from_env = cli(
        "git",
        repos["linear"],
        "--base-url",
        server.base_url,
        "--store",
        store,
        env={"PULSE_API_KEY": API_KEY},
    )
    assert from_env.exit_code == 1
    assert len(server.requests) == 1
    assert (
        "Stopped early: the API key from PULSE_API_KEY was rejected "
        "(401 Unauthorized: invalid api key): check the key"
    ) in from_env.stderr.splitlines()

    key_file = tmp_path / "key"
    key_file.write_text(f"{API_KEY}\n")
    from_file = pulse(cli, repos["linear"], server, store, "--api-key-file", key_file)
    assert f"the API key from --api-key-file {key_file} was rejected" in from_file.stderr


def test_the_key_file_is_read(
    cli: Cli, repos: dict[str, Path], server: IngestionServer, store: Path, tmp_path: Path
) -> None:
    key_file = tmp_path / "key"
    key_file.write_text(f"  {API_KEY}\n")
    result = pulse(cli, repos["linear"], server, store, "--api-key-file", key_file)
    assert result.exit_code == 0, result.output
    assert server.requests[0].query["api_key"] == [API_KEY]


@pytest.mark.parametrize(
    ("content", "line"),
    [
        (
            None,
            "Error: cannot read --api-key-file {path} (No such file or directory): pass a "
            "readable file that holds the key",
        ),
        ("", "Error: --api-key-file {path} is empty: write the key in it"),
        (" \n", "Error: --api-key-file {path} is empty: write the key in it"),
        ("a\nb\n", "Error: --api-key-file {path} must hold the key alone on one line"),
    ],
)
def test_bad_key_files(
    cli: Cli, repos: dict[str, Path], tmp_path: Path, content: str | None, line: str
) -> None:
    path = tmp_path / "key"
    if content is not None:
        path.write_text(content)
    result = cli("git", repos["linear"], "--api-key-file", path)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [line.format(path=path)]


@pytest.mark.parametrize("value", ["", " "])
@pytest.mark.parametrize("flags", [(), ("--quiet", "--json")])
def test_an_empty_key_variable_is_a_mistake_not_a_keyless_run(
    cli: Cli, repos: dict[str, Path], store: Path, value: str, flags: tuple[str, ...]
) -> None:
    # What a CI secret that is missing gives: the nightly job must fail, not record forever.
    result = cli("git", repos["linear"], "--store", store, *flags, env={"PULSE_API_KEY": value})
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: PULSE_API_KEY is set but empty: set it to the key, or unset it to record events "
        "without sending them\n"
    )
    assert result.stdout == ""
    assert not store.exists()


def test_an_empty_key_option_is_a_mistake(cli: Cli, repos: dict[str, Path]) -> None:
    result = cli("git", repos["linear"], "--api-key", "")
    assert result.exit_code == 2
    assert result.stderr == "Error: --api-key is empty: pass the key, or leave the option out\n"


def test_no_key_variable_at_all_records_without_sending(
    cli: Cli, repos: dict[str, Path], store: Path
) -> None:
    result = cli("git", repos["linear"], "--store", store, "--quiet")
    assert result.exit_code == 0, result.output


def test_a_key_file_wins_over_an_empty_key_variable(
    cli: Cli, repos: dict[str, Path], server: IngestionServer, store: Path, tmp_path: Path
) -> None:
    (tmp_path / "key").write_text(API_KEY)
    result = cli(
        "git", repos["linear"], "--store", store, "--api-key-file", tmp_path / "key",
        "--base-url", server.base_url, env={"PULSE_API_KEY": ""},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert server.requests[0].query["api_key"] == [API_KEY]


@pytest.mark.parametrize("userinfo", ["user:pw@", "user@", ":pw@"])
def test_credentials_in_the_base_url_are_refused_and_never_shown(
    cli: Cli, repos: dict[str, Path], store: Path, server: IngestionServer, userinfo: str
) -> None:
    base_url = server.base_url.replace("://", f"://{userinfo}")
    for given in (("--base-url", base_url), ()):
        result = cli(
            "git", repos["linear"], "--store", store, "--api-key", API_KEY, *given,
            env={} if given else {"PULSE_BASE_URL": base_url},
        )  # fmt: skip
        assert result.exit_code == 2
        assert result.stderr == (
            "Error: --base-url must not carry credentials (user:password@): the API key goes in "
            "PULSE_API_KEY or --api-key-file, a proxy's credentials in HTTPS_PROXY\n"
        )
    assert server.requests == []
    assert not store.exists()


def test_a_key_and_a_key_file_exclude_each_other(
    cli: Cli, repos: dict[str, Path], tmp_path: Path
) -> None:
    (tmp_path / "key").write_text("k")
    result = cli("git", repos["linear"], "--api-key", "x", "--api-key-file", tmp_path / "key")
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: --api-key and --api-key-file exclude each other: pass only one\n"
    )


def test_plain_http_is_for_loopback_only(cli: Cli, repos: dict[str, Path]) -> None:
    result = cli("git", repos["linear"], "--api-key", API_KEY, "--base-url", "http://pulse.example")
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: --base-url http://pulse.example would send the API key unencrypted: use "
        "https://, or pass --insecure to allow plain http\n"
    )
    allowed = cli(
        "git",
        repos["linear"],
        "--api-key",
        API_KEY,
        "--base-url",
        "http://pulse.example",
        "--insecure",
        "--dry-run",
    )
    assert allowed.exit_code == 0


def test_a_redirect_stops_the_run_and_names_where_it_pointed(
    cli: Cli, repos: dict[str, Path], server: IngestionServer, store: Path
) -> None:
    server.faults.append(
        Fault(
            301, headers=(("location", f"https://new.example/v1/ingestion/cli?api_key={API_KEY}"),)
        )
    )
    result = send(cli, repos["linear"], server, store)
    assert result.exit_code == 1
    assert len(server.requests) == 1
    assert (
        "Stopped early: the server redirected to https://new.example (301 Moved Permanently): "
        "pass that as --base-url"
    ) in result.stderr.splitlines()
    assert API_KEY not in result.output


@pytest.mark.parametrize(
    ("location", "base"),
    [
        ("https://user:pw@new.example:8443/v1/ingestion/cli?api_key=K", "https://new.example:8443"),
        ("/elsewhere/v1/ingestion/cli", "http://127.0.0.1:{port}"),
    ],
)
def test_a_redirects_hint_names_only_a_base_url(
    cli: Cli, repos: dict[str, Path], server: IngestionServer, store: Path, location: str, base: str
) -> None:
    server.faults.append(Fault(308, headers=(("location", location),)))
    result = send(cli, repos["linear"], server, store)
    assert result.exit_code == 1
    port = server.base_url.rsplit(":", 1)[1]
    assert (
        f"Stopped early: the server redirected to {base.format(port=port)} (308 Permanent "
        "Redirect): pass that as --base-url"
    ) in result.stderr.splitlines()
    assert "pw" not in result.output


def test_https_to_a_plain_http_server_stops_at_once(
    cli: Cli, repos: dict[str, Path], server: IngestionServer, store: Path
) -> None:
    # No retry mends it: an outage's retries would end only after --retry-max-time (120 s).
    base_url = server.base_url.replace("http://", "https://")
    result = cli(
        "git", repos["linear"], "--store", store, "--api-key", API_KEY, "--base-url", base_url
    )
    assert result.exit_code == 1
    stopped = [line for line in result.stderr.splitlines() if line.startswith("Stopped early")]
    [line] = stopped  # the OpenSSL source line it names varies with the version
    assert line.startswith(
        "Stopped early: ConnectError: [SSL: WRONG_VERSION_NUMBER] wrong version number ("
    )
    assert line.endswith(
        "): no retry mends a failed TLS handshake; check that --base-url's scheme is the "
        "server's (https:// or http://)"
    )
    assert server.accepted == []


@pytest.mark.parametrize("concurrency", [1, 8])
def test_killed_at_any_moment_a_second_run_delivers_the_rest(
    cli: Cli, big_repo: Path, server: IngestionServer, store: Path, concurrency: int
) -> None:
    expected = expected_events(cli, big_repo, "--include-first")
    server.latency = 0.01
    process = run_in_background(big_repo, server, store, concurrency)
    wait_for_acceptances(server, 40)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert len(server.accepted) < len(expected)

    server.latency = 0
    result = send(cli, big_repo, server, store, "--include-first")
    assert result.exit_code == 0, result.output
    bodies = received(server)
    assert set(bodies) == set(expected)
    assert len(bodies) - len(set(bodies)) <= concurrency  # at most those in flight at the kill
    assert_in_order(bodies)


# Ctrl-C, and SIGTERM: what cron, systemd, CI runners and Kubernetes send before SIGKILL.
@pytest.mark.parametrize(("stop", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
@pytest.mark.parametrize("concurrency", [1, 8])
def test_a_stop_finishes_what_is_in_flight_and_exits_128_plus_the_signal(
    cli: Cli,
    big_repo: Path,
    server: IngestionServer,
    store: Path,
    concurrency: int,
    stop: signal.Signals,
    code: int,
) -> None:
    expected = expected_events(cli, big_repo, "--include-first")
    server.latency = 0.05
    process = run_in_background(big_repo, server, store, concurrency)
    wait_for_acceptances(server, 10)
    process.send_signal(stop)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == code
    assert "Interrupted: what was not acknowledged goes with the next run." in stderr.splitlines()
    assert "Traceback" not in stderr

    server.latency = 0
    result = send(cli, big_repo, server, store, "--include-first")
    assert result.exit_code == 0
    bodies = received(server)
    assert sorted(bodies) == sorted(expected)  # nothing lost, nothing twice
    assert_in_order(bodies)


def test_one_run_at_a_time(cli: Cli, repos: dict[str, Path], store: Path) -> None:
    with Store(store):
        result = cli("git", repos["linear"], "--store", store)
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: another pulse-backfill run (pid {os.getpid()}) is using the store {store}: "
        "let it finish, or pass --wait to wait for it\n"
    )


def test_wait_queues_behind_the_other_run(cli: Cli, repos: dict[str, Path], store: Path) -> None:
    holder = StoreLock(store)
    threading.Timer(0.5, holder.release).start()
    started = time.monotonic()
    result = cli("git", repos["linear"], "--store", store, "--wait")
    assert result.exit_code == 0, result.output
    assert time.monotonic() - started >= 0.5
    assert result.stderr.splitlines()[0] == "Waiting for another run to finish with the store..."


def test_a_store_that_is_not_ours_is_refused_untouched(
    cli: Cli, repos: dict[str, Path], tmp_path: Path
) -> None:
    store = tmp_path / "notes.db"
    store.write_bytes(b"not a database" * 100)
    result = cli("git", repos["linear"], "--store", store)
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: {store} is not a pulse-backfill store (not an SQLite database, or corrupt): "
        "pass --store a new path; the file was left untouched\n"
    )
    assert store.read_bytes() == b"not a database" * 100


@pytest.mark.parametrize(
    ("where", "reason"),
    [
        ("file/store.sqlite3", "Not a directory"),
        ("/sys/pulse-backfill.sqlite3", "Permission denied"),  # read-only, even for root
    ],
)
def test_a_store_in_an_unwritable_place(
    cli: Cli, repos: dict[str, Path], tmp_path: Path, where: str, reason: str
) -> None:
    (tmp_path / "file").write_text("")
    store = tmp_path / where
    result = cli("git", repos["linear"], "--store", store)
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: cannot write the store at {store} ({reason}): pass --store with a "
        "writable path, or set PULSE_BACKFILL_STORE\n"
    )


def test_a_corrupt_repository(cli: Cli, repos: dict[str, Path], tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    git(tmp_path, "clone", "--quiet", "--no-local", str(repos["linear"]), str(broken))
    git(broken, "fetch", "--quiet", "--tags")
    # Unpack into loose objects, then lose one commit's object.
    for pack in list((broken / ".git" / "objects" / "pack").glob("*.pack")):
        moved = pack.rename(tmp_path / pack.name)
        pack.with_suffix(".idx").unlink()
        with moved.open("rb") as stream:
            subprocess.run(
                ["git", "-C", str(broken), "unpack-objects", "-q"], stdin=stream, check=True
            )
    victim = git(broken, "rev-parse", "v1.0.0^{commit}").strip()
    (broken / ".git" / "objects" / victim[:2] / victim[2:]).unlink()
    result = cli("git", broken, "--dry-run")
    assert result.exit_code == 2
    [line] = result.stderr.splitlines()
    assert line.startswith(f"Error: git cannot read {broken} (")
    assert line.endswith("): check the repository with 'git fsck'")


def test_non_utf8_tag_names_and_commit_metadata(cli: Cli, tmp_path: Path) -> None:
    repo = tmp_path / "latin1.git"
    build(
        repo,
        [
            CommitSpec((), 1_600_000_000, 1_600_000_000),
            CommitSpec((0,), 1_600_000_100, 1_600_000_100),
        ],
        [TagSpec("v1.0.0", 0, None), TagSpec("v1.1.0", 1, None)],
    )
    # An author name and a tag name in Latin-1, as old tools wrote them.
    subprocess.run(
        [
            b"git",
            b"-C",
            bytes(repo),
            b"update-ref",
            b"refs/tags/caf\xe9-1.2.0",
            git(repo, "rev-parse", "v1.1.0").strip().encode(),
        ],
        check=True,
    )
    result = cli("git", repo, "--dry-run", "--output", "-")
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 2
    assert "warning: tag 'caf\ufffd-1.2.0' has a name that is not UTF-8: skipped" in (
        result.stderr.splitlines()
    )


def test_the_key_never_leaks(
    cli: Cli, repos: dict[str, Path], server: IngestionServer, tmp_path: Path
) -> None:
    store = tmp_path / "store.sqlite3"
    output = tmp_path / "events.ndjson"
    key_file = tmp_path / "key"
    key_file.write_text(API_KEY)
    echo = f"you sent api_key={API_KEY}"
    server.faults.extend(
        [
            Fault(400, echo),
            Fault(503, echo),
            Fault(301, headers=(("location", f"https://x.example/?api_key={API_KEY}"),)),
        ]
    )
    common = ["--base-url", server.base_url, "--store", store]
    results = [
        cli("git", repos["linear"], "--api-key", API_KEY, *common, "--output", output),
        cli("git", repos["linear"], "--api-key-file", key_file, *common, "--json"),
        cli("git", repos["linear"], *common, env={"PULSE_API_KEY": API_KEY}),
        cli(
            "git",
            repos["linear"],
            "--api-key",
            API_KEY,
            "--store",
            store,
            "--base-url",
            "http://127.0.0.1:9",
            "--max-retries",
            "0",
        ),
        cli("git", repos["linear"], "--api-key", API_KEY, "--base-url", "http://pulse.example"),
        cli("git", "/nowhere", "--api-key", API_KEY),
    ]
    # The other commands that send, with a server that echoes the key back, then refuses it.
    incidents = tmp_path / "incidents.csv"
    incidents.write_text("id,created_at,resolved_at\ni1,1601546400,1601550000\n")
    export = tmp_path / "export.ndjson"
    assert cli("git", repos["linear"], "--dry-run", "--output", export).exit_code == 0
    server.faults.extend([Fault(400, echo), Fault(503, echo)])
    results += [
        cli("push", "change", "--identifier", "c", "--timestamp", "1", "--api-key", API_KEY,
            *common),
        cli("push", "events", export, "--api-key", API_KEY, *common, "--json"),
        cli("incidents", "file", incidents, "--api-key", API_KEY, *common),
        cli("push", "git", "deployment", "--directory", repos["linear"],
            "--previous-deployment-ref", "v1.0.0", "--identifier", "x", "--timestamp", "1",
            "--api-key", API_KEY, *common),
        cli("report", "--store", store, "--html", tmp_path / "report.html", "--json"),
    ]  # fmt: skip
    server.accepted_keys = {"other"}
    results.append(cli("git", repos["linear"], "--api-key", API_KEY, *common, "--force"))
    results.append(
        cli("push", "incident", "--identifier", "i", "--timestampCreated", "1",
            "--timestampResolved", "2", "--api-key", API_KEY, *common)
    )  # fmt: skip
    for result in results:
        assert API_KEY not in result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)
    for path in tmp_path.rglob("*"):
        if path.is_file() and path != key_file:
            assert API_KEY.encode() not in path.read_bytes(), path
