"""A repository's deployments, from the source `--deployments-from` names, in order: what the
one derivation takes (`derive.sources`)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from pulse_backfill.derive.history import DeployedCommit, TagRef
from pulse_backfill.derive.releases import TagRules, tag_deployments
from pulse_backfill.derive.sources import (
    BranchSource,
    DeploymentSource,
    ExportFields,
    FileSource,
    PlatformSource,
    TagSource,
    parse_source,
)
from pulse_backfill.documents.deployments import ExportedDeployment, parse_export
from pulse_backfill.documents.fetch import read_document
from pulse_backfill.documents.tables import TableError
from pulse_backfill.errors import RepositoryError, UsageError
from pulse_backfill.git.manifest import RepoSpec
from pulse_backfill.git.repository import Repository
from pulse_backfill.platforms.access import PlatformAccess, deployment_rows


def source_of(
    spec: RepoSpec, *, deployments_from: str, rules: TagRules, fields: ExportFields
) -> DeploymentSource:
    """One repository's source: a --repos line's own --deployments-from, else the run's; a
    line's --tag-prefix applies to release tags only."""
    where = f"{spec.where}: " if spec.where else ""
    option = f"{where}--deployments-from"
    if spec.tag_prefix is not None:
        rules = replace(rules, prefix=spec.tag_prefix, pattern=None)
    source = parse_source(
        spec.deployments_from or deployments_from, rules=rules, fields=fields, option=option
    )
    if spec.tag_prefix is not None and not isinstance(source, TagSource):
        raise UsageError(
            f"{where}--tag-prefix belongs to --deployments-from tags, not {source}: leave it out"
        )
    return source


@dataclass
class FoundDeployments:
    deployed: list[DeployedCommit]
    warnings: list[str] = field(default_factory=list)
    tags: list[TagRef] = field(default_factory=list)  # with tags: all of them, for the hint
    # With tags and no release among them: the branch to suggest deploying from.
    default_branch: str | None = None


def find_deployments(
    repository: Repository,
    source: DeploymentSource,
    *,
    known: Sequence[DeployedCommit] = (),
    timeout: float,
    platform: PlatformAccess | None = None,
) -> FoundDeployments:
    """Every deployment of `source`, in deployment order. `known`: what the last sync found,
    so a deploy branch's line is listed from there on, and a platform is asked only for what
    is newer. `platform`: how to ask GitHub or GitLab."""
    match source:
        case TagSource(rules):
            tags, warnings = repository.read_tags()
            deployed, skipped = tag_deployments(tags, rules)
            found = FoundDeployments(deployed, warnings + skipped, tags)
            if not deployed:
                found.default_branch = repository.default_branch()
            return found
        case BranchSource():
            tip = _branch_tip(repository, source)
            after = known[-1].commit if known else None
            line, whole = repository.first_parent_line(tip, after=after)
            deployed = [DeployedCommit(commit, commit, time) for commit, time in line]
            return FoundDeployments(deployed if whole else [*known, *deployed])
        case FileSource():
            return _exported(repository, source, timeout)
        case PlatformSource():
            return _from_platform(repository, source, platform or PlatformAccess(), known)


def _branch_tip(repository: Repository, source: BranchSource) -> str:
    try:
        return repository.resolve(source.name, f"--deployments-from {source}")
    except RepositoryError:
        branches = ", ".join(repository.branches()[:10]) or "none"
        raise UsageError(
            f"--deployments-from {source}: {repository.label} has no branch or ref "
            f"{source.name!r}: name one of its branches ({branches})"
        ) from None


def _exported(repository: Repository, source: FileSource, timeout: float) -> FoundDeployments:
    location = source.location
    text, csv_hint = read_document(location, "the deployments export", timeout=timeout)
    try:
        rows = parse_export(text, source.fields, csv_hint=csv_hint)
    except TableError as error:
        raise UsageError(f"--deployments-from {source}: {error}") from None
    return _deployed(repository, rows)


def _from_platform(
    repository: Repository,
    source: PlatformSource,
    access: PlatformAccess,
    known: Sequence[DeployedCommit],
) -> FoundDeployments:
    """A platform's deployments, as a CD export's rows. In a re-sync, only those the platform
    gives since the last known one are asked for, and added to the known ones: the sync point
    holds them exactly as a whole listing gives them."""
    name = access.repository(source.platform, repository.remote_url(), repository.label)
    after = known[-1].time if known else None
    ids = {d.id for d in known}
    rows = deployment_rows(access, source, name, after=after, known=ids, now=int(time.time()))
    if not known:
        return _deployed(repository, rows)
    found = _deployed(repository, [row for row in rows if row.identifier not in ids])
    found.deployed = sorted([*known, *found.deployed], key=lambda d: (d.time, d.id))
    return found


def _deployed(repository: Repository, rows: Sequence[ExportedDeployment]) -> FoundDeployments:
    """The rows' deployments in deployment order (time, then id); a row whose commit is not in
    the repository is skipped with a warning."""
    found = FoundDeployments([])
    for row, commit in zip(rows, repository.commits_named([r.commit for r in rows]), strict=True):
        if commit is None:
            found.warnings.append(
                f"deployment {row.identifier} ({row.where}): {row.commit} is no commit of "
                f"{repository.label} (force-pushed away, or built from a fork?): skipped"
            )
        else:
            found.deployed.append(DeployedCommit(row.identifier, commit, row.time))
    found.deployed.sort(key=lambda d: (d.time, d.id))
    return found
