"""A `git` run's settings, and what it reports of each repository: shared by the run
(`backfill`) and its two steps per repository (`collect`)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, Protocol

from pulse_backfill.commands.sending import SendSettings
from pulse_backfill.commands.sources import source_of
from pulse_backfill.commands.sync import SyncMode
from pulse_backfill.derive.derivation import Derivation, DerivationOptions, Status
from pulse_backfill.derive.failures import Failure, FailureRules, parse_rules
from pulse_backfill.derive.releases import TagRules
from pulse_backfill.derive.sources import DeploymentSource, ExportFields
from pulse_backfill.errors import PulseBackfillError, UsageError
from pulse_backfill.git.manifest import RepoSpec, Shard
from pulse_backfill.git.remote import (
    DEFAULT_GIT_TIMEOUT,
    default_cache_dir,
    is_remote,
    repository_name,
)
from pulse_backfill.git.repository import Repository
from pulse_backfill.platforms.access import PlatformAccess
from pulse_backfill.pulse.events import EventKind
from pulse_backfill.urls import shown_location


@dataclass(frozen=True, kw_only=True)
class GitBackfillSettings(SendSettings):
    """Everything a run needs; the CLI builds it, the core never reads argv or the environment."""

    repositories: tuple[RepoSpec, ...]
    deployments_from: str = "tags"  # a --repos line may name its own
    infer_failures: str = ""  # failure rules, as --infer-failures names them; a line may too
    tag_rules: TagRules = field(default_factory=TagRules)
    export_fields: ExportFields = field(default_factory=ExportFields)
    derivation: DerivationOptions = field(default_factory=DerivationOptions)
    paths: tuple[str, ...] = ()  # only commits touching these are changes (--path)
    system: str | None = None  # None: each repository's name
    teams: tuple[str, ...] = ()
    cache_dir: Path = field(default_factory=default_cache_dir)
    git_timeout: float = DEFAULT_GIT_TIMEOUT  # seconds a clone or fetch may make no progress
    jobs: int = 4  # repositories fetched and derived at once
    shard: Shard | None = None  # only the repositories of this shard
    platform: PlatformAccess = field(default_factory=PlatformAccess)  # GitHub's, GitLab's
    # Each local repository's default system, once git was asked (see `default_system`).
    _systems: dict[str, str | None] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def source_of(self, spec: RepoSpec) -> DeploymentSource:
        return source_of(
            spec,
            deployments_from=self.deployments_from,
            rules=self.tag_rules,
            fields=self.export_fields,
        )

    def check_systems(self) -> None:
        """Two repositories that would become one system without being told to are a mistake:
        bare clones each named `repo` would send two histories as one. One system given to
        several on purpose (one product, several repositories) is not."""
        named: dict[str, RepoSpec] = {}
        for spec in {replace(spec, where=None): spec for spec in self.repositories}.values():
            system, chosen = self.system if spec.system is None else spec.system, True
            if system is None:
                system, chosen = self.default_system(spec.location), False
            if system is None:
                continue  # a repository that cannot be read: its run says so
            first = named.setdefault(system, spec)
            given = self.system if first.system is None else first.system
            if first is not spec and not (chosen and given is not None):
                raise UsageError(
                    f"{_named(first)} and {_named(spec)} would both be system {system!r}: "
                    "give each its own with --system on a --repos line"
                )

    def default_system(self, location: str) -> str | None:
        """`default_system`, asked of git once in a run: the check of the systems and the
        progress display both name each repository before it is opened."""
        if location not in self._systems:
            self._systems[location] = default_system(location)
        return self._systems[location]

    def rules_of(self, spec: RepoSpec) -> FailureRules:
        """One repository's failure rules: a --repos line's own, else the run's."""
        if spec.infer_failures is None:
            return parse_rules(self.infer_failures)
        return parse_rules(spec.infer_failures, option=f"{spec.where}: --infer-failures")


def default_system(location: str) -> str | None:
    """A repository's system when none is given: the remote's name for a URL, the folder's for
    a local repository (without `.git`); None for one that cannot be read."""
    if is_remote(location):
        return repository_name(location)
    try:
        return Repository(Path(location)).name
    except PulseBackfillError:
        return None


def _named(spec: RepoSpec) -> str:
    return shown_location(spec.location) + (f" ({spec.where})" if spec.where else "")


# What a repository of a run is being put through: cloned or fetched (a URL), derived, derived
# and waiting its turn with the run's one writer, recorded in the store, sent to the target.
Phase = Literal["cloning", "fetching", "deriving", "waiting", "recording", "sending"]


class PhaseListener(Protocol):
    def repository_phase(
        self, report: RepoReport, phase: Phase, done: int | None = None, total: int | None = None
    ) -> None:
        """`report`'s repository is in `phase`, `done` of `total` through it when they are
        known: deriving, the commits read so far (no total); waiting, the events derived (a
        total); recording, the events (a total); sending, the events sent of all to send.
        Called by the thread doing it (a worker for cloning, fetching and deriving, and when it
        is done; the run's writer for recording and sending), when the phase starts and as it
        goes."""


@dataclass
class RepoReport:
    """What one repository gave: its derivation, or why it failed."""

    location: str  # a path, or a URL without credentials
    # How a person tells it from the run's others: its system (its name by default), or its
    # location when another repository of the run has the same.
    name: str = ""
    system: str | None = None
    sync: SyncMode | None = None
    derivation: Derivation = field(default_factory=lambda: Derivation(()))
    counts: dict[EventKind, int] = field(default_factory=dict)  # events derived by this run
    source: str = "tags"  # where its deployments came from, as --deployments-from names it
    tag_rules: TagRules | None = None  # with tags: which are releases
    rules: str = ""  # the failure rules applied, as --infer-failures names them
    failures: list[Failure] = field(default_factory=list)  # found by this run
    tag_names: list[str] = field(default_factory=list)
    default_branch: str | None = None  # a branch to suggest deploying from
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    origin: str | None = None  # its key in the store

    def derived(self, kind: EventKind) -> int:
        return self.counts.get(kind, 0)

    def to_json(self) -> dict[str, Any]:
        return {
            "repository": self.location,
            "system": self.system,
            "sync": None if self.sync is None else str(self.sync),
            "deployments_from": self.source,
            "deployments": {
                "derived": self.derived("deployment"),
                "skipped_empty": self.derivation.count(Status.EMPTY),
                "baselines": self.derivation.count(Status.BASELINE),
            },
            "changes": {"derived": self.derived("change")},
            "infer_failures": self.rules or None,
            "failures": [failure.to_json() for failure in self.failures],
            "error": self.error,
        }
