"""The GitHub Action (action.yml): a valid composite action, whose run step, run here as the
runner would run it (its script under bash, its inputs in its environment), builds and runs
the command line it says against the test server."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import API_KEY
from tests.gitoracle import git
from tests.ingestion_server import IngestionServer
from tests.test_hostile import expected_events, received

ROOT = Path(__file__).resolve().parent.parent
ACTION = yaml.safe_load((ROOT / "action.yml").read_text())
EXPRESSION = re.compile(r"\$\{\{\s*([\w.-]+)\s*\}\}")


def step(step_id: str) -> dict[str, Any]:
    return next(s for s in ACTION["runs"]["steps"] if s.get("id") == step_id)


def evaluate(text: str, inputs: dict[str, str]) -> str:
    """`${{ inputs.NAME }}` and `${{ github.action_path }}`, as the runner fills them in."""

    def value(match: re.Match[str]) -> str:
        name = match[1]
        if name == "github.action_path":
            return str(ROOT)
        assert name.startswith("inputs."), name
        key = name.removeprefix("inputs.")
        return inputs.get(key, ACTION["inputs"][key]["default"])

    return EXPRESSION.sub(value, text)


def run_step(
    workspace: Path, inputs: dict[str, str], more_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The action's run step, with `inputs`, and `more_env` (what the calling step's `env:`
    and the runner set) in its environment."""
    run = step("run")
    env = {name: evaluate(str(value), inputs) for name, value in run["env"].items()}
    env.update(more_env or {})
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"  # the installed one
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PULSE_", "GITHUB_"))}
    return subprocess.run(
        [run["shell"], "-c", evaluate(run["run"], inputs)],
        cwd=workspace,
        env={**clean, "PATH": path, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_action_is_a_valid_composite_action() -> None:
    assert set(ACTION) >= {"name", "description", "inputs", "runs"}
    assert ACTION["runs"]["using"] == "composite"
    for each in ACTION["runs"]["steps"]:
        assert ("uses" in each) != ("run" in each)
        if "run" in each:
            assert each["shell"] == "bash"  # a composite action's run step must name its shell
        # Every input a step names is declared, with a description and a default.
        text = yaml.safe_dump(each)
        for name in EXPRESSION.findall(text):
            if name.startswith("inputs."):
                declared = ACTION["inputs"][name.removeprefix("inputs.")]
                assert declared["description"]
                assert "default" in declared
    assert set(ACTION["inputs"]) >= {
        "repositories",
        "repos-file",
        "since",
        "api-key",
        "store",
        "args",
    }
    # The key reaches pulse-backfill through the environment alone, never the script.
    assert "inputs.api-key" not in step("run")["run"]
    assert step("run")["env"]["PULSE_API_KEY"] == "${{ inputs.api-key }}"
    # It installs pulse-backfill from the action's own checkout.
    install = step("install")
    assert install["env"]["ACTION_PATH"] == "${{ github.action_path }}"
    assert '"$ACTION_PATH"' in install["run"]


@pytest.fixture
def workspace(repos: dict[str, Path], tmp_path: Path) -> Path:
    """What actions/checkout leaves: a clone of the repository, full history and tags."""
    path = tmp_path / "workspace"
    git(tmp_path, "clone", "--quiet", str(repos["linear"]), str(path))
    return path


def test_the_run_step_sends_the_workspace_with_the_key_from_the_environment(
    workspace: Path, server: IngestionServer, cli: Any
) -> None:
    inputs = {
        "since": "2020-10-01",
        "api-key": API_KEY,
        "args": f"--base-url {server.base_url} --system 'web shop' --jobs 2",
    }
    result = run_step(workspace, inputs)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == (
        "Running: pulse-backfill git . --since 2020-10-01 --store .pulse-backfill/store.sqlite3 "
        f"--base-url {server.base_url} --system web\\ shop --jobs 2"
    )
    assert API_KEY not in result.stdout + result.stderr
    assert (workspace / ".pulse-backfill" / "store.sqlite3").is_file()
    expected = expected_events(cli, workspace, "--since", "2020-10-01")
    assert sorted(received(server)) == sorted(expected)
    assert {r.query["system"][0] for r in server.accepted} == {"web shop"}


def test_the_run_step_without_a_key_records_a_manifests_repositories(
    repos: dict[str, Path], workspace: Path, server: IngestionServer
) -> None:
    manifest = workspace / "repos.txt"
    manifest.write_text(f"{repos['linear']} --system linear\n{repos['release-branches']}\n")
    inputs = {"repos-file": "repos.txt", "store": "state/pulse.sqlite3", "args": "--quiet"}
    result = run_step(workspace, inputs)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == (
        "Running: pulse-backfill git --repos repos.txt --store state/pulse.sqlite3 --quiet"
    )
    assert (workspace / "state" / "pulse.sqlite3").is_file()
    assert server.requests == []  # no key: recorded, for the next run with one


def test_a_mistake_in_the_inputs_is_pulse_backfills_one_line(workspace: Path) -> None:
    result = run_step(workspace, {"since": "the day before"})
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "Error: --since: 'the day before' is not a date: use YYYY-MM-DD, an ISO 8601 date-time "
        "(2020-10-01T12:00:00Z), UNIX epoch seconds, or a relative date ('2 weeks ago', "
        "'yesterday')"
    ]
