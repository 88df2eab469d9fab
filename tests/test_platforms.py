"""Deployments and incidents from GitHub and GitLab, served by a loopback API written from
their documentation (fixtures/platform_api.py): each source's events agree exactly with the
same rows given as a CD export; pages, rate limits, tokens, ETags and 304s."""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import pytest

from fixtures.fast_import import CommitSpec, build
from fixtures.platform_api import ApiThread, GitHubRepo, GitLabProject, Limit, PlatformApi, iso
from pulse_backfill.documents.tables import parse_time, rows
from pulse_backfill.platforms.limits import UNSAID_WAIT, next_link, rate_limit_wait
from tests.conftest import Cli

TOKEN = "ghp_SECRET_token_0123456789abcdef"
GITLAB_TOKEN = "glpat-SECRET-0123456789"
NOW = 1_700_000_000.0


@pytest.fixture(scope="module")
def _api_thread() -> Iterator[PlatformApi]:
    with ApiThread(PlatformApi()) as api:
        yield api


@pytest.fixture
def api(_api_thread: PlatformApi) -> Iterator[PlatformApi]:
    _api_thread.reset()
    yield _api_thread
    _api_thread.reset()


def full(repo: Path, name: str) -> str:
    found = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "--verify", "--quiet", f"{name}^{{commit}}"],
        capture_output=True,
        text=True,
    )
    return found.stdout.strip() or name


def export_rows(repos: dict[str, Path]) -> list[tuple[str, int, bool]]:
    """The deploy-branch fixture's CD export: (commit, time, succeeded) a row."""
    path = repos["deploy-branch"]
    text = path.with_name("deploy-branch-deployments.csv").read_text()
    return [
        (full(path, row["commit"]), parse_time(row["time"], where), row["status"] == "success")
        for where, row in rows(text, csv_hint=True)
    ]


def write_export(path: Path, lines: list[tuple[str, str, int]]) -> Path:
    """A CD export of (id, commit, time) rows, all successful."""
    path.write_text("id,commit,time\n" + "".join(f"{i},{c},{t}\n" for i, c, t in lines))
    return path


def dry(cli: Cli, *args: object, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return cli("git", *args, "--dry-run", "--output", "-", env=env)


def run_platform(
    cli: Cli,
    tmp_path: Path,
    repo: Path,
    source: str,
    *more: object,
    env: dict[str, str] | None = None,
):  # type: ignore[no-untyped-def]
    return dry(
        cli, repo, "--deployments-from", source, "--cache-dir", tmp_path / "cache", *more, env=env
    )


# -- when to wait: one case per way the platforms say it


@pytest.mark.parametrize(
    ("status", "headers", "wait"),
    [
        (200, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW) + 50)}, None),
        (403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW) + 50)}, 50.0),
        (429, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(NOW) + 7)}, 7.0),
        (403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW) - 5)}, 0.0),
        (403, {"retry-after": "30"}, 30.0),  # GitHub's secondary limit
        (403, {"x-ratelimit-remaining": "12"}, None),  # a refusal, not a limit
        (403, {}, None),
        (403, {"x-ratelimit-remaining": "0"}, UNSAID_WAIT),
        (429, {"RateLimit-Reset": str(int(NOW) + 20), "RateLimit-Remaining": "0"}, 20.0),
        (429, {"Retry-After": "3"}, 3.0),
        (429, {"Retry-After": "Tue, 14 Nov 2023 22:14:00 GMT"}, 1_700_000_040.0 - NOW),
        (429, {}, UNSAID_WAIT),
        (503, {"retry-after": "3"}, None),
    ],
)
def test_rate_limit_waits(status: int, headers: dict[str, str], wait: float | None) -> None:
    assert rate_limit_wait(status, headers, NOW) == wait


@pytest.mark.parametrize(
    ("link", "following"),
    [
        (None, None),
        (
            '<https://api.github.com/x?page=2>; rel="next", <https://api.github.com/x?page=5>; '
            'rel="last"',
            "https://api.github.com/x?page=2",
        ),
        ('<https://h/x?page=1>; rel="first", <https://h/x?page=3>; rel="prev"', None),
        (
            '<https://h/x?page=4>; rel="prev", <https://h/x?page=6>; rel="next"',
            "https://h/x?page=6",
        ),
    ],
)
def test_next_link(link: str | None, following: str | None) -> None:
    assert next_link(link) == following


