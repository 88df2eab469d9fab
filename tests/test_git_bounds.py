"""git bounded: a clone or fetch that stalls ends after --git-timeout; a stopped run ends every
git process it started; a shallow source, or another user's repository, is refused with git's
fix; a URL's credentials appear nowhere."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fixtures.git_http_server import GitHttpServer
from tests.conftest import API_KEY, Cli
from tests.gitoracle import git
from tests.ingestion_server import IngestionServer


@pytest.fixture
def served(repos: dict[str, Path], big_repo: Path, tmp_path: Path) -> Path:
    """Bare clones to serve over smart HTTP."""
    root = tmp_path / "served"
    root.mkdir()
    for name, source in (("linear.git", repos["linear"]), ("big.git", big_repo)):
        git(tmp_path, "clone", "--quiet", "--bare", str(source), str(root / name))
        git(root / name, "config", "uploadpack.allowFilter", "true")
    return root


@pytest.fixture
def stalling(served: Path) -> Iterator[GitHttpServer]:
    with GitHttpServer(served, stall=True) as server:
        yield server


def test_a_server_that_stops_in_the_middle_of_a_pack_is_left_after_git_timeout(
    cli: Cli, stalling: GitHttpServer, tmp_path: Path, store: Path
) -> None:
    url = f"{stalling.base_url}/big.git"
    started = time.monotonic()
    result = cli(
        "git", url, "--cache-dir", tmp_path / "cache", "--store", store, "--git-timeout", "2"
    )
    took = time.monotonic() - started
    assert stalling.stalled.is_set()
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: cannot fetch {url}: no progress for 2 s; check the server and the network, "
        "or raise --git-timeout\n"
    )
    assert took < 30  # bounded by the option, not by the server
    assert list((tmp_path / "cache").iterdir()) == []  # no half-made clone


def test_in_an_organisation_run_a_stalled_repository_fails_and_the_others_go_on(
    cli: Cli, stalling: GitHttpServer, repos: dict[str, Path], tmp_path: Path, store: Path
) -> None:
    url = f"{stalling.base_url}/big.git"
    result = cli(
        "git", url, repos["linear"], "--cache-dir", tmp_path / "cache", "--store", store,
        "--json", env={"PULSE_BACKFILL_GIT_TIMEOUT": "2"},
    )  # fmt: skip
    assert result.exit_code == 1
    assert (
        f"error: {url}: cannot fetch {url}: no progress for 2 s; check the server and the "
        "network, or raise --git-timeout"
    ) in result.stderr.splitlines()
    summary = json.loads(result.stdout)
    assert summary["failed_repositories"] == [url]
    assert [r["deployments"]["derived"] for r in summary["repositories"]] == [0, 5]


def test_a_silent_ssh_server_is_left_after_git_timeout(
    cli: Cli, tmp_path: Path, store: Path
) -> None:
    # An ssh connection that opens and then says nothing, as a stalled server does. git's own
    # bound (http.lowSpeedTime) is for http only: here the tool ends git, and ssh with it.
    ssh = tmp_path / "silent-ssh"
    ssh.write_text(f"#!/bin/sh\necho $$ > {tmp_path / 'ssh.pid'}\nexec sleep 3600\n")
    ssh.chmod(0o755)
    url = "ssh://git@127.0.0.1/org/repo.git"
    result = cli(
        "git", url, "--cache-dir", tmp_path / "cache", "--store", store, "--git-timeout", "1",
        env={"GIT_SSH_COMMAND": str(ssh)},
    )  # fmt: skip
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: cannot fetch {url}: no progress for 1 s; check the server and the network, "
        "or raise --git-timeout\n"
    )
    ssh_pid = int((tmp_path / "ssh.pid").read_text())
    deadline = time.monotonic() + 5
    while Path(f"/proc/{ssh_pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not Path(f"/proc/{ssh_pid}").exists()  # ended with git, in git's process group


def _children(pid: int) -> set[int]:
    """The processes whose parent is `pid`."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.add(int(entry.name))
    return found


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_during_a_clone_ends_every_git_process_and_the_run(
    stalling: GitHttpServer, tmp_path: Path, number: int
) -> None:
    url = f"{stalling.base_url}/big.git"
    run = subprocess.Popen(
        [sys.executable, "-m", "pulse_backfill", "git", url, "--cache-dir", str(tmp_path / "c"),
         "--store", str(tmp_path / "store.sqlite3")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert stalling.stalled.wait(60)
        groups = {os.getpgid(child) for child in _children(run.pid)}
        assert groups, "git runs in a group of its own"
        assert os.getpgid(run.pid) not in groups
        stopped = time.monotonic()
        run.send_signal(number)
        _, stderr = run.communicate(timeout=10)
        took = time.monotonic() - stopped
    finally:
        run.kill()
    assert run.returncode == 128 + number
    assert took < 5
    deadline = time.monotonic() + 5  # the group's members are reaped by init
    while any(_group_alive(group) for group in groups) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_group_alive(group) for group in groups)
    assert "Traceback" not in stderr
    assert "Interrupted: what was not acknowledged goes with the next run." in stderr.splitlines()
    assert list((tmp_path / "c").iterdir()) == []


def test_a_shallow_source_named_by_url_is_refused_with_the_local_fix(
    cli: Cli, repos: dict[str, Path], tmp_path: Path
) -> None:
    shallow = tmp_path / "shallow"
    git(tmp_path, "clone", "--quiet", "--depth", "2", f"file://{repos['linear']}", str(shallow))
    url = f"file://{shallow}"
    result = cli("git", url, "--cache-dir", tmp_path / "cache", "--dry-run")
    local = cli("git", shallow, "--dry-run")
    assert result.exit_code == local.exit_code == 2
    fix = f"fetch its full history with 'git -C {shallow} fetch --unshallow --tags'"
    assert result.stderr == (
        f"Error: {url} is a shallow clone, so the changes of its deployments would be wrong: "
        f"{fix}\n"
    )
    assert local.stderr == (
        f"Error: {shallow} is a shallow clone, so the changes of its deployments would be wrong: "
        f"{fix}\n"
    )


def test_a_shallow_source_over_http_is_refused(
    cli: Cli, repos: dict[str, Path], tmp_path: Path
) -> None:
    root = tmp_path / "served"
    root.mkdir()
    git(tmp_path, "clone", "--quiet", "--bare", "--depth", "2", f"file://{repos['linear']}",
        str(root / "shallow.git"))  # fmt: skip
    with GitHttpServer(root) as server:
        url = f"{server.base_url}/shallow.git"
        result = cli("git", url, "--cache-dir", tmp_path / "cache", "--dry-run")
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: {url} is a shallow clone, so the changes of its deployments would be wrong: "
        "fetch its full history with 'git fetch --unshallow --tags' where it is kept, or name a "
        "full clone\n"
    )


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a folder to another user needs root")
def test_a_repository_owned_by_another_user_gets_gits_reason_and_fix(
    cli: Cli, repos: dict[str, Path], tmp_path: Path
) -> None:
    theirs = tmp_path / "theirs"
    git(tmp_path, "clone", "--quiet", str(repos["linear"]), str(theirs))
    for path in [theirs, *theirs.rglob("*")]:
        os.lchown(path, 65534, 65534)  # nobody's, as a CI container's checkout is
    result = cli("git", theirs, "--dry-run", env={"GIT_CONFIG_GLOBAL": os.devnull})
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: git refuses {theirs} (detected dubious ownership in repository at '{theirs}'): "
        f"if you trust it, run 'git config --global --add safe.directory {theirs}'\n"
    )


