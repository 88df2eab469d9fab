"""Which platform to ask, as whom, and what a source's deployments are there: the settings the
command line builds (addresses, repository names, tokens, the cache of answers), and the one
call that turns a `github:`/`gitlab:` source into a CD export's rows."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Container
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from pulse_backfill.derive.sources import PlatformSource
from pulse_backfill.documents.deployments import ExportedDeployment
from pulse_backfill.documents.tables import TableError
from pulse_backfill.errors import FetchError, UsageError
from pulse_backfill.platforms import github, gitlab
from pulse_backfill.platforms.cache import AnswerCache
from pulse_backfill.platforms.client import Api, Token
from pulse_backfill.platforms.rows import Issue
from pulse_backfill.urls import SCP_LIKE

CACHE_FILE = "answers.sqlite3"
_NAMES = {"github": "GitHub", "gitlab": "GitLab"}


def _to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


@dataclass(frozen=True, kw_only=True)
class PlatformAccess:
    github_url: str = github.GITHUB_URL
    github_repo: str | None = None  # OWNER/NAME; None: from the clone's origin
    github_token: Token | None = None
    gitlab_url: str = gitlab.GITLAB_URL
    gitlab_project: str | None = None  # GROUP/.../NAME; None: from the clone's origin
    gitlab_token: Token | None = None
    cache_dir: Path | None = None  # where the answers and their ETags are kept; None: nowhere
    budget: float = 120.0  # seconds the waits on rate limits may take, all told
    timeout: float = 30.0
    workers: int = 16  # requests in flight at once (a deployment's statuses each)
    say: Callable[[str], None] = field(default=_to_stderr, compare=False)

    def api(self, platform: str) -> Api:
        if platform == "github":
            described = github.platform(self.github_url, self.github_token)
        else:
            described = gitlab.platform(self.gitlab_url, self.gitlab_token)
        cache = None if self.cache_dir is None else AnswerCache(self.cache_dir / CACHE_FILE)
        return Api(
            described,
            cache=cache,
            budget=self.budget,
            timeout=self.timeout,
            say=self.say,
            connections=self.workers,
        )

    def repository(self, platform: str, origin: str | None, label: str) -> str:
        """OWNER/NAME (GitHub) or the project's path (GitLab): as given, else from `origin`,
        the clone's remote URL."""
        given = self.github_repo if platform == "github" else self.gitlab_project
        option = "--github-repo" if platform == "github" else "--gitlab-project"
        if given is not None:
            if not re.fullmatch(r"[^/\s]+(/[^/\s]+)+", given.strip("/")) or (
                platform == "github" and given.strip("/").count("/") != 1
            ):
                form = "OWNER/NAME" if platform == "github" else "GROUP/NAME"
                raise UsageError(f"{option} {given!r} is not {form}: pass it as {form}")
            return given.strip("/")
        path = None if origin is None else path_of(origin)
        if not path or (platform == "github" and path.count("/") != 1):
            where = "no remote 'origin'" if origin is None else f"origin {origin}"
            raise UsageError(
                f"{label} has {where}, which names no {_NAMES[platform]} repository: pass {option}"
            )
        return path


def path_of(url: str) -> str | None:
    """A remote URL's repository path, OWNER/NAME or GROUP/SUB/NAME, without `.git`."""
    match = SCP_LIKE.match(url)
    if match:
        path = match["path"]
    elif "://" in url:
        path = unquote(urlsplit(url).path)
    else:
        return None
    path = path.strip("/").removesuffix(".git").strip("/")
    return path if "/" in path else None


def deployment_rows(
    access: PlatformAccess,
    source: PlatformSource,
    repository: str,
    *,
    after: int | None,
    known: Container[str] = frozenset(),
    now: int,
) -> list[ExportedDeployment]:
    """The rows `source` gives, as a CD export's: its successful deployments, each an id, a
    commit (an id or a tag) and a time. `after`: the time of the last deployment a sync knew,
    for a re-sync to ask only for what is newer; `known`: the ids it knew (which it may leave
    out)."""
    with access.api(source.platform) as api:
        try:
            match (source.platform, source.kind):
                case ("github", "deployments"):
                    return github.deployments(
                        api,
                        repository,
                        source.environment,
                        after=after,
                        known=known,
                        workers=access.workers,
                    )
                case ("github", "actions"):
                    return github.workflow_runs(
                        api, repository, source.workflow, source.branch, after=after, now=now
                    )
                case ("github", "releases"):
                    return github.releases(
                        api,
                        repository,
                        include_prereleases=source.include_prereleases,
                        after=after,
                    )
                case _:
                    return gitlab.deployments(api, repository, source.environment, after=after)
        except TableError as error:
            raise FetchError(f"{api.platform.name} answered unexpectedly: {error}") from None


# How far before the last listing a re-sync asks again: clocks differ, and an issue updated
# while the last listing was read may have been left out of it.
RELISTED = 300


def incidents(
    access: PlatformAccess, platform: str, repository: str, *, label: str, now: int
) -> list[Issue]:
    """Every incident of the repository, open and closed. The cache keeps what the last run
    listed, so a re-sync asks only for the issues updated since (closed ones included), and
    merges them in: a run that could not deliver leaves nothing behind for the next."""
    with access.api(platform) as api:
        key = json.dumps([api.platform.api, repository, label, api.viewer])
        kept = None if api.cache is None else api.cache.listing(key)
        known: dict[str, Issue] = {}
        after = None
        if kept is not None:
            document = json.loads(kept)
            after = int(document["asked"]) - RELISTED
            known = {i: Issue(i, int(c), None if r is None else int(r))
                     for i, c, r in document["issues"]}  # fmt: skip
        try:
            if platform == "github":
                found = github.issues(api, repository, label, after=after)
            else:
                found = gitlab.incidents(api, repository, after=after)
        except TableError as error:
            raise FetchError(f"{api.platform.name} answered unexpectedly: {error}") from None
        known.update((issue.identifier, issue) for issue in found)
        issues = list(known.values())
        if api.cache is not None:
            listed = [[i.identifier, i.created, i.resolved] for i in issues]
            api.cache.keep_listing(key, json.dumps({"asked": now, "issues": listed}))
        return issues