# -- each source agrees exactly with the same rows as a CD export


def test_github_deployments_agree_with_the_export(
    cli: Cli, api: PlatformApi, repos: dict[str, Path], tmp_path: Path
) -> None:
    path = repos["deploy-branch"]
    repo = api.github["octo/shop"] = GitHubRepo()
    successes = []
    for commit, at, succeeded in export_rows(repos):
        states = [("in_progress", at - 60), ("success" if succeeded else "failure", at)]
        if succeeded and commit == export_rows(repos)[0][0]:
            states.append(("inactive", at + 3600))  # superseded later: still deployed at `at`
        number = repo.deploy(commit, at - 120, states)
        if succeeded:
            successes.append((str(number), commit, at))
    repo.deploy(
        export_rows(repos)[-1][0],
        1_603_000_000,
        [("success", 1_603_000_100)],
        environment="staging",
    )
    api.github_token = TOKEN
    env = {"GITHUB_TOKEN": TOKEN}
    through_api = run_platform(
        cli,
        tmp_path,
        path,
        "github:deployments",
        "--github-repo",
        "octo/shop",
        "--github-url",
        api.github_url,
        env=env,
    )
    export = write_export(tmp_path / "export.csv", successes)
    through_file = dry(cli, path, "--deployments-from", f"file:{export}")
    assert through_api.exit_code == through_file.exit_code == 0, through_api.stderr
    assert through_api.stdout == through_file.stdout
    assert [json.loads(line).get("deploy_id") for line in through_api.stdout.splitlines()] == [
        None,
        "1003",
        None,
        None,
        None,
        "1006",
    ]
    assert TOKEN not in through_api.stdout + through_api.stderr
    # Every deployment of production listed, then each one's statuses (at once).
    asked = [seen.path.split("?")[0] for seen in api.seen]
    assert asked[0] == "/api/v3/repos/octo/shop/deployments"
    assert sorted(asked[1:]) == [
        f"/api/v3/repos/octo/shop/deployments/{n}/statuses" for n in range(1001, 1007)
    ]


def test_github_actions_agree_with_the_export(
    cli: Cli, api: PlatformApi, repos: dict[str, Path], tmp_path: Path
) -> None:
    path = repos["deploy-branch"]
    repo = api.github["octo/shop"] = GitHubRepo(default_branch="production")
    successes = []
    for commit, at, succeeded in export_rows(repos):
        number = repo.run(
            "deploy.yml",
            commit,
            at - 300,
            at,
            branch="production",
            conclusion="success" if succeeded else "failure",
        )
        if succeeded:
            successes.append((str(number), commit, at))
    repo.run("deploy.yml", export_rows(repos)[0][0], 1_603_000_000, 1_603_000_100, branch="main")
    repo.run("test.yml", export_rows(repos)[0][0], 1_603_000_000, 1_603_000_100)
    through_api = run_platform(
        cli,
        tmp_path,
        path,
        "github:actions:deploy.yml",
        "--github-repo",
        "octo/shop",
        "--github-url",
        api.github_url,
    )
    export = write_export(tmp_path / "export.csv", successes)
    through_file = dry(cli, path, "--deployments-from", f"file:{export}")
    assert through_api.exit_code == 0, through_api.stderr
    assert through_api.stdout == through_file.stdout != ""
    # The default branch asked once; then the runs, successful ones, on it.
    assert api.seen[0].path == "/api/v3/repos/octo/shop"
    assert "branch=production&status=success" in api.seen[1].path


