"""The recipes in examples/: read as GitHub and Kubernetes read them, and their commands run
here, shard by shard, on a manifest of the fixture repositories."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.test_action import ACTION, run_step

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def workflow(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((EXAMPLES / name).read_text())
    return loaded


def action_steps(jobs: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        s
        for job in jobs.values()
        for s in job["steps"]
        if s.get("uses", "").split("@")[0].endswith("/pulse-backfill")
    ]


@pytest.fixture
def manifest(repos: dict[str, Path], tmp_path: Path) -> Path:
    path = tmp_path / "workspace" / "repos.txt"
    path.parent.mkdir()
    path.write_text(
        f"{repos['linear']}\n{repos['release-branches']}\n"
        f"{repos['monorepo']} --system search --tag-prefix service-a/ --path service-a\n"
        f"{repos['deploy-branch']} --deployments-from branch:production\n"
    )
    return path


def systems_in(store: Path) -> set[str]:
    with sqlite3.connect(store) as db:
        return {row[0] for row in db.execute("SELECT DISTINCT system FROM events")}


def synced_in(store: Path) -> list[str]:
    """The repositories a store synced (whether or not they gave events)."""
    with sqlite3.connect(store) as db:
        return [row[0].split()[1] for row in db.execute("SELECT origin FROM syncs")]


def test_the_nightly_workflow_uses_the_action_as_it_declares_itself() -> None:
    flow = workflow("github-actions-nightly.yml")
    (uses,) = action_steps(flow["jobs"])
    assert set(uses["with"]) <= set(ACTION["inputs"])
    assert uses["with"]["api-key"] == "${{ secrets.PULSE_API_KEY }}"
    checkout = next(
        s for s in flow["jobs"]["sync"]["steps"] if s.get("uses", "").startswith("actions/checkout")
    )
    assert checkout["with"]["fetch-depth"] == 0  # tags and full history
    cache = next(
        s for s in flow["jobs"]["sync"]["steps"] if s.get("uses", "").startswith("actions/cache")
    )
    assert uses["with"]["store"].startswith(cache["with"]["path"] + "/")


def test_the_sharded_workflow_covers_the_manifest_once_and_reports_it_as_one(
    manifest: Path,
) -> None:
    flow = workflow("github-actions-shards.yml")
    shards = flow["jobs"]["sync"]["strategy"]["matrix"]["shard"]
    count = len(shards)
    assert shards == list(range(1, count + 1))
    (uses,) = action_steps(flow["jobs"])
    assert set(uses["with"]) <= set(ACTION["inputs"])
    assert f"--shard ${{{{ matrix.shard }}}}/{count}" in uses["with"]["args"]
    workspace = manifest.parent
    stores = workspace / "stores"
    stores.mkdir()
    for shard in shards:
        inputs = {
            name: str(value).replace("${{ matrix.shard }}", str(shard))
            for name, value in uses["with"].items()
            if name != "api-key"  # the secret: none here, so the shards record only
        }
        inputs["since"] = "2020-01-01"  # the fixtures' history is older than the example's
        result = run_step(workspace, inputs)
        assert result.returncode == 0, result.stderr
        # What the upload and download of artifacts do.
        shutil.copy(workspace / inputs["store"], stores / Path(inputs["store"]).name)
    taken = [systems_in(store) for store in sorted(stores.iterdir())]
    assert sorted(s for each in taken for s in each) == sorted(
        ["linear", "release-branches", "search", "deploy-branch"]
    )  # each in one shard's store, and only one
    report = next(s["run"] for s in flow["jobs"]["report"]["steps"] if "report" in s.get("run", ""))
    bin_dir = Path(sys.executable).parent
    command = report.replace("pulse-backfill ", f"{bin_dir / 'pulse-backfill'} ", 1) + " --json"
    result = subprocess.run(
        ["/bin/sh", "-c", command], cwd=workspace, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert sorted(json.loads(result.stdout)["systems"]) == [
        "deploy-branch", "linear", "release-branches", "search",
    ]  # fmt: skip
    assert (workspace / "four-keys.html").is_file()


def test_the_indexed_job_runs_each_shard_once(manifest: Path, tmp_path: Path) -> None:
    documents = list(yaml.safe_load_all((EXAMPLES / "kubernetes-indexed-job.yaml").read_text()))
    cron = next(d for d in documents if d["kind"] == "CronJob")
    job = cron["spec"]["jobTemplate"]["spec"]
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"  # one writer a store
    assert job["completionMode"] == "Indexed"
    count = job["completions"]
    assert job["parallelism"] == count
    (container,) = job["template"]["spec"]["containers"]
    script = container["args"][0]
    assert f'--shard "$SHARD/{count}"' in script
    claim = job["template"]["spec"]["volumes"][1]["persistentVolumeClaim"]["claimName"]
    assert any(
        d["kind"] == "PersistentVolumeClaim" and d["metadata"]["name"] == claim for d in documents
    )
    # Each pod's command, from SHARD= on (the install is the image's business), run here.
    command = script[script.index("SHARD=") :]
    command = command.replace("/config/repos.txt", str(manifest)).replace("/data/", f"{tmp_path}/")
    command = re.sub(
        r"\bpulse-backfill\b", str(Path(sys.executable).parent / "pulse-backfill"), command
    )
    for index in range(count):
        env = {**os.environ, "JOB_COMPLETION_INDEX": str(index)}
        env.pop("PULSE_API_KEY", None)
        result = subprocess.run(
            ["/bin/sh", "-c", command], env=env, capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stderr
    stores = sorted(tmp_path.glob("shard-*.sqlite3"))
    taken = [location for store in stores for location in synced_in(store)]
    listed = [line.split()[0] for line in manifest.read_text().splitlines()]
    assert sorted(taken) == sorted(listed)  # each repository in one shard, once


def test_the_deployments_workflow_asks_github_with_its_own_token(
    repos: dict[str, Path], tmp_path: Path
) -> None:
    """The workflow's step, run as the runner would run it: a checkout whose origin is the
    repository on GitHub, the workflow's GITHUB_TOKEN in the step's environment, GitHub (here
    the loopback API, as GITHUB_SERVER_URL names a GitHub Enterprise Server) giving the runs of
    its deployment workflow; run again with nothing new, it costs 304s."""
    from fixtures.platform_api import ApiThread, GitHubRepo, PlatformApi

    flow = workflow("github-actions-deployments.yml")
    assert flow["permissions"] == {"actions": "read", "contents": "read"}
    (uses,) = action_steps(flow["jobs"])
    assert set(uses["with"]) <= set(ACTION["inputs"])
    assert uses["env"] == {"GITHUB_TOKEN": "${{ secrets.GITHUB_TOKEN }}"}
    args = uses["with"]["args"].split()
    source = args[args.index("--deployments-from") + 1]
    assert source.startswith("github:actions:")
    cache = next(
        s for s in flow["jobs"]["sync"]["steps"] if s.get("uses", "").startswith("actions/cache")
    )
    for kept in (uses["with"]["store"], args[args.index("--cache-dir") + 1]):
        assert kept.startswith(cache["with"]["path"] + "/")
    workspace = tmp_path / "workspace"
    subprocess.run(
        ["git", "clone", "--quiet", str(repos["deploy-branch"]), str(workspace)], check=True
    )
    subprocess.run(
        ["git", "-C", str(workspace), "remote", "set-url", "origin",
         "https://github.com/octo/shop.git"],
        check=True,
    )  # fmt: skip
    token = "ghs_WORKFLOW_token_0123456789"
    line = subprocess.run(
        ["git", "-C", str(workspace), "log", "--first-parent", "--reverse", "--format=%H %ct",
         "origin/production"],
        capture_output=True, text=True, check=True,
    ).stdout.split("\n")  # fmt: skip
    with ApiThread(PlatformApi()) as api:
        api.github_token = token
        repo = api.github["octo/shop"] = GitHubRepo(default_branch="main")
        for entry in filter(None, line):
            commit, committed = entry.split()
            repo.run(source.split(":")[2], commit, int(committed) + 60, int(committed) + 600)
        inputs = {name: str(value) for name, value in uses["with"].items() if name != "api-key"}
        inputs["since"] = "2020-01-01"  # the fixture's history is older than the example's
        runner = {"GITHUB_TOKEN": token, "GITHUB_SERVER_URL": api.base_url}
        first = run_step(workspace, inputs, runner)
        assert first.returncode == 0, first.stderr
        summary = json.loads(first.stdout.splitlines()[-1])["repositories"][0]
        assert summary["deployments_from"] == source
        assert summary["deployments"]["derived"] == 3
        assert token not in first.stdout + first.stderr
        # The next night asks for the runs since a day before the last deployment (a new
        # query), and the default branch again (unchanged); the night after, both are 304s.
        for statuses in ([200, 304], [304, 304]):
            api.seen.clear()
            again = run_step(workspace, inputs, runner)
            assert again.returncode == 0, again.stderr
            summary = json.loads(again.stdout.splitlines()[-1])["repositories"][0]
            assert summary["sync"] == "up to date"
            assert sorted(seen.status for seen in api.seen) == statuses
