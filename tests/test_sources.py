"""Deployments from a deploy branch or a CD system's export: exact events on the fixture, each
mistake's line, and a re-sync that sends what one new commit on the branch deployed."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from pulse_backfill.commands.sync import derive_repository
from pulse_backfill.derive.derivation import DerivationOptions, Status
from pulse_backfill.derive.sources import BranchSource, DeploymentSource, FileSource
from pulse_backfill.git.repository import Repository
from tests.conftest import API_KEY, Cli
from tests.gitoracle import commit_of, git, subjects
from tests.ingestion_server import IngestionServer


def export_of(repos: dict[str, Path]) -> Path:
    return repos["deploy-branch"].with_name("deploy-branch-deployments.csv")


def table(path: Path, source: DeploymentSource) -> list[tuple[str, Status, list[str]]]:
    derived = derive_repository(Repository(path), source, DerivationOptions(include_first=True))
    return [
        (d.id, d.status, subjects(path, [c.id for c in d.changes]))
        for d in derived.derivation.deployments
    ]


def committed(path: Path, commit: str) -> int:
    return int(git(path, "log", "-1", "--format=%ct", commit))


def test_each_commit_on_the_deploy_branch_is_a_deployment(repos: dict[str, Path]) -> None:
    path = repos["deploy-branch"]
    line = git(path, "log", "--first-parent", "--reverse", "--format=%H", "production").split()
    deployments = derive_repository(
        Repository(path), BranchSource("production"), DerivationOptions(include_first=True)
    ).derivation.deployments
    # Its id the commit's, its time the commit's committer date: when it landed.
    assert [(d.id, d.commit, d.time) for d in deployments] == [
        (commit, commit, committed(path, commit)) for commit in line
    ]
    assert table(path, BranchSource("production")) == [
        (line[0], Status.SEND, ["initial"]),
        (
            line[1],
            Status.SEND,
            [
                "login: form",
                "login: validation",
                "Merge pull request #1 from feature/login",
                "Search (#2)",
                "api: client",  # rebased: authored before docs (the order), committed after
                "api: retries",
                "docs",
                "Deploy 1",
            ],
        ),
        (line[2], Status.SEND, ["hotfix: crash on an empty login"]),
        (line[3], Status.SEND, ["Merge branch 'production'", "profile page", "Deploy 2"]),
    ]


def test_deploying_every_merge_to_main(repos: dict[str, Path]) -> None:
    path = repos["deploy-branch"]
    shipped = [changes for _, _, changes in table(path, BranchSource("main"))]
    assert shipped == [
        ["initial"],
        ["login: form", "login: validation", "Merge pull request #1 from feature/login"],
        ["Search (#2)"],  # squashed: the branch's own commits are on no deployed line
        ["docs"],
        ["api: client"],
        ["api: retries"],
        # The hotfix reached main through production: shipped here, with production's merge.
        ["Deploy 1", "hotfix: crash on an empty login", "Merge branch 'production'"],
        ["profile page"],
        ["unreleased work"],
    ]


def test_a_cd_systems_export(cli: Cli, repos: dict[str, Path]) -> None:
    path = repos["deploy-branch"]
    source = FileSource(str(export_of(repos)))
    assert table(path, source) == [
        (
            "d-1",
            Status.SEND,
            [
                "initial",
                "login: form",
                "login: validation",
                "Merge pull request #1 from feature/login",
                "Search (#2)",
                "api: client",
                "api: retries",
                "docs",
                "Deploy 1",
            ],
        ),
        # d-2 failed; d-3 deployed the same commit, named by a short id.
        ("d-3", Status.SEND, ["hotfix: crash on an empty login"]),
        ("d-4", Status.EMPTY, []),  # a rollback to d-1's commit: nothing new
        # d-5's commit is not in the repository; d-6's time carries an offset.
        ("d-6", Status.SEND, ["Merge branch 'production'", "profile page", "Deploy 2"]),
    ]
    result = cli("git", path, "--deployments-from", f"file:{export_of(repos)}", "--dry-run")
    assert result.exit_code == 0
    assert result.stderr.splitlines()[0] == (
        "warning: deployment d-5 (line 6): ffffffffffffffffffffffffffffffffffffffff is no commit "
        f"of {path} (force-pushed away, or built from a fork?): skipped"
    )


def test_the_export_events_on_the_wire(cli: Cli, repos: dict[str, Path]) -> None:
    path = repos["deploy-branch"]
    result = cli(
        "git", path, "--deployments-from", f"file:{export_of(repos)}", "--dry-run",
        "--output", "-", "--system", "shop",
    )  # fmt: skip
    assert result.exit_code == 0
    events = [json.loads(line) for line in result.stdout.splitlines()]
    deployments = [e for e in events if e["$type"] == "deployment"]
    # d-1 is the first: a baseline. Each deployment after its own changes, by time then id.
    assert [(d["deploy_id"], d["time_created"]) for d in deployments] == [
        ("d-3", "2020-10-15T09:15:00Z"),
        ("d-6", "2020-10-18T07:00:00Z"),
    ]
    assert [e.get("change_id") or e["deploy_id"] for e in events] == [
        commit_of(path, "hotfix: crash on an empty login"),
        "d-3",
        commit_of(path, "Merge branch 'production'"),
        commit_of(path, "profile page"),
        commit_of(path, "Deploy 2"),
        "d-6",
    ]
    assert {e["system"] for e in events} == {"shop"}


def write(tmp_path: Path, name: str, text: str) -> Path:
    file = tmp_path / name
    file.write_text(text)
    return file


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["--deployments-from", "releases"],
            "Error: --deployments-from 'releases' is not a source of deployments: pass tags, "
            "branch:NAME, file:PATH, github:deployments[:ENVIRONMENT], "
            "github:actions:WORKFLOW[@BRANCH], github:releases or gitlab:deployments[:ENVIRONMENT]",
        ),
        (
            ["--deployments-from", "branch:"],
            "Error: --deployments-from 'branch:' is not a source of deployments: pass tags, "
            "branch:NAME, file:PATH, github:deployments[:ENVIRONMENT], "
            "github:actions:WORKFLOW[@BRANCH], github:releases or gitlab:deployments[:ENVIRONMENT]",
        ),
        (
            ["--deployments-from", "branch:staging"],
            "Error: --deployments-from branch:staging: REPO has no branch or ref 'staging': "
            "name one of its branches (feature/api, feature/login, feature/search, main, "
            "production)",
        ),
        (
            ["--deployments-from", "branch:main", "--tag-prefix", "v"],
            "Error: --tag-prefix belongs to --deployments-from tags, not branch:main: leave it out",
        ),
        (
            ["--deployments-from", "branch:main", "--deploy-time", "commit"],
            "Error: --deploy-time belongs to --deployments-from tags, not branch:main: leave it "
            "out",
        ),
        (
            ["--commit-field", "sha"],
            "Error: --commit-field belongs to --deployments-from file:PATH, not tags: leave it out",
        ),
        (
            ["--deployments-from", "file:/no/such/export.csv"],
            "Error: cannot read /no/such/export.csv (No such file or directory): pass a readable "
            "file",
        ),
    ],
)
def test_mistakes_get_one_line_and_exit_2(
    cli: Cli, repos: dict[str, Path], args: list[str], line: str
) -> None:
    path = repos["deploy-branch"]
    result = cli("git", path, *args, "--dry-run")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [line.replace("REPO", str(path))]


@pytest.mark.parametrize(
    ("text", "why"),
    [
        (
            "id,commit\nd-1,main\n",
            "line 2: no 'time': the columns are id, commit; name the field with --time-field",
        ),
        (
            "deploy_id,sha,at\nd-1,main,1602000000\n",
            "line 2: no 'id': the columns are deploy_id, sha, at; name the field with --id-field",
        ),
        (
            "id,commit,time\nd-1,,1602000000\n",
            "line 2: no 'commit': name the field with --commit-field",
        ),
        (
            "id,commit,time\nd-1,main,yesterday\n",
            "line 2: time is not a time (epoch seconds or milliseconds, or ISO 8601): 'yesterday'",
        ),
        (
            "id,commit,time\nd-1,main,1602000000\nd-1,main,1602001000\n",
            "line 3: the id 'd-1' is line 2's too: give each deployment its own id",
        ),
        (
            '[{"id": "d-1", "commit": "main"}]',
            "item 1: no 'time': its fields are id, commit; name the field with --time-field",
        ),
    ],
)
def test_an_export_row_that_cannot_be_read_names_its_line(
    cli: Cli, repos: dict[str, Path], tmp_path: Path, text: str, why: str
) -> None:
    export = write(tmp_path, "export.csv" if text[0] != "[" else "export.json", text)
    result = cli("git", repos["deploy-branch"], "--deployments-from", f"file:{export}", "--dry-run")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [f"Error: --deployments-from file:{export}: {why}"]


def test_other_field_names_ndjson_and_statuses(
    cli: Cli, repos: dict[str, Path], tmp_path: Path
) -> None:
    path = repos["deploy-branch"]
    hotfix = commit_of(path, "hotfix: crash on an empty login")
    export = write(
        tmp_path,
        "history.ndjson",
        f'{{"revision": "v-9", "sha": "production", "at": 1602900000, "phase": "Succeeded"}}\n'
        f'{{"revision": "v-7", "sha": "{hotfix}", "at": 1602800000, "phase": "Failed"}}\n',
    )
    result = cli(
        "git", path, "--deployments-from", f"file:{export}", "--id-field", "revision",
        "--commit-field", "sha", "--time-field", "at", "--status-field", "phase",
        "--success-status", "Succeeded", "--include-first", "--dry-run", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["repositories"][0]["deployments_from"] == f"file:{export}"
    assert summary["deployments"]["derived"] == 1  # v-7 failed


def test_a_repos_line_names_its_own_source(
    cli: Cli, repos: dict[str, Path], tmp_path: Path
) -> None:
    manifest = write(
        tmp_path,
        "repos.txt",
        f"{repos['deploy-branch']} --system shop --deployments-from branch:production\n"
        f"{repos['linear']}\n",
    )
    result = cli("git", "--repos", manifest, "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    found = [
        (r["system"], r["deployments_from"], r["deployments"]["derived"])
        for r in summary["repositories"]
    ]
    assert found == [("shop", "branch:production", 3), ("linear", "tags", 5)]

    wrong = write(
        tmp_path, "wrong.txt", f"{repos['linear']} --tag-prefix v --deployments-from branch:main\n"
    )
    result = cli("git", "--repos", wrong, "--dry-run")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"Error: --repos {wrong} line 1: --tag-prefix belongs to --deployments-from tags, not "
        "branch:main: leave it out"
    ]


def test_a_new_commit_on_the_deploy_branch_sends_its_deployment_and_change(
    cli: Cli, repos: dict[str, Path], server: IngestionServer, store: Path, tmp_path: Path
) -> None:
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "--quiet", "--mirror", str(repos["deploy-branch"]), str(clone))

    def send(*args: str):  # type: ignore[no-untyped-def]
        return cli(
            "git", clone, "--deployments-from", "branch:production", "--api-key", API_KEY,
            "--base-url", server.base_url, "--store", store, "--json", *args,
        )  # fmt: skip

    assert send().exit_code == 0
    server.reset()
    commit = hotfix_on_production(clone, when=1_603_000_000)

    result = send()

    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["repositories"][0]["sync"] == "incremental"
    assert [
        (b["$type"], b.get("change_id") or b["deploy_id"]) for b in server.accepted_bodies()
    ] == [
        ("change", commit),
        ("deployment", commit),
    ]
    assert server.accepted_bodies()[1]["time_created"] == "2020-10-18T05:46:40Z"


def hotfix_on_production(repo: Path, *, when: int) -> str:
    """A new commit on production, made at `when`."""
    tree = git(repo, "rev-parse", "production^{tree}").strip()
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Hot Fixer", "GIT_AUTHOR_EMAIL": "h@example.com",
        "GIT_COMMITTER_NAME": "Hot Fixer", "GIT_COMMITTER_EMAIL": "h@example.com",
        "GIT_AUTHOR_DATE": f"@{when} +0000", "GIT_COMMITTER_DATE": f"@{when} +0000",
    }  # fmt: skip
    commit = subprocess.run(
        ["git", "-C", str(repo), "commit-tree", tree, "-p", "production", "-m", "hotfix: again"],
        env=env, capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    git(repo, "update-ref", "refs/heads/production", commit)
    return commit


def test_report_shows_the_keys_of_a_branchs_deployments(
    cli: Cli, repos: dict[str, Path], store: Path
) -> None:
    path = repos["deploy-branch"]
    assert (
        cli("git", path, "--deployments-from", "branch:production", "--store", store).exit_code == 0
    )
    result = cli("report", "--store", store, "--since", "2020-01-01", "--json")
    assert result.exit_code == 0, result.output
    keys = json.loads(result.stdout)["systems"]["deploy-branch"]
    assert keys["deployment_frequency"]["deployments"] == 3
    assert keys["lead_time"]["changes"] == 12
    assert keys["lead_time"]["median_seconds"] is not None


def test_a_branch_of_a_url_is_the_remotes_branch_in_the_cached_clone(
    cli: Cli, repos: dict[str, Path], server: IngestionServer, store: Path, tmp_path: Path
) -> None:
    path = repos["deploy-branch"]
    line = git(path, "log", "--first-parent", "--reverse", "--format=%H", "production").split()

    result = cli(
        "git", f"file://{path}", "--deployments-from", "branch:production",
        "--cache-dir", tmp_path / "cache", "--api-key", API_KEY,
        "--base-url", server.base_url, "--store", store,
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    sent = [b["deploy_id"] for b in server.accepted_bodies() if b["$type"] == "deployment"]
    assert sent == line[1:]  # the first is the baseline