def test_github_releases_agree_with_the_export(
    cli: Cli, api: PlatformApi, repos: dict[str, Path], tmp_path: Path
) -> None:
    path = repos["linear"]
    repo = api.github["octo/lib"] = GitHubRepo()
    published = {
        "v1.0.0": 1_601_000_000,
        "1.1.0-rc.1": 1_601_050_000,
        "v1.1.0": 1_601_100_000,
        "v1.2.0": 1_601_200_000,
    }
    for tag, at in published.items():
        repo.release(tag, at, prerelease="-rc" in tag)
    repo.release("v3.0.0", None, draft=True, created=1_601_300_000)
    for prereleases in ([], ["--include-prereleases"]):
        through_api = run_platform(
            cli,
            tmp_path,
            path,
            "github:releases",
            "--github-repo",
            "octo/lib",
            "--github-url",
            api.github_url,
            *prereleases,
        )
        kept = [(t, t, at) for t, at in published.items() if prereleases or "-rc" not in t]
        export = write_export(tmp_path / "export.csv", kept)
        through_file = dry(cli, path, "--deployments-from", f"file:{export}")
        assert through_api.exit_code == 0, through_api.stderr
        assert through_api.stdout == through_file.stdout != ""
        ids = [json.loads(line).get("deploy_id") for line in through_api.stdout.splitlines()]
        assert [i for i in ids if i] == (
            ["1.1.0-rc.1", "v1.1.0", "v1.2.0"] if prereleases else ["v1.1.0", "v1.2.0"]
        )


def test_gitlab_deployments_agree_with_the_export(
    cli: Cli, api: PlatformApi, repos: dict[str, Path], tmp_path: Path
) -> None:
    path = repos["deploy-branch"]
    project = api.gitlab["acme/web/shop"] = GitLabProject()
    successes = []
    for n, (commit, at, succeeded) in enumerate(export_rows(repos)):
        status = "success" if succeeded else "failed"
        if n == 2:  # an older GitLab: no finished_at, the time in updated_at
            project.deploy(commit, at - 300, status, None, updated=at)
        else:
            project.deploy(commit, at - 300, status, at)
        if succeeded:
            successes.append((str(n + 1), commit, at))
    project.deploy(
        export_rows(repos)[0][0], 1_603_000_000, "success", 1_603_000_100, environment="staging"
    )
    api.gitlab_token = GITLAB_TOKEN
    through_api = run_platform(
        cli,
        tmp_path,
        path,
        "gitlab:deployments",
        "--gitlab-project",
        "acme/web/shop",
        "--gitlab-url",
        api.gitlab_url,
        env={"GITLAB_TOKEN": GITLAB_TOKEN},
    )
    export = write_export(tmp_path / "export.csv", successes)
    through_file = dry(cli, path, "--deployments-from", f"file:{export}")
    assert through_api.exit_code == 0, through_api.stderr
    assert through_api.stdout == through_file.stdout != ""
    assert api.seen[0].path.startswith("/api/v4/projects/acme%2Fweb%2Fshop/deployments?")


def test_the_repository_comes_from_the_clones_origin(
    cli: Cli, api: PlatformApi, repos: dict[str, Path], tmp_path: Path
) -> None:
    clone = tmp_path / "shop"
    subprocess.run(
        ["git", "clone", "--quiet", "--mirror", str(repos["deploy-branch"]), str(clone)], check=True
    )
    subprocess.run(
        [
            "git",
            "-C",
            str(clone),
            "remote",
            "set-url",
            "origin",
            "git@github.example.com:octo/shop.git",
        ],
        check=True,
    )
    repo = api.github["octo/shop"] = GitHubRepo()
    commit, at, _ = export_rows(repos)[0]
    repo.deploy(commit, at, [("success", at)])
    result = run_platform(
        cli, tmp_path, clone, "github:deployments", "--github-url", api.github_url
    )
    assert result.exit_code == 0, result.stderr
    assert api.seen[0].path.startswith("/api/v3/repos/octo/shop/deployments?")
    subprocess.run(["git", "-C", str(clone), "remote", "remove", "origin"], check=True)
    result = run_platform(
        cli, tmp_path, clone, "github:deployments", "--github-url", api.github_url
    )
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == (
        f"Error: {clone} has no remote 'origin', which names no GitHub repository: pass "
        "--github-repo"
    )


# -- more than GitHub gives at once, and its limits


