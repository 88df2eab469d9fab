"""GitHub's REST API (github.com, or GitHub Enterprise Server's /api/v3): a repository's
deployments of an environment, a workflow's runs, its releases, its issues with a label."""

from __future__ import annotations

import os
from collections.abc import Callable, Container, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import quote, urlsplit

from pulse_backfill.dates import rfc3339
from pulse_backfill.documents.deployments import ExportedDeployment
from pulse_backfill.documents.tables import parse_time
from pulse_backfill.errors import FetchError, UsageError
from pulse_backfill.platforms.client import Api, Platform, Token
from pulse_backfill.platforms.rows import (
    AnswerError,
    Issue,
    github_deployment,
    github_issue,
    github_release,
    github_run,
    github_success_time,
)

GITHUB_URL = "https://github.com"
PAGE = 100
# GitHub gives at most this many runs for a filtered query, whatever its total_count says.
RUNS_LIMIT = 1000
# How far before the last deployment a re-sync looks again: a deployment created that long
# before may succeed after it.
LOOKBACK = 24 * 3600
GITHUB_EPOCH = 1_199_145_600  # 2008-01-01: before GitHub, so before any of its runs


def platform(url: str, token: Token | None) -> Platform:
    """GitHub at `url`: github.com's API, or a GitHub Enterprise Server's (HOST/api/v3)."""
    parts = urlsplit(url)
    if parts.hostname in ("github.com", "api.github.com"):
        api = "https://api.github.com"
    elif parts.path.strip("/"):
        api = url.rstrip("/")  # an API's own root, as given
    else:
        api = url.rstrip("/") + "/api/v3"
    return Platform(
        name="GitHub",
        api=api,
        url_option="--github-url",
        token=token,
        token_header=("Authorization", "Bearer {}"),
        token_hint="set GITHUB_TOKEN (or GH_TOKEN), or pass --github-token-file",  # noqa: S106 (how to give one)
        headers={"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"},
    )


def _repository(api: Api, repo: str) -> Callable[[], UsageError]:
    return lambda: api.not_found(f"repository {repo}")


def _items(answer_data: Any, what: str) -> list[Any]:
    if not isinstance(answer_data, list):
        raise FetchError(f"GitHub answered unexpectedly for {what}: not a list")
    return answer_data


def deployments(
    api: Api,
    repo: str,
    environment: str,
    *,
    after: int | None,
    known: Container[str] = frozenset(),
    workers: int = 16,
) -> list[ExportedDeployment]:
    """The deployments of `environment` that succeeded, each at its first success: one request
    for each one's statuses, `workers` at once. With `after` (a re-sync), only those created
    since a day before it and not `known` (ids a sync already has) are asked about."""
    what = f"the deployments of {repo}"
    listed: list[Any] = []
    params: dict[str, str | int] = {"environment": environment, "per_page": PAGE}
    for answer in api.pages(f"repos/{repo}/deployments", params, what=what,
                            missing=_repository(api, repo)):  # fmt: skip
        page = _items(answer.data, what)
        listed.extend(page)
        if after is not None and page and _created(page[-1]) < after - LOOKBACK:
            break  # newest first: the rest were asked about before
    if after is not None:
        listed = [
            item
            for item in listed
            if _created(item) >= after - LOOKBACK and str(item.get("id")) not in known
        ]

    def success(item: Any) -> int | None:
        identifier = str(item.get("id"))
        statuses: list[Any] = []
        for answer in api.pages(
            f"repos/{repo}/deployments/{identifier}/statuses",
            {"per_page": PAGE},
            what=f"the statuses of deployment {identifier} of {repo}",
        ):
            statuses.extend(_items(answer.data, "a deployment's statuses"))
        return github_success_time(statuses, identifier)

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="statuses") as pool:
        times = list(pool.map(success, listed))
    return [
        github_deployment(item, time, "GitHub")
        for item, time in zip(listed, times, strict=True)
        if time is not None
    ]


def _created(item: Any) -> int:
    return parse_time(item.get("created_at"), "a deployment's created_at")


def default_branch(api: Api, repo: str) -> str:
    answer = api.get(f"repos/{repo}", what=f"repository {repo}", missing=_repository(api, repo))
    branch = answer.data.get("default_branch") if isinstance(answer.data, dict) else None
    if not isinstance(branch, str) or not branch:
        raise FetchError(f"GitHub did not say the default branch of {repo}: name it as @BRANCH")
    return branch


