"""Where a repository's deployments come from (`--deployments-from`): its release tags, a deploy
branch's first-parent line, a CD system's export of its deployments, or a hosted platform's
record of them (GitHub's deployments, workflow runs or releases; GitLab's deployments). Each
gives the one derivation the same thing: deployments in order, each an identifier, a commit and
a time.

Pure: what the sources are and how they are named; reading them is `commands.sources`.
"""

from __future__ import annotations

from dataclasses import dataclass

from pulse_backfill.derive.releases import TagRules
from pulse_backfill.errors import UsageError
from pulse_backfill.urls import shown_location

FORMS = (
    "tags, branch:NAME, file:PATH, github:deployments[:ENVIRONMENT], "
    "github:actions:WORKFLOW[@BRANCH], github:releases or gitlab:deployments[:ENVIRONMENT]"
)
DEFAULT_ENVIRONMENT = "production"


@dataclass(frozen=True, kw_only=True)
class ExportFields:
    """Which columns or keys of a deployments export hold what."""

    identifier: str = "id"
    commit: str = "commit"  # any commit-ish: a full or short id, a tag, a branch
    time: str = "time"
    # A row with a status counts only when it is this one (failed attempts do not).
    status: str = "status"
    success: str = "success"


@dataclass(frozen=True)
class TagSource:
    rules: TagRules

    def __str__(self) -> str:
        return "tags"


@dataclass(frozen=True)
class BranchSource:
    name: str  # a branch, or any ref

    def __str__(self) -> str:
        return f"branch:{self.name}"


@dataclass(frozen=True)
class FileSource:
    location: str  # a path or an http(s) URL
    fields: ExportFields = ExportFields()

    def __str__(self) -> str:
        return f"file:{shown_location(self.location)}"  # no credentials or signed query


@dataclass(frozen=True, kw_only=True)
class PlatformSource:
    """A hosted platform's record of deployments: `github:deployments[:ENVIRONMENT]`,
    `github:actions:WORKFLOW[@BRANCH]`, `github:releases`, `gitlab:deployments[:ENVIRONMENT]`."""

    platform: str  # "github" or "gitlab"
    kind: str  # "deployments", "actions" or "releases"
    environment: str = DEFAULT_ENVIRONMENT  # deployments
    workflow: str = ""  # actions: the workflow's file name (deploy.yml)
    branch: str | None = None  # actions: None for the repository's default branch
    include_prereleases: bool = False  # releases

    def __str__(self) -> str:
        if self.kind == "deployments":
            return f"{self.platform}:deployments:{self.environment}"
        if self.kind == "actions":
            return f"github:actions:{self.workflow}" + (f"@{self.branch}" if self.branch else "")
        return f"{self.platform}:{self.kind}"


DeploymentSource = TagSource | BranchSource | FileSource | PlatformSource


def parse_source(
    text: str, *, rules: TagRules, fields: ExportFields, option: str = "--deployments-from"
) -> DeploymentSource:
    """The source `text` names: tags, branch:NAME or file:PATH (or URL)."""
    kind, _, name = text.partition(":")
    if text == "tags":
        return TagSource(rules)
    if kind == "branch" and name:
        return BranchSource(name)
    if kind == "file" and name:
        return FileSource(name, fields)
    if kind in ("github", "gitlab"):
        platform = _platform_source(kind, name, rules)
        if platform is not None:
            return platform
    raise UsageError(f"{option} {text!r} is not a source of deployments: pass {FORMS}")


def _platform_source(platform: str, name: str, rules: TagRules) -> PlatformSource | None:
    what, _, rest = name.partition(":")
    if what == "deployments" and (rest or ":" not in name):
        return PlatformSource(platform=platform, kind=what, environment=rest or DEFAULT_ENVIRONMENT)
    if platform != "github":
        return None
    if what == "releases" and not rest and ":" not in name:
        return PlatformSource(
            platform=platform, kind=what, include_prereleases=rules.include_prereleases
        )
    workflow, at, branch = rest.partition("@")
    if what == "actions" and workflow and (branch or not at):
        return PlatformSource(
            platform=platform, kind=what, workflow=workflow, branch=branch or None
        )
    return None