def test_more_than_a_thousand_runs(cli: Cli, api: PlatformApi, tmp_path: Path) -> None:
    path = tmp_path / "big.git"
    base = 1_600_000_000
    commits = build(
        path,
        [CommitSpec((i - 1,) if i else (), base + i * 60, base + i * 60) for i in range(400)],
        [],
    )
    repo = api.github["octo/big"] = GitHubRepo()
    lines = []
    for n in range(2500):
        at = base + 30_000 + n * 3600
        number = repo.run("deploy.yml", commits[min(399, n * 400 // 2500)], at - 600, at)
        lines.append((str(number), commits[min(399, n * 400 // 2500)], at))
    result = run_platform(
        cli,
        tmp_path,
        path,
        "github:actions:deploy.yml",
        "--github-repo",
        "octo/big",
        "--github-url",
        api.github_url,
        "--include-first",
    )
    export = write_export(tmp_path / "export.csv", lines)
    through_file = dry(cli, path, "--deployments-from", f"file:{export}", "--include-first")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == through_file.stdout
    ids = {json.loads(line).get("deploy_id") for line in result.stdout.splitlines()} - {None}
    assert len(ids) == 400  # a deployment for each commit that first reached production
    ranges = {re.search(r"created=([^&]+)", s.path)[1] for s in api.seen if "created=" in s.path}  # type: ignore[index]
    assert len(ranges) >= 3  # split until no range holds more than 1,000 runs
    # No page beyond what GitHub serves was asked for.
    assert all(seen.status == 200 for seen in api.seen)


@pytest.mark.parametrize(
    ("kind", "said"),
    [
        ("github", "GitHub's rate limit is reached"),
        ("github-429", "GitHub's rate limit is reached"),
        ("github-secondary", "GitHub's rate limit is reached"),
    ],
)
def test_a_rate_limit_in_the_middle_of_pages(
    cli: Cli, api: PlatformApi, repos: dict[str, Path], tmp_path: Path, kind: str, said: str
) -> None:
    path = repos["deploy-branch"]
    repo = api.github["octo/shop"] = GitHubRepo()
    commit, at, _ = export_rows(repos)[0]
    for n in range(250):  # three pages of deployments
        repo.deploy(commit, at + n, [("success", at + n)])
    api.limits.append(Limit(kind, wait=1, path_part="/deployments?", skip=1))
    result = run_platform(
        cli,
        tmp_path,
        path,
        "github:deployments",
        "--github-repo",
        "octo/shop",
        "--github-url",
        api.github_url,
    )
    assert result.exit_code == 0, result.stderr
    waits = [line for line in result.stderr.splitlines() if "rate limit" in line]
    assert len(waits) == 1
    assert re.fullmatch(
        rf"warning: {said}: waiting [12] s, until \d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\dZ", waits[0]
    ), waits[0]
    listing = [s for s in api.seen if s.path.split("?")[0].endswith("/deployments")]
    assert [s.status for s in listing] == [200, 429 if kind == "github-429" else 403, 200, 200]
    assert listing[1].path == listing[2].path  # the same page, asked again
    assert len([s for s in api.seen if s.path.endswith("statuses?per_page=100")]) == 250


@pytest.mark.parametrize("kind", ["gitlab", "gitlab-retry-after"])
def test_gitlab_rate_limit(
    cli: Cli, api: PlatformApi, repos: dict[str, Path], tmp_path: Path, kind: str
) -> None:
    project = api.gitlab["acme/shop"] = GitLabProject()
    commit, at, _ = export_rows(repos)[0]
    for n in range(150):
        project.deploy(commit, at + n, "success", at + n)
    api.limits.append(Limit(kind, wait=1, path_part="/deployments", skip=1))
    result = run_platform(
        cli,
        tmp_path,
        repos["deploy-branch"],
        "gitlab:deployments",
        "--gitlab-project",
        "acme/shop",
        "--gitlab-url",
        api.gitlab_url,
    )
    assert result.exit_code == 0, result.stderr
    assert api.statuses() == [200, 429, 200]
    assert "warning: GitLab's rate limit is reached: waiting" in result.stderr


def test_a_rate_limit_beyond_the_time_budget(
    cli: Cli, api: PlatformApi, repos: dict[str, Path], tmp_path: Path
) -> None:
    repo = api.github["octo/shop"] = GitHubRepo()
    commit, at, _ = export_rows(repos)[0]
    repo.deploy(commit, at, [("success", at)])
    api.limits.append(Limit("github", wait=3600))
    result = run_platform(
        cli,
        tmp_path,
        repos["deploy-branch"],
        "github:deployments",
        "--github-repo",
        "octo/shop",
        "--github-url",
        api.github_url,
        "--retry-max-time",
        "10",
    )
    assert result.exit_code == 1
    assert re.fullmatch(
        r"Error: GitHub's rate limit is reached: it asks to wait until \S+Z, beyond the run's "
        r"time budget \(--retry-max-time 10 s\): run again then",
        result.stderr.splitlines()[-1],
    ), result.stderr


# -- tokens


def test_a_rejected_token_names_where_it_came_from(
    cli: Cli, api: PlatformApi, repos: dict[str, Path], tmp_path: Path
) -> None:
    api.github["octo/shop"] = GitHubRepo()
    api.github_token = TOKEN
    wrong = "ghp_WRONG_token_fedcba9876543210"
    token_file = tmp_path / "token"
    token_file.write_text(wrong + "\n")
    args = [
        repos["deploy-branch"],
        "github:deployments",
        "--github-repo",
        "octo/shop",
        "--github-url",
        api.github_url,
    ]
    for env, more, source in [
        ({"GITHUB_TOKEN": wrong}, [], "GITHUB_TOKEN"),
        ({"GH_TOKEN": wrong, "GITHUB_TOKEN": TOKEN}, [], "GH_TOKEN"),
        (
            {"GITHUB_TOKEN": TOKEN},
            ["--github-token-file", token_file],
            f"--github-token-file {token_file}",
        ),
    ]:
        result = run_platform(cli, tmp_path, *args, *more, env=env)
        assert result.exit_code == 2
        assert result.stderr.splitlines() == [
            f"Error: GitHub rejected the token from {source} (401): check it, or renew it"
        ]
    result = run_platform(cli, tmp_path, *args)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "Error: GitHub asks for a token to read the deployments of octo/shop (401): set "
        "GITHUB_TOKEN (or GH_TOKEN), or pass --github-token-file"
    ]
    api.gitlab["acme/shop"] = GitLabProject()
    api.gitlab_token = GITLAB_TOKEN
    result = run_platform(
        cli,
        tmp_path,
        repos["deploy-branch"],
        "gitlab:deployments",
        "--gitlab-project",
        "acme/shop",
        "--gitlab-url",
        api.gitlab_url,
        env={"GITLAB_TOKEN": "glpat-wrong"},
    )
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "Error: GitLab rejected the token from GITLAB_TOKEN (401): check it, or renew it"
    ]


@pytest.mark.parametrize(
    ("env", "more", "line"),
    [
        (
            {"GITHUB_TOKEN": ""},
            [],
            "GITHUB_TOKEN is set but empty: set it to a token, or unset it to ask without one",
        ),
        (
            {"GH_TOKEN": " "},
            [],
            "GH_TOKEN is set but empty: set it to a token, or unset it to ask without one",
        ),
        (
            {},
            ["--github-token-file", "EMPTY"],
            "--github-token-file EMPTY is empty: write the token in it",
        ),
    ],
)
def test_an_empty_token_is_a_mistake(
    cli: Cli,
    repos: dict[str, Path],
    tmp_path: Path,
    env: dict[str, str],
    more: list[str],
    line: str,
) -> None:
    empty = tmp_path / "empty"
    empty.write_text("\n")
    more = [str(empty) if m == "EMPTY" else m for m in more]
    result = run_platform(
        cli, tmp_path, repos["deploy-branch"], "github:deployments", *more, env=env
    )
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [f"Error: {line.replace('EMPTY', str(empty))}"]


def test_a_token_is_not_sent_in_the_clear(cli: Cli, repos: dict[str, Path], tmp_path: Path) -> None:
    result = run_platform(
        cli,
        tmp_path,
        repos["deploy-branch"],
        "github:deployments",
        "--github-repo",
        "o/n",
        "--github-url",
        "http://github.example.com",
        env={"GITHUB_TOKEN": TOKEN},
    )
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "Error: --github-url http://github.example.com/api/v3 is plain http://: the token would "
        "travel unencrypted; pass its https:// address"
    ]


def test_an_empty_token_of_a_platform_not_asked_is_no_mistake(
    cli: Cli, repos: dict[str, Path], tmp_path: Path
) -> None:
    result = dry(
        cli,
        repos["deploy-branch"],
        "--deployments-from",
        "branch:production",
        env={"GITHUB_TOKEN": "", "GITLAB_TOKEN": ""},
    )
    assert result.exit_code == 0, result.stderr


def test_platform_options_belong_to_platform_sources(
    cli: Cli, repos: dict[str, Path], tmp_path: Path
) -> None:
    path = repos["deploy-branch"]
    result = dry(cli, path, "--deployments-from", "branch:production", "--github-repo", "o/n")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "Error: --github-repo belongs to --deployments-from github:..., not branch:production: "
        "leave it out"
    ]
    # What a GitHub Actions job always sets is no mistake.
    result = dry(
        cli,
        path,
        "--deployments-from",
        "branch:production",
        env={"GITHUB_SERVER_URL": "https://github.com"},
    )
    assert result.exit_code == 0, result.stderr


def test_missing_repository_and_workflow(
    cli: Cli, api: PlatformApi, repos: dict[str, Path], tmp_path: Path
) -> None:
    repo = api.github["octo/shop"] = GitHubRepo()
    repo.run("deploy.yml", "0" * 40, 1_600_000_000, 1_600_000_100)
    repo.run("ci.yml", "0" * 40, 1_600_000_000, 1_600_000_100)
    path = repos["deploy-branch"]
    result = run_platform(
        cli,
        tmp_path,
        path,
        "github:deployments",
        "--github-repo",
        "octo/gone",
        "--github-url",
        api.github_url,
        env={"GITHUB_TOKEN": TOKEN},
    )
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "Error: GitHub has no repository octo/gone, or the token from GITHUB_TOKEN cannot see it "
        "(404): check the name and the token's access"
    ]
    result = run_platform(
        cli,
        tmp_path,
        path,
        "github:actions:release.yml",
        "--github-repo",
        "octo/shop",
        "--github-url",
        api.github_url,
    )
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "Error: github:actions: octo/shop has no workflow 'release.yml': name one of its "
        "workflow files (ci.yml, deploy.yml)"
    ]
    result = run_platform(
        cli,
        tmp_path,
        path,
        "gitlab:deployments",
        "--gitlab-project",
        "acme/gone",
        "--gitlab-url",
        api.gitlab_url,
    )
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "Error: GitLab has no project acme/gone, or an anonymous request cannot see it (404): "
        "check the name and the token's access"
    ]


