"""An organisation's repositories: several fetched and derived at once (--jobs), shards of a
manifest (--shard), and what a run warns of before it starts."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fixtures.git_http_server import GitHttpServer
from pulse_backfill.git.manifest import RepoSpec, Shard
from tests.conftest import API_KEY, Cli
from tests.gitoracle import git
from tests.ingestion_server import IngestionServer
from tests.test_hostile import HOSTILE, assert_in_order, received, wait_for_acceptances


def manifest(tmp_path: Path, repos: dict[str, Path], big_repo: Path) -> Path:
    """Five repositories, each its own system, with every source of deployments."""
    listing = tmp_path / "repos.txt"
    listing.write_text(
        f"{repos['linear']}\n"
        f"{big_repo} --system big\n"
        f"{repos['release-branches']}\n"
        f"{repos['monorepo']} --system billing --tag-prefix service-a/ --path service-a\n"
        f"{repos['deploy-branch']} --deployments-from branch:production\n"
    )
    return listing


def store_rows(path: Path) -> list[tuple[object, ...]]:
    """Every event of the store in recording order, with the origin that recorded it."""
    with sqlite3.connect(path) as db:
        return db.execute(
            "SELECT s.origin, e.system, e.kind, e.identifier, e.body FROM events e"
            " JOIN syncs s ON s.id = e.origin ORDER BY e.id"
        ).fetchall()


def test_jobs_record_exactly_what_one_after_another_records(
    cli: Cli, repos: dict[str, Path], big_repo: Path, tmp_path: Path
) -> None:
    listing = manifest(tmp_path, repos, big_repo)
    stores = {jobs: tmp_path / f"jobs-{jobs}.sqlite3" for jobs in (1, 4)}
    outputs = {jobs: tmp_path / f"jobs-{jobs}.ndjson" for jobs in (1, 4)}
    for jobs in (1, 4):
        result = cli(
            "git", "--repos", listing, "--jobs", jobs, "--include-first",
            "--store", stores[jobs], "--output", outputs[jobs],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
    assert store_rows(stores[1]) == store_rows(stores[4])
    assert len(store_rows(stores[1])) > 300
    assert outputs[1].read_bytes() == outputs[4].read_bytes()
    # A dry run's lines too, and a re-sync of both stores finds nothing new.
    dry = [
        cli("git", "--repos", listing, "--jobs", j, "--dry-run", "--output", "-") for j in (1, 4)
    ]
    assert dry[0].stdout == dry[1].stdout
    for jobs in (1, 4):
        again = cli(
            "git", "--repos", listing, "--jobs", jobs, "--include-first",
            "--store", stores[jobs], "--json",
        )  # fmt: skip
        syncs = [r["sync"] for r in json.loads(again.stdout)["repositories"]]
        assert syncs == ["up to date"] * 5


def test_jobs_deliver_every_event_once_in_order_through_faults(
    cli: Cli, repos: dict[str, Path], big_repo: Path, server: IngestionServer, tmp_path: Path
) -> None:
    listing = manifest(tmp_path, repos, big_repo)
    expected = cli("git", "--repos", listing, "--dry-run", "--output", "-", "--include-first")
    lines = expected.stdout.splitlines()
    server.latency = 0.005
    server.fault_rate = 0.2
    server.random_faults = HOSTILE[:2]  # 429 and 503: answered, never taken twice
    result = cli(
        "git", "--repos", listing, "--jobs", "4", "--include-first", "--api-key", API_KEY,
        "--base-url", server.base_url, "--store", tmp_path / "store.sqlite3", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    by_system: dict[str, list[str]] = {}
    for request in server.accepted:
        by_system.setdefault(request.query["system"][0], []).append(request.body.decode())
    assert sum(len(bodies) for bodies in by_system.values()) == len(lines)  # none twice
    for system, bodies in by_system.items():
        sent = [json.loads(line) for line in lines if json.loads(line)["system"] == system]
        assert sorted(json.loads(b)["$type"] + str(json.loads(b)) for b in bodies) == sorted(
            e["$type"] + str({k: v for k, v in e.items() if k != "system"}) for e in sent
        )
        assert_in_order(bodies)  # within each repository, changes before their deployment


def test_sigterm_with_jobs_in_flight_resumes_with_nothing_lost_or_twice(
    cli: Cli, big_repo: Path, server: IngestionServer, tmp_path: Path
) -> None:
    listing = tmp_path / "repos.txt"
    copies = []
    for n in range(6):
        copy = tmp_path / f"service-{n}.git"
        git(tmp_path, "clone", "--quiet", "--mirror", str(big_repo), str(copy))
        copies.append(copy)
    listing.write_text("".join(f"{copy}\n" for copy in copies))
    store = tmp_path / "store.sqlite3"
    command = [
        sys.executable, "-m", "pulse_backfill", "git", "--repos", str(listing), "--jobs", "4",
        "--include-first", "--base-url", server.base_url, "--store", str(store),
    ]  # fmt: skip
    server.latency = 0.02
    process = subprocess.Popen(
        command,
        env={**os.environ, "PULSE_API_KEY": API_KEY},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for_acceptances(server, 40)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 143, stderr
    assert "Traceback" not in stderr
    first = len(server.accepted)
    assert first < 6 * 330  # it stopped before the end

    server.latency = 0
    result = cli(*command[3:], "--api-key", API_KEY)
    assert result.exit_code == 0, result.output
    by_system: dict[str, list[str]] = {}
    for request in server.accepted:
        by_system.setdefault(request.query["system"][0], []).append(request.body.decode())
    assert sorted(by_system) == [f"service-{n}" for n in range(6)]
    for bodies in by_system.values():
        assert len(bodies) == len(set(bodies)) == 300 + 30  # 300 changes, 30 deployments
        assert_in_order(bodies)
    assert len(received(server)) == 6 * 330


def test_one_failing_repository_among_others_in_flight(
    cli: Cli, repos: dict[str, Path], big_repo: Path, store: Path, tmp_path: Path
) -> None:
    missing = tmp_path / "gone"
    listing = tmp_path / "repos.txt"
    listing.write_text(f"{repos['linear']}\n{missing}\n{big_repo}\n{repos['release-branches']}\n")
    result = cli("git", "--repos", listing, "--jobs", "4", "--store", store, "--json")
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert f"error: {missing}: {missing} does not exist: pass the path of a git repository" in lines
    assert f"Failed: 1 of 4 repositories ({missing}); the others were done." in lines
    summary = json.loads(result.stdout)
    assert [(r["system"], r["error"] is None) for r in summary["repositories"]] == [
        ("linear", True),
        (None, False),
        ("big", True),
        ("release-branches", True),
    ]
    assert summary["deployments"]["derived"] == 5 + 29 + 6  # big: 30 tags, the first a baseline


def test_a_repository_given_twice_the_same_way_runs_once(
    cli: Cli, repos: dict[str, Path], store: Path, tmp_path: Path
) -> None:
    listing = tmp_path / "repos.txt"
    listing.write_text(f"{repos['linear']}\n{repos['linear']} --system other\n")
    result = cli("git", repos["linear"], "--repos", listing, "--store", store, "--json")
    assert result.exit_code == 0, result.output
    assert (
        f"warning: {repos['linear']} (--repos {listing} line 1) is listed twice the same way: "
        "run once"
    ) in result.stderr.splitlines()
    systems = [r["system"] for r in json.loads(result.stdout)["repositories"]]
    assert systems == ["linear", "other"]


# Shards.


def specs(count: int) -> list[RepoSpec]:
    return [RepoSpec(location=f"https://git.example.com/org/service-{n}.git") for n in range(count)]


@given(count=st.integers(1, 60), shards=st.integers(1, 9), added=st.integers(0, 60))
def test_shards_take_every_repository_once_and_a_new_line_moves_no_other(
    count: int, shards: int, added: int
) -> None:
    before = specs(count)
    owners = {}
    for spec in before:
        taking = [k for k in range(1, shards + 1) if Shard(k, shards).takes(spec, None)]
        assert len(taking) == 1  # exactly one shard takes it
        owners[spec] = taking[0]
    after = [*before[: added % (count + 1)], RepoSpec(location="/srv/git/new"), *before]
    for spec in after:
        if spec in owners:
            assert Shard(owners[spec], shards).takes(spec, None)


def test_a_shard_depends_on_the_location_without_credentials_and_the_system() -> None:
    shard = next(Shard(k, 7) for k in range(1, 8) if Shard(k, 7).takes(specs(1)[0], None))
    token = RepoSpec(location="https://x-token:s3cret@git.example.com/org/service-0.git")
    assert shard.takes(token, None)  # a rotated token moves nothing
    systems = [s for s in map(str, range(40)) if shard.takes(specs(1)[0], s)]
    assert 0 < len(systems) < 40  # the system is part of the hash


def test_shards_of_a_manifest_from_the_command_line(
    cli: Cli, repos: dict[str, Path], big_repo: Path, tmp_path: Path
) -> None:
    listing = manifest(tmp_path, repos, big_repo)
    taken = []
    for k in (1, 2, 3):
        result = cli("git", "--repos", listing, "--shard", f"{k}/3", "--dry-run", "--json")
        assert result.exit_code == 0, result.output
        summary = json.loads(result.stdout)
        assert summary["shard"] == f"{k}/3"
        taken += [r["repository"] for r in summary["repositories"]]
    assert sorted(taken) == sorted(line.split()[0] for line in listing.read_text().splitlines())


@pytest.mark.parametrize(
    ("shard", "error"),
    [
        ("0/3", "--shard '0/3' is not K/N with 1 <= K <= N: pass, say, --shard 1/4"),
        ("4/3", "--shard '4/3' is not K/N with 1 <= K <= N: pass, say, --shard 1/4"),
        ("two", "--shard 'two' is not K/N with 1 <= K <= N: pass, say, --shard 1/4"),
    ],
)
def test_a_shard_that_is_not_one(cli: Cli, repos: dict[str, Path], shard: str, error: str) -> None:
    result = cli("git", repos["linear"], "--shard", shard, "--dry-run")
    assert result.exit_code == 2
    assert result.stderr == f"Error: {error}\n"


def test_a_shard_that_takes_nothing_is_not_an_error(cli: Cli, repos: dict[str, Path]) -> None:
    spec = RepoSpec(location=str(repos["linear"]))
    empty = next(k for k in range(1, 9) if not Shard(k, 8).takes(spec, None))
    result = cli("git", repos["linear"], "--shard", f"{empty}/8", "--dry-run")
    assert result.exit_code == 0, result.output
    assert (
        f"warning: shard {empty}/8 takes none of the 1 repositories: nothing to do"
        in result.stderr.splitlines()
    )


# Plain http:// git URLs.


def test_credentials_over_plain_http_are_warned_of_and_never_shown(
    cli: Cli, store: Path, tmp_path: Path
) -> None:
    url = "http://deploy:t0ken-s3cret@git.internal.invalid/org/app.git"
    result = cli("git", url, "--cache-dir", tmp_path / "cache", "--store", store)
    lines = result.stderr.splitlines()
    assert (
        "warning: http://git.internal.invalid/org/app.git: its credentials travel unencrypted "
        "over plain http://; use https:// or ssh:// for a server that is not this machine"
    ) in lines
    assert "t0ken-s3cret" not in result.output
    assert result.exit_code == 1  # the host does not exist: a failed fetch


@pytest.mark.parametrize(
    "url",
    [
        "http://git.internal.invalid/org/app.git",  # no credentials
        "http://deploy:t0ken@127.0.0.1:9/org/app.git",  # loopback
        "https://deploy:t0ken@git.internal.invalid/org/app.git",  # encrypted
    ],
)
def test_no_warning_without_credentials_in_the_clear(
    cli: Cli, store: Path, tmp_path: Path, url: str
) -> None:
    result = cli("git", url, "--cache-dir", tmp_path / "cache", "--store", store)
    assert "unencrypted" not in result.stderr


def test_repositories_over_plain_http_cloned_then_fetched_several_at_once(
    cli: Cli, repos: dict[str, Path], big_repo: Path, tmp_path: Path
) -> None:
    served = tmp_path / "served"
    served.mkdir()
    for name, source in (("linear.git", repos["linear"]), ("big.git", big_repo)):
        git(tmp_path, "clone", "--quiet", "--bare", str(source), str(served / name))
        git(served / name, "config", "uploadpack.allowFilter", "true")
    store, cache = tmp_path / "store.sqlite3", tmp_path / "cache"
    with GitHttpServer(served) as server:
        urls = [f"{server.base_url}/linear.git", f"{server.base_url}/big.git"]
        first = cli("git", *urls, "--jobs", "4", "--cache-dir", cache, "--store", store, "--json")
        again = cli("git", *urls, "--jobs", "4", "--cache-dir", cache, "--store", store, "--json")
    assert first.exit_code == again.exit_code == 0, first.output
    assert "unencrypted" not in first.stderr  # no credentials, and loopback
    summary = json.loads(first.stdout)
    assert [(r["system"], r["sync"]) for r in summary["repositories"]] == [
        ("linear", "full"),
        ("big", "full"),
    ]
    assert summary["deployments"]["derived"] == 5 + 29
    assert [r["sync"] for r in json.loads(again.stdout)["repositories"]] == ["up to date"] * 2