def workflow_runs(
    api: Api, repo: str, workflow: str, branch: str | None, *, after: int | None, now: int
) -> list[ExportedDeployment]:
    """The successful runs of `workflow` (a file name, `deploy.yml`) on `branch` (default: the
    repository's default branch). A filtered query gives at most 1,000 runs, so the dates the
    runs were created on are split until each range holds no more."""
    branch = branch or default_branch(api, repo)
    path = f"repos/{repo}/actions/workflows/{quote(workflow, safe='')}/runs"
    rows: dict[str, ExportedDeployment] = {}
    start = GITHUB_EPOCH if after is None else after - LOOKBACK
    for answer in _runs(api, repo, workflow, path, branch, start, None, now):
        runs = answer.data.get("workflow_runs") if isinstance(answer.data, dict) else None
        if not isinstance(runs, list):
            raise FetchError(f"GitHub answered unexpectedly for the runs of {workflow}")
        for run in runs:
            row = github_run(run, "GitHub")
            if row is not None:
                rows[row.identifier] = row
    return list(rows.values())


def _runs(
    api: Api,
    repo: str,
    workflow: str,
    path: str,
    branch: str,
    start: int,
    end: int | None,
    now: int,
) -> Iterator[Any]:
    """The pages of runs created from `start` to `end` (None: from `start` on, a query whose
    address stays the same from one re-sync to the next, so that it costs a 304)."""
    what = f"the runs of workflow {workflow} of {repo}"
    created = f">={rfc3339(start)}" if end is None else f"{rfc3339(start)}..{rfc3339(end)}"
    params: dict[str, str | int] = {
        "branch": branch,
        "status": "success",
        "per_page": PAGE,
        "created": created,
    }
    first = api.get(path, params, what=what, missing=lambda: _no_workflow(api, repo, workflow))
    total = first.data.get("total_count") if isinstance(first.data, dict) else None
    last = now if end is None else end
    if isinstance(total, int) and total > RUNS_LIMIT and last > start:
        middle = start + (last - start) // 2
        yield from _runs(api, repo, workflow, path, branch, start, middle, now)
        yield from _runs(api, repo, workflow, path, branch, middle + 1, end, now)
        return
    yield first
    following = first.next
    while following is not None:
        answer = api.get_url(following, what=what)
        yield answer
        following = answer.next


def _no_workflow(api: Api, repo: str, workflow: str) -> UsageError:
    """A workflow that is not there, naming those that are (or the repository that is not)."""
    names: list[str] = []
    for answer in api.pages(
        f"repos/{repo}/actions/workflows",
        {"per_page": PAGE},
        what=f"the workflows of {repo}",
        missing=_repository(api, repo),
    ):
        found = answer.data.get("workflows") if isinstance(answer.data, dict) else None
        names += [os.path.basename(str(w.get("path", ""))) for w in found or []]
    there = ", ".join(sorted(n for n in names if n)) or "none"
    return UsageError(
        f"github:actions: {repo} has no workflow {workflow!r}: name one of its workflow files "
        f"({there})"
    )


def releases(
    api: Api, repo: str, *, include_prereleases: bool, after: int | None
) -> list[ExportedDeployment]:
    """Published releases that are no drafts, each at its tag and `published_at`."""
    what = f"the releases of {repo}"
    rows: list[ExportedDeployment] = []
    for answer in api.pages(f"repos/{repo}/releases", {"per_page": PAGE}, what=what,
                            missing=_repository(api, repo)):  # fmt: skip
        page = _items(answer.data, what)
        for item in page:
            row = github_release(item, include_prereleases=include_prereleases, where="GitHub")
            if row is not None:
                rows.append(row)
        if after is not None and page and _created(page[-1]) < after - LOOKBACK:
            break  # newest first
    return rows


def issues(api: Api, repo: str, label: str, *, after: int | None) -> list[Issue]:
    """Issues (not pull requests) with `label`, open and closed; with `after`, those updated
    since (an issue closed since the last run is updated then)."""
    what = f"the issues of {repo}"
    params: dict[str, str | int] = {
        "labels": label,
        "state": "all",
        "sort": "created",
        "direction": "asc",
        "per_page": PAGE,
    }
    if after is not None:
        params["since"] = rfc3339(after)
    found: list[Issue] = []
    for answer in api.pages(f"repos/{repo}/issues", params, what=what,
                            missing=_repository(api, repo)):  # fmt: skip
        for item in _items(answer.data, what):
            try:
                issue = github_issue(item)
            except AnswerError as error:
                raise FetchError(f"GitHub answered unexpectedly for {what}: {error}") from None
            if issue is not None:
                found.append(issue)
    return found