@pytest.mark.parametrize(
    "source",
    [
        "github:",
        "github:deploys",
        "github:actions",
        "github:actions:",
        "github:actions:a.yml@",
        "github:releases:x",
        "gitlab:releases",
        "gitlab:actions:deploy.yml",
    ],
)
def test_sources_that_are_not(cli: Cli, repos: dict[str, Path], source: str) -> None:
    result = dry(cli, repos["deploy-branch"], "--deployments-from", source)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"Error: --deployments-from {source!r} is not a source of deployments: pass tags, "
        "branch:NAME, file:PATH, github:deployments[:ENVIRONMENT], "
        "github:actions:WORKFLOW[@BRANCH], github:releases or gitlab:deployments[:ENVIRONMENT]"
    ]


# -- a re-sync


def test_a_resync_with_nothing_new_costs_only_304s(
    cli: Cli, api: PlatformApi, repos: dict[str, Path], tmp_path: Path, store: Path
) -> None:
    path = repos["deploy-branch"]
    repo = api.github["octo/shop"] = GitHubRepo()
    for commit, at, succeeded in export_rows(repos):
        repo.deploy(commit, at - 120, [("success" if succeeded else "error", at)])
    api.github_token = TOKEN
    args = [
        path,
        "--deployments-from",
        "github:deployments",
        "--github-repo",
        "octo/shop",
        "--github-url",
        api.github_url,
        "--cache-dir",
        tmp_path / "cache",
        "--store",
        store,
        "--json",
    ]
    first = cli("git", *args, env={"GITHUB_TOKEN": TOKEN})
    assert first.exit_code == 0, first.stderr
    assert api.statuses() == [200] * 7
    api.seen.clear()
    used = api.quota_used
    second = cli("git", *args, env={"GITHUB_TOKEN": TOKEN})
    assert second.exit_code == 0, second.stderr
    assert json.loads(second.stdout)["repositories"][0]["sync"] == "up to date"
    # The deployments' page, and the statuses of the one not known (built from a fork) of the
    # last day before the last deployment: both unchanged.
    assert api.statuses() == [304, 304]
    assert api.quota_used == used
    # A new deployment: its page and its statuses change, and only it is derived.
    commit = full(path, "production")
    repo.deploy(commit, 1_603_100_000, [("success", 1_603_100_100)])
    api.seen.clear()
    third = cli("git", *args, env={"GITHUB_TOKEN": TOKEN})
    assert third.exit_code == 0, third.stderr
    summary = json.loads(third.stdout)["repositories"][0]
    assert summary["sync"] == "incremental"
    assert sorted(api.statuses()) == [200, 200, 304]
    cached = (tmp_path / "cache" / "api-answers" / "answers.sqlite3").read_bytes()
    assert TOKEN.encode() not in cached
    assert TOKEN.encode() not in store.read_bytes()