def test_a_urls_credentials_appear_nowhere(
    cli: Cli, served: Path, tmp_path: Path, store: Path, server: IngestionServer
) -> None:
    cache = tmp_path / "cache"
    with GitHttpServer(served) as git_server:
        host = git_server.base_url.removeprefix("http://")
        url = f"http://deploy:s3cr3t-t0ken@{host}/linear.git"
        runs = [
            cli("git", url, "--cache-dir", cache, "--store", store, "--json",
                "--output", tmp_path / "events.ndjson"),
            cli("git", url, "--cache-dir", cache, "--store", store, "--api-key", API_KEY,
                "--base-url", server.base_url),
            cli("git", url, "--cache-dir", cache, "--dry-run", "--output", "-"),
            cli("git", f"{url}x", "--cache-dir", cache, "--store", store),  # a failure
        ]  # fmt: skip
    assert [run.exit_code for run in runs] == [0, 0, 0, 1]
    secrets = ("s3cr3t-t0ken", "deploy:")
    for run in runs:
        for secret in secrets:
            assert secret not in run.stdout
            assert secret not in run.stderr
    dump = "\n".join(sqlite3.connect(store).iterdump())
    assert f"http://{host}/linear.git" in dump
    files = [path for path in tmp_path.rglob("*") if path.is_file()]
    for secret in secrets:
        assert secret not in dump
        assert not [path for path in cache.rglob("*") if secret in path.name]
        assert not [path for path in files if secret.encode() in path.read_bytes()]
    assert not [request for request in server.requests if "s3cr3t" in str(request)]


def test_a_clone_that_kept_credentials_loses_them_at_its_next_fetch(
    cli: Cli, served: Path, tmp_path: Path, store: Path
) -> None:
    cache = tmp_path / "cache"
    with GitHttpServer(served) as git_server:
        host = git_server.base_url.removeprefix("http://")
        url = f"http://deploy:s3cr3t-t0ken@{host}/linear.git"
        assert cli("git", url, "--cache-dir", cache, "--store", store).exit_code == 0
        [clone] = cache.iterdir()
        git(clone, "config", "remote.origin.url", url)  # as an older version left it
        again = cli("git", url, "--cache-dir", cache, "--store", store)
    assert again.exit_code == 0, again.output
    assert b"s3cr3t" not in (clone / "config").read_bytes()


def test_an_unreachable_exports_credentials_are_not_shown(cli: Cli, repos: dict[str, Path]) -> None:
    export = "http://deploy:s3cr3t-t0ken@127.0.0.1:9/deploys.json?token=signed-s3cr3t"
    result = cli("git", repos["linear"], "--deployments-from", f"file:{export}", "--dry-run")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: cannot reach the deployments export at http://127.0.0.1:9/deploys.json?... "
        "(ConnectError): try later\n"
    )
