"""Where a repository's deployments come from (`--deployments-from`): its release tags, a deploy
branch's first-parent line, or a CD system's export of its deployments. Each gives the one
derivation the same thing: deployments in order, each an identifier, a commit and a time.

Pure: what the sources are and how they are named; reading them is `commands.sources`.
"""

from __future__ import annotations

from dataclasses import dataclass

from pulse_backfill.derive.releases import TagRules
from pulse_backfill.errors import UsageError
from pulse_backfill.urls import shown_location

FORMS = "tags, branch:NAME or file:PATH"


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


DeploymentSource = TagSource | BranchSource | FileSource


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
    raise UsageError(f"{option} {text!r} is not a source of deployments: pass {FORMS}")
