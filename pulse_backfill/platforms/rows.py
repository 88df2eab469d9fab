"""What GitHub's and GitLab's answers say: deployments as the rows a CD export gives (an id, a
commit, a time), and issues as incidents. Pure: the parsed JSON comes in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pulse_backfill.documents.deployments import ExportedDeployment
from pulse_backfill.documents.tables import TableError, parse_time


class AnswerError(TableError):
    """An answer that is not what the API's documentation promises."""


@dataclass(frozen=True)
class Issue:
    """An issue that is an incident: opened at `created`, resolved when it was closed."""

    identifier: str
    created: int  # epoch seconds
    resolved: int | None  # None while it is open


def _field(item: Any, name: str, what: str) -> Any:
    if not isinstance(item, Mapping) or item.get(name) in (None, ""):
        raise AnswerError(f"{what} without {name!r}")
    return item[name]


def _time(item: Mapping[str, Any], name: str, what: str) -> int:
    return parse_time(_field(item, name, what), f"{what}: {name}")


def github_success_time(statuses: Sequence[Any], deployment: str) -> int | None:
    """When a GitHub deployment succeeded: its first `success` status's `created_at` (GitHub
    lists statuses newest first); None when it never did. A later `failure`, `error` or
    `inactive` (superseded) does not undo a deployment that reached the environment."""
    what = f"deployment {deployment}: a status"
    times = [
        _time(s, "created_at", what) for s in statuses if _field(s, "state", what) == "success"
    ]
    return min(times) if times else None


def github_deployment(item: Any, success: int, where: str) -> ExportedDeployment:
    """A GitHub deployment that succeeded at `success`: its id, its commit (`sha`)."""
    identifier = str(_field(item, "id", "a deployment"))
    commit = str(_field(item, "sha", f"deployment {identifier}"))
    return ExportedDeployment(identifier, commit, success, where)


def github_run(item: Any, where: str) -> ExportedDeployment | None:
    """A workflow run that succeeded, at the time it completed (its `updated_at`: a finished
    run is not updated again); None for one that did not succeed."""
    identifier = str(_field(item, "id", "a workflow run"))
    what = f"workflow run {identifier}"
    if item.get("status") != "completed" or item.get("conclusion") != "success":
        return None
    commit = str(_field(item, "head_sha", what))
    return ExportedDeployment(identifier, commit, _time(item, "updated_at", what), where)


def github_release(
    item: Any, *, include_prereleases: bool, where: str
) -> ExportedDeployment | None:
    """A published release that is no draft (a prerelease only when asked), at its tag and its
    `published_at`; its id is its tag's name."""
    tag = str(_field(item, "tag_name", "a release"))
    if item.get("draft") or item.get("published_at") is None:
        return None
    if item.get("prerelease") and not include_prereleases:
        return None
    return ExportedDeployment(tag, tag, _time(item, "published_at", f"release {tag}"), where)


def gitlab_deployment(item: Any, where: str) -> ExportedDeployment | None:
    """A GitLab deployment that succeeded, at its `finished_at` (its `updated_at` where that is
    missing, as older GitLab versions answer); its id is its `iid`, as the project numbers
    them."""
    identifier = str(_field(item, "iid", "a deployment"))
    what = f"deployment {identifier}"
    if item.get("status") != "success":
        return None
    name = "finished_at" if item.get("finished_at") else "updated_at"
    commit = str(_field(item, "sha", what))
    return ExportedDeployment(identifier, commit, _time(item, name, what), where)


def github_issue(item: Any) -> Issue | None:
    """An issue (not a pull request, which GitHub's issues list too): opened at `created_at`,
    resolved at `closed_at`."""
    number = str(_field(item, "number", "an issue"))
    if "pull_request" in item:
        return None
    return _issue(item, number, f"issue #{number}")


def gitlab_issue(item: Any) -> Issue:
    number = str(_field(item, "iid", "an issue"))
    return _issue(item, number, f"issue #{number}")


def _issue(item: Mapping[str, Any], number: str, what: str) -> Issue:
    created = _time(item, "created_at", what)
    closed = item.get("closed_at") if item.get("state") == "closed" else None
    resolved = None if closed is None else parse_time(closed, f"{what}: closed_at")
    return Issue(number, created, resolved)
