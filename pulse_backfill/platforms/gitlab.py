"""GitLab's REST API (gitlab.com, or a self-managed GitLab's /api/v4): a project's
deployments of an environment, and its incidents (issues of type incident)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlsplit

from pulse_backfill.dates import rfc3339
from pulse_backfill.documents.deployments import ExportedDeployment
from pulse_backfill.errors import FetchError
from pulse_backfill.platforms.client import Api, Platform, Token
from pulse_backfill.platforms.rows import AnswerError, Issue, gitlab_deployment, gitlab_issue

GITLAB_URL = "https://gitlab.com"
PAGE = 100
LOOKBACK = 24 * 3600  # as GitHub's: a deployment that started a day before may finish after


def platform(url: str, token: Token | None) -> Platform:
    """GitLab at `url` (its address; its API is under /api/v4)."""
    api = url.rstrip("/")
    if not urlsplit(api).path.rstrip("/").endswith("/api/v4"):
        api += "/api/v4"
    return Platform(
        name="GitLab",
        api=api,
        url_option="--gitlab-url",
        token=token,
        token_header=("PRIVATE-TOKEN", "{}"),
        token_hint="set GITLAB_TOKEN, or pass --gitlab-token-file",  # noqa: S106 (how to give one)
    )


def _items(data: Any, what: str) -> list[Any]:
    if not isinstance(data, list):
        raise FetchError(f"GitLab answered unexpectedly for {what}: not a list")
    return data


def _project(project: str) -> str:
    return f"projects/{quote(project, safe='')}"


def deployments(
    api: Api, project: str, environment: str, *, after: int | None
) -> list[ExportedDeployment]:
    """The successful deployments of `environment`; with `after`, those that finished since a
    day before it."""
    what = f"the deployments of {project}"
    params: dict[str, str | int] = {
        "environment": environment,
        "status": "success",
        "per_page": PAGE,
        "order_by": "id",
        "sort": "asc",
    }
    if after is not None:
        # GitLab takes finished_after with order_by=finished_at and status=success only.
        params.update(order_by="finished_at", finished_after=rfc3339(after - LOOKBACK))
    rows: list[ExportedDeployment] = []
    for answer in api.pages(f"{_project(project)}/deployments", params, what=what,
                            missing=lambda: api.not_found(f"project {project}")):  # fmt: skip
        for item in _items(answer.data, what):
            try:
                row = gitlab_deployment(item, "GitLab")
            except AnswerError as error:
                raise FetchError(f"GitLab answered unexpectedly for {what}: {error}") from None
            if row is not None:
                rows.append(row)
    return rows


def incidents(api: Api, project: str, *, after: int | None) -> list[Issue]:
    """The project's issues of type incident, open and closed; with `after`, those updated
    since."""
    what = f"the incidents of {project}"
    params: dict[str, str | int] = {
        "issue_type": "incident",
        "scope": "all",
        "state": "all",
        "order_by": "created_at",
        "sort": "asc",
        "per_page": PAGE,
    }
    if after is not None:
        params["updated_after"] = rfc3339(after)
    found: list[Issue] = []
    for answer in api.pages(f"{_project(project)}/issues", params, what=what,
                            missing=lambda: api.not_found(f"project {project}")):  # fmt: skip
        for item in _items(answer.data, what):
            try:
                found.append(gitlab_issue(item))
            except AnswerError as error:
                raise FetchError(f"GitLab answered unexpectedly for {what}: {error}") from None
    return found
