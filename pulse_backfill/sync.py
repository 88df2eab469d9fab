"""A repository's deployments, derived whole, or only those added since the last sync.

A sync point is the ordered list of deployments a run derived. When the deployments a later run
finds start with exactly that list, only the new ones are derived, from a history read limited
to `NEW --not KNOWN`: a nightly re-sync costs what is new, not what the repository holds.
Anything else (a tag moved, deleted, or dated between known ones) derives the whole history.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from pulse_backfill.derive import (
    Deployment,
    Derivation,
    DerivationOptions,
    Release,
    derive,
    derive_log,
    order_releases,
    select_releases,
)
from pulse_backfill.errors import UsageError
from pulse_backfill.gitrepo import Repository
from pulse_backfill.gitwalk import has_clock_skew
from pulse_backfill.history import TagRef


class SyncMode(StrEnum):
    FULL = "full"
    INCREMENTAL = "incremental"
    UP_TO_DATE = "up to date"


@dataclass(frozen=True)
class SyncPoint:
    """The deployments a run derived, in order, as (tag, commit, time)."""

    releases: tuple[tuple[str, str, int], ...]
    # Whether the history had commits dated before a parent: then git's answer for what is
    # new depends on the old history too, and is asked of git one new deployment at a time.
    skewed: bool = False

    @classmethod
    def of(cls, timed: Sequence[tuple[Release, int]], *, skewed: bool) -> SyncPoint:
        releases = tuple((release.tag.name, release.commit, time) for release, time in timed)
        return cls(releases, skewed)

    def to_json(self) -> str:
        return json.dumps({"releases": [list(r) for r in self.releases], "skewed": self.skewed})

    @classmethod
    def from_json(cls, text: str) -> SyncPoint:
        data = json.loads(text)
        releases = tuple(
            (str(tag), str(commit), int(time)) for tag, commit, time in data["releases"]
        )
        return cls(releases, bool(data["skewed"]))


@dataclass(frozen=True)
class RepositoryDerivation:
    # Every deployment when the run derived the whole history; the new ones otherwise.
    derivation: Derivation
    tags: list[TagRef]
    warnings: list[str]
    point: SyncPoint
    mode: SyncMode


def derive_repository(
    repository: Repository,
    options: DerivationOptions,
    *,
    paths: Sequence[str] = (),
    previous: SyncPoint | None = None,
    on_deployment: Callable[[Deployment], object] | None = None,
) -> RepositoryDerivation:
    """The repository's deployments; only those after `previous` when the history allows.

    A whole history's deployments are shown to `on_deployment` as git streams (`derive_log`).
    """
    tags, warnings = repository.read_tags()
    if not tags and not repository.has_commits():
        raise UsageError(f"{repository.path} has no commits yet: nothing to backfill")
    releases, skipped = select_releases(tags, options.rules)
    timed = order_releases(releases, options)
    warnings += skipped
    known = previous.releases if previous is not None else ()
    now = SyncPoint.of(timed, skewed=False).releases
    if previous is None or not known or now[: len(known)] != known:
        derivation = _derive_whole(repository, timed, options, paths, on_deployment)
        point = SyncPoint.of(timed, skewed=derivation.skewed)
        warnings += derivation.warnings
        return RepositoryDerivation(derivation, tags, warnings, point, SyncMode.FULL)
    appended = timed[len(known) :]
    if not appended:
        return RepositoryDerivation(Derivation(()), tags, warnings, previous, SyncMode.UP_TO_DATE)
    derivation = _derive_appended(
        repository, appended, options, paths, [c for _, c, _ in known], previous.skewed
    )
    point = SyncPoint.of(timed, skewed=derivation.skewed)
    return RepositoryDerivation(derivation, tags, warnings, point, SyncMode.INCREMENTAL)


def _derive_whole(
    repository: Repository,
    timed: Sequence[tuple[Release, int]],
    options: DerivationOptions,
    paths: Sequence[str],
    on_deployment: Callable[[Deployment], object] | None,
) -> Derivation:
    tips = [release.commit for release, _ in timed]
    touching = repository.touching(tips, paths) if paths else None
    with repository.history_log(tips) as log:
        return derive_log(timed, log, options, touching=touching, on_deployment=on_deployment)


def _derive_appended(
    repository: Repository,
    appended: Sequence[tuple[Release, int]],
    options: DerivationOptions,
    paths: Sequence[str],
    known_commits: list[str],
    known_skewed: bool,
) -> Derivation:
    tips = [release.commit for release, _ in appended]
    graph = repository.read_history(tips, exclude=known_commits)
    if not known_skewed and not has_clock_skew(graph):
        touching = repository.touching(tips, paths, exclude=known_commits) if paths else None
        return derive(appended, graph, options, earlier=len(known_commits), touching=touching)
    # Under clock skew git's `NEW --not EARLIER` depends on the whole history: ask git for each
    # new deployment in turn, earlier ones in deployment order as on its command line.
    deployments: list[Deployment] = []
    for position, (release, time) in enumerate(appended):
        earlier = known_commits + tips[:position]
        if len(appended) > 1:
            graph = repository.read_history([release.commit], exclude=earlier)
        touching = repository.touching([release.commit], paths, exclude=earlier) if paths else None
        part = derive(
            [(release, time)],
            graph,
            options,
            earlier=len(earlier),
            touching=touching,
            exact_read=True,
        )
        deployments.extend(part.deployments)
    return Derivation(tuple(deployments), skewed=True)
