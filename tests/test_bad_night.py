"""A scheduled re-sync on a bad night: an outage, a silent server, one event that keeps failing,
a disk that fills up, SIGTERM (mid-run beside Ctrl-C: test_hostile); and --quiet, which must never
hide that anything went wrong.

Waits are shortened through the policy object (its delays); the bounds users get (no cap on
retries, 120 s an event) are the defaults'.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pulse_backfill.cli.display import Display
from pulse_backfill.commands.backfill import run_git_backfill
from pulse_backfill.commands.runs import GitBackfillSettings
from pulse_backfill.delivery.policy import RetryPolicy
from pulse_backfill.derive.derivation import DerivationOptions
from pulse_backfill.git.manifest import RepoSpec
from tests.conftest import API_KEY, Cli
from tests.gitoracle import git
from tests.ingestion_server import Fault, IngestionServer
from tests.test_hostile import (
    assert_in_order,
    expected_events,
    received,
    run_in_background,
    send,
    wait_for_acceptances,
)

SHORT_WAITS = RetryPolicy(base_delay=0.05, max_delay=1.0)


def deliver(
    repo: Path, server: IngestionServer, store: Path, policy: RetryPolicy, concurrency: int
):  # type: ignore[no-untyped-def]
    settings = GitBackfillSettings(
        repositories=(RepoSpec(location=str(repo)),),
        derivation=DerivationOptions(include_first=True),
        api_key=API_KEY,
        base_url=server.base_url,
        store_path=store,
        retry=policy,
        concurrency=concurrency,
    )
    return run_git_backfill(settings, Display(quiet=True))


def test_an_outage_of_20_seconds_is_ridden_out_as_one(
    cli: Cli, big_repo: Path, server: IngestionServer, store: Path
) -> None:
    expected = expected_events(cli, big_repo, "--include-first")
    server.latency = 0.01
    server.outage_after, server.outage_seconds = 60, 20.0

    summary = deliver(big_repo, server, store, SHORT_WAITS, concurrency=8)

    assert summary.exit_code == 0, summary.undelivered[:3]
    bodies = received(server)
    assert sorted(set(bodies)) == sorted(expected)
    assert_in_order(bodies)
    assert server.outage is not None
    began, ended = server.outage
    during = [r for r in server.requests if began <= r.at < ended]
    # Eight retry loops backing off on their own would send about eight requests a second;
    # backing off as one, the sender probes with one request at a time.
    assert 5 <= len(during) <= 60
    # Back at full concurrency once the server answers again: one at a time, the rest would
    # take about 3.5 s (10 ms of latency each).
    after = [r for r in server.requests if r.at >= ended]
    assert len(after) == len(expected) - 60
    assert after[-1].at - after[0].at < 2.0


def test_one_event_that_keeps_failing_is_left_for_the_next_run(
    cli: Cli, repos: dict[str, Path], server: IngestionServer, store: Path
) -> None:
    repo = repos["linear"]
    failing = git(repo, "log", "-1", "--format=%H", "v1.2.0~1").strip()
    server.failing = {failing}

    summary = deliver(repo, server, store, RetryPolicy(max_time=2.0, base_delay=0.05), 4)

    assert summary.exit_code == 1
    assert summary.delivery is not None
    assert summary.delivery.stopped is None
    assert [(u.kind, u.identifier) for u in summary.undelivered] == [
        ("change", failing),
        ("deployment", "v1.2.0"),
    ]
    assert summary.undelivered[0].reason.startswith("503 Service Unavailable: service unavailable")
    assert summary.undelivered[1].reason == "1 of its changes were not delivered"
    sent = {b.get("change_id") or b["deploy_id"] for b in map(json.loads, received(server))}
    assert failing not in sent
    assert "v1.3.0" in sent  # the run went on past it

    server.reset()
    again = deliver(repo, server, store, SHORT_WAITS, 4)
    assert again.exit_code == 0
    assert [b.get("change_id") or b["deploy_id"] for b in server.accepted_bodies()] == [
        failing,
        "v1.2.0",
    ]


def test_sigterm_with_requests_that_never_end_still_ends_within_seconds(
    cli: Cli, big_repo: Path, server: IngestionServer, store: Path
) -> None:
    expected = expected_events(cli, big_repo, "--include-first")
    process = run_in_background(big_repo, server, store, 8)
    wait_for_acceptances(server, 10)
    server.silent = True  # what is in flight now never gets an answer
    time.sleep(0.3)
    stopped = time.monotonic()
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 143
    assert time.monotonic() - stopped < 10
    assert "Traceback" not in stderr

    server.silent = False
    result = send(cli, big_repo, server, store, "--include-first")
    assert result.exit_code == 0
    bodies = received(server)
    assert set(bodies) == set(expected)
    assert len(bodies) - len(set(bodies)) <= 8  # at most those in flight at SIGTERM


def test_sigterm_during_a_long_retry_after_ends_the_run_at_once(
    cli: Cli, big_repo: Path, server: IngestionServer, store: Path
) -> None:
    # The first event is told to come back in 100 s (within its 120 s): the run waits, with
    # nothing in flight, until SIGTERM, which must end the wait rather than be looked for later.
    server.faults.append(Fault(429, headers=(("retry-after", "100"),)))
    process = run_in_background(big_repo, server, store, 8)
    deadline = time.monotonic() + 30
    while not server.requests:
        assert time.monotonic() < deadline, "the run never got going"
        time.sleep(0.01)
    time.sleep(0.3)
    stopped = time.monotonic()
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 143
    assert time.monotonic() - stopped < 5  # nothing was in flight: no grace to wait out
    assert "Interrupted: what was not acknowledged goes with the next run." in stderr.splitlines()
    assert len(server.requests) == 1


def test_quiet_shows_what_went_wrong_and_nothing_else(
    cli: Cli, repos: dict[str, Path], server: IngestionServer, store: Path
) -> None:
    repo = repos["linear"]
    skipped = "warning: tag v9.9.9 points at a tree, not a commit: skipped"
    quiet = send(cli, repo, server, store, "--quiet")
    assert quiet.exit_code == 0
    assert quiet.stderr.splitlines() == [skipped]

    server.reset()
    server.faults.append(Fault(400, "bad event"))
    failed = send(cli, repo, server, store, "--quiet", "--force", "--concurrency", "1")
    assert failed.exit_code == 1
    change = json.loads(server.requests[0].body)["change_id"]
    assert failed.stderr.splitlines() == [
        skipped,
        "Not delivered: 1 change, 1 deployment; run the same command again to retry them.",
        f"  change {change}: 400 Bad Request: bad event",
        "  deployment v0.2.0: 1 of its changes were not delivered",
    ]

    server.reset()
    server.outage_after, server.outage_seconds = 0, 3600.0
    down = send(cli, repo, server, store, "--quiet", "--json", "--retry-max-time", "1", "--force")
    assert down.exit_code == 1
    assert json.loads(down.stdout)["stopped"].startswith("nothing was acknowledged for 1 s")
    assert down.stderr.splitlines()[1].startswith("Stopped early: nothing was acknowledged")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs of our own, as a store's disk that fills up (needs root, as CI has)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    try:
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)],
            check=True,
            capture_output=True,
        )
    except (OSError, subprocess.CalledProcessError) as error:
        pytest.skip(f"cannot mount a tmpfs here ({error})")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path) -> None:
    try:
        with (disk / "filler").open("wb") as filler:
            while True:
                filler.write(b"\0" * 65536)
    except OSError:
        pass


def test_a_store_whose_disk_fills_up_mid_run(
    cli: Cli, big_repo: Path, server: IngestionServer, small_disk: Path
) -> None:
    expected = expected_events(cli, big_repo, "--include-first")
    store = small_disk / "store.sqlite3"
    server.latency = 0.01
    server.when_taken = (40, lambda: fill(small_disk))

    result = send(cli, big_repo, server, store, "--include-first", "--concurrency", "8")

    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert result.stderr.splitlines()[-1] == (
        f"Error: no space left on the device of {store}: free space and run again; "
        "everything acknowledged so far is kept"
    )

    (small_disk / "filler").unlink()
    taken = len(server.accepted)
    result = send(cli, big_repo, server, store, "--include-first", "--concurrency", "8")
    assert result.exit_code == 0, result.output
    bodies = received(server)
    assert set(bodies) == set(expected)
    assert_in_order(bodies)
    # Twice: at most those in flight when the disk failed.
    assert len(bodies) - len(set(bodies)) <= 8
    assert taken < len(expected)


def test_a_bare_repository_without_a_config_file_is_read_as_git_reads_it(
    cli: Cli, repos: dict[str, Path], tmp_path: Path
) -> None:
    bare = tmp_path / "mirror.git"
    git(tmp_path, "clone", "--quiet", "--bare", str(repos["linear"]), str(bare))
    (bare / "config").unlink()
    assert git(bare, "log", "-1", "--format=%s").strip() == "unreleased work"

    result = cli("git", bare, "--dry-run", "--output", "-")

    assert result.exit_code == 0, result.output
    assert (
        result.stdout
        == cli("git", repos["linear"], "--dry-run", "--output", "-", "--system", "mirror").stdout
    )
