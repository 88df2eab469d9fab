"""Several repositories in one run: one store, each its own system, failures kept apart."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pulse_backfill.errors import UsageError
from pulse_backfill.git.manifest import RepoSpec, parse_repo_list
from tests.conftest import API_KEY, Cli
from tests.gitoracle import commit_of
from tests.ingestion_server import IngestionServer


def send(cli: Cli, server: IngestionServer, store: Path, *args: str | Path):  # type: ignore[no-untyped-def]
    return cli("git", *args, "--api-key", API_KEY, "--base-url", server.base_url, "--store", store)


def test_two_repositories_in_one_run_keep_their_systems(
    cli: Cli, repos: dict[str, Path], server: IngestionServer, store: Path
) -> None:
    result = send(cli, server, store, repos["linear"], repos["release-branches"], "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert [(r["system"], r["deployments"]["derived"]) for r in summary["repositories"]] == [
        ("linear", 5),
        ("release-branches", 6),
    ]
    assert summary["deployments"]["sent"] == 11
    by_system: dict[str, list[str]] = {}
    for request in server.requests:
        by_system.setdefault(request.query["system"][0], []).append(request.json()["$type"])
    assert sorted(by_system) == ["linear", "release-branches"]
    assert by_system["linear"].count("deployment") == 5


def test_one_failing_repository_does_not_stop_the_others(
    cli: Cli, repos: dict[str, Path], server: IngestionServer, store: Path, tmp_path: Path
) -> None:
    missing = tmp_path / "gone"
    result = send(cli, server, store, missing, repos["linear"])
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert f"error: {missing}: {missing} does not exist: pass the path of a git repository" in lines
    assert f"warning: {repos['linear']}: tag v9.9.9 points at a tree, not a commit: skipped" in (
        lines
    )
    assert f"Failed: 1 of 2 repositories ({missing}); the others were done." in lines
    assert len(server.accepted) == 16

    as_json = send(cli, server, store, missing, repos["linear"], "--json")
    summary = json.loads(as_json.stdout)
    assert summary["failed_repositories"] == [str(missing)]
    assert summary["repositories"][0]["error"] == (
        f"{missing} does not exist: pass the path of a git repository"
    )


def test_a_repos_file_sets_system_prefix_and_paths_per_line(
    cli: Cli, repos: dict[str, Path], server: IngestionServer, store: Path, tmp_path: Path
) -> None:
    monorepo = repos["monorepo"]
    listing = tmp_path / "repos.txt"
    listing.write_text(
        "# every service of the monorepo, and a plain repository\n"
        f"{monorepo} --system service-a --tag-prefix service-a/ --path service-a\n"
        f"'{monorepo}' --system service-b --tag-prefix service-b/ --path service-b\n"
        "\n"
        f"{repos['linear']}   # its own name is its system\n"
    )
    result = send(cli, server, store, "--repos", listing, "--json", "--concurrency", "1")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert [r["system"] for r in summary["repositories"]] == ["service-a", "service-b", "linear"]
    deployments = {
        (r.query["system"][0], r.json()["deploy_id"]): r.json()["changes"]
        for r in server.requests
        if r.json()["$type"] == "deployment"
    }
    assert deployments[("service-a", "service-a/v1.1.0")] == [
        commit_of(monorepo, "service-a: feature")
    ]
    assert deployments[("service-a", "service-a/v2.0.0")] == [
        commit_of(monorepo, "service-a: breaking")
    ]
    assert deployments[("service-b", "service-b/v1.0.1")] == [
        commit_of(monorepo, "service-b: feature"),
        commit_of(monorepo, "service-b: fix"),
    ]


def test_path_option_applies_to_every_repository(
    cli: Cli, repos: dict[str, Path], server: IngestionServer, store: Path
) -> None:
    result = cli(
        "git", repos["monorepo"], "--tag-prefix", "service-a/", "--path", "service-a",
        "--path", "docs", "--dry-run", "--output", "-",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    changes = [json.loads(line) for line in result.stdout.splitlines()]
    assert [c["change_id"] for c in changes if c["$type"] == "change"] == [
        commit_of(repos["monorepo"], "service-a: feature"),
        commit_of(repos["monorepo"], "docs: both services"),
        commit_of(repos["monorepo"], "service-a: breaking"),
    ]


def test_repos_file_lines() -> None:
    assert parse_repo_list(
        "a\n\n  # comment\n'b c' --path x --path 'y z' --system s --tag-prefix p/\n"
        "d --deployments-from branch:production\n",
        "f",
    ) == [
        RepoSpec(location="a", where="--repos f line 1"),
        RepoSpec(
            location="b c",
            system="s",
            tag_prefix="p/",
            paths=("x", "y z"),
            where="--repos f line 4",
        ),
        RepoSpec(location="d", deployments_from="branch:production", where="--repos f line 5"),
    ]


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("a\nb --teams x\n", "line 2: unknown option '--teams'"),
        ("a --system\n", "line 1: --system needs a value"),
        ("a --system x --system y\n", "line 1: --system is given twice"),
        ("a --path ''\n", "line 1: --path '' names no path"),
        ("--system x\n", "line 1: it starts with the option --system, not a repository"),
        ("a 'unclosed\n", "line 1: No closing quotation"),
    ],
)
def test_repos_file_mistakes_name_the_line(text: str, why: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_repo_list(text, "repos.txt")
    assert str(caught.value) == (
        f"--repos repos.txt {why}; write each line as "
        "REPO [--system S] [--deployments-from SOURCE] [--tag-prefix P] "
        "[--infer-failures RULES] [--path P]..."
    )


def test_repos_file_errors_on_the_command_line(cli: Cli, tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing yet\n")
    result = cli("git", "--repos", empty, "--dry-run")
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: --repos {empty} lists no repository: write one a line, "
        "REPO [--system S] [--deployments-from SOURCE] [--tag-prefix P] "
        "[--infer-failures RULES] [--path P]...\n"
    )
    none = cli("git", "--dry-run")
    assert none.exit_code == 2
    assert none.stderr == "Error: pass a repository, or --repos FILE with one a line\n"


def test_a_url_that_cannot_be_fetched_is_one_failure_among_others(
    cli: Cli, repos: dict[str, Path], server: IngestionServer, store: Path, tmp_path: Path
) -> None:
    gone = (tmp_path / "gone.git").as_uri()
    listing = tmp_path / "repos.txt"
    listing.write_text(f"{gone} --system gone\n{repos['linear'].as_uri()} --system linear\n")
    result = send(
        cli, server, store, "--repos", listing, "--cache-dir", tmp_path / "cache", "--json"
    )
    assert result.exit_code == 1
    summary = json.loads(result.stdout)
    assert summary["failed_repositories"] == [gone]
    assert summary["repositories"][0]["error"].startswith(f"cannot fetch {gone} (")
    assert summary["repositories"][1]["system"] == "linear"
    assert summary["deployments"]["sent"] == 5


def test_each_repository_is_delivered_in_turn_and_a_stop_holds_the_rest(
    cli: Cli, repos: dict[str, Path], server: IngestionServer, store: Path
) -> None:
    server.accepted_keys = {"another-key"}
    stopped = send(cli, server, store, repos["linear"], repos["release-branches"], "--json")
    assert stopped.exit_code == 1
    summary = json.loads(stopped.stdout)
    assert summary["stopped"].startswith("the API key from --api-key was rejected")
    assert len(server.requests) == 1  # one request learnt the key was wrong
    reasons = {u["reason"] for u in summary["not_delivered"]}
    assert "not sent: the run stopped" in reasons
    assert [r["system"] for r in summary["repositories"]] == ["linear", "release-branches"]

    server.accepted_keys = None
    again = send(cli, server, store, repos["linear"], repos["release-branches"], "--json")
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["deployments"]["sent"] == 11  # both were recorded