# -- incidents


def test_github_issues_as_incidents(
    cli: Cli, api: PlatformApi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = api.github["octo/shop"] = GitHubRepo()
    base = 1_600_000_000
    repo.issue(1, base, base + 3600, ["incident"])
    repo.issue(2, base + 100, None, ["incident", "sev1"])  # open: kept as unresolved
    repo.issue(3, base + 200, base + 300, ["bug"])
    repo.issue(4, base + 400, base + 500, ["incident"], pull_request=True)
    for n in range(5, 130):  # two pages
        repo.issue(n, base + n * 1000, base + n * 1000 + 60, ["incident"])
    api.github_token = TOKEN
    monkeypatch.chdir(tmp_path)
    result = cli(
        "incidents",
        "github",
        "--label",
        "incident",
        "--github-repo",
        "octo/shop",
        "--github-url",
        api.github_url,
        "--cache-dir",
        tmp_path / "cache",
        "--dry-run",
        "--output",
        "-",
        "--system",
        "shop",
        env={"GITHUB_TOKEN": TOKEN},
    )
    assert result.exit_code == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert events[0] == {
        "source": "github",
        "incident_id": "1",
        "time_created": iso(base),
        "time_resolved": iso(base + 3600),
        "$type": "incident",
        "system": "shop",
    }
    assert [e["incident_id"] for e in events] == ["1", *map(str, range(5, 130))]
    assert (
        "127 incidents from GitHub octo/shop: 126 resolved to send, 1 unresolved" in result.stderr
    )
    assert TOKEN not in result.stdout + result.stderr
    # Later: the open one was closed. A re-sync asks only for issues updated since the last
    # listing (less five minutes), and still gives them all.
    now = int(time.time())
    repo.issues[1].update(state="closed", closed_at=iso(now), updated_at=iso(now))
    api.seen.clear()
    again = cli(
        "incidents",
        "github",
        "--github-repo",
        "octo/shop",
        "--github-url",
        api.github_url,
        "--cache-dir",
        tmp_path / "cache",
        "--dry-run",
        "--output",
        "-",
        env={"GITHUB_TOKEN": TOKEN},
    )
    assert again.exit_code == 0, again.stderr
    (asked,) = api.seen
    since = re.search(r"[?&]since=([^&]+)", asked.path)
    assert since is not None
    assert now - 300 - 5 <= parse_time(unquote(since[1]), "since") <= now - 300
    assert [json.loads(line)["incident_id"] for line in again.stdout.splitlines()] == [
        "1",
        "2",
        *map(str, range(5, 130)),
    ]


def test_gitlab_incidents(
    cli: Cli, api: PlatformApi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = api.gitlab["acme/shop"] = GitLabProject()
    base = 1_600_000_000
    project.issue(1, base, base + 600)
    project.issue(2, base + 100, None)
    project.issue(3, base + 200, base + 300, kind="issue")
    # The working folder's origin names the project.
    subprocess.run(["git", "init", "--quiet", str(tmp_path / "work")], check=True)
    subprocess.run(
        [
            "git",
            "-C",
            str(tmp_path / "work"),
            "remote",
            "add",
            "origin",
            "https://gitlab.example.com/acme/shop.git",
        ],
        check=True,
    )
    monkeypatch.chdir(tmp_path / "work")
    result = cli(
        "incidents",
        "gitlab",
        "--gitlab-url",
        api.gitlab_url,
        "--cache-dir",
        tmp_path / "cache",
        "--dry-run",
        "--output",
        "-",
    )
    assert result.exit_code == 0, result.stderr
    assert [json.loads(line)["incident_id"] for line in result.stdout.splitlines()] == ["1"]
    assert "2 incidents from GitLab acme/shop: 1 resolved to send, 1 unresolved" in result.stderr
