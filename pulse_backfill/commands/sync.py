"""A repository's deployments, derived whole, or only those added since the last sync.

A sync point is the ordered list of deployments a run derived; the store also keeps every commit
they reached. When the deployments a later run finds start with exactly that list, only the new
ones are derived: from git's `NEW --not KNOWN`, less the commits known to be reached (under clock
skew git lists some of those too), through the same derivation as a whole history. A nightly
re-sync costs what is new, not what the repository holds. Anything else (a deployment moved,
deleted, or dated between known ones) derives the whole history.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Container, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from enum import StrEnum
from itertools import chain, islice
from typing import Protocol

from pulse_backfill.commands.sources import FoundDeployments, find_deployments
from pulse_backfill.derive.derivation import (
    ChangeTime,
    Derivation,
    DerivationOptions,
    Status,
    before_until,
    derive,
    is_baseline,
)
from pulse_backfill.derive.failures import (
    NO_RULES,
    DeploymentLine,
    Failure,
    FailureRules,
    find_failures,
    rollback_candidates,
)
from pulse_backfill.derive.history import DeployedCommit
from pulse_backfill.derive.reach import Reach
from pulse_backfill.derive.sources import DeploymentSource
from pulse_backfill.errors import UsageError
from pulse_backfill.git.repository import Repository
from pulse_backfill.platforms.access import PlatformAccess


class SyncMode(StrEnum):
    FULL = "full"
    INCREMENTAL = "incremental"
    UP_TO_DATE = "up to date"


@dataclass(frozen=True)
class SyncPoint:
    """The deployments a run derived, in order."""

    deployments: tuple[DeployedCommit, ...]

    def to_json(self) -> str:
        return json.dumps({"deployments": [list(d) for d in self.deployments]})

    @classmethod
    def from_json(cls, text: str) -> SyncPoint:
        return cls(
            tuple(
                DeployedCommit(str(identifier), str(commit), int(time))
                for identifier, commit, time in json.loads(text)["deployments"]
            )
        )


@dataclass(frozen=True)
class RepositoryDerivation:
    # Every deployment when the run derived the whole history; the new ones otherwise.
    derivation: Derivation
    found: FoundDeployments  # what the source gave, warnings and hints included
    point: SyncPoint
    mode: SyncMode
    # The commits (hex ids) the deployments derived reach and no earlier one does.
    reached: list[str] = field(default_factory=list)
    # With failure rules: each change's deployment, by position in `point`; and the failures
    # the new deployments reveal (all of them, for a whole history).
    shipped: dict[str, int] | None = None
    failures: list[Failure] = field(default_factory=list)


def derive_repository(
    repository: Repository,
    source: DeploymentSource,
    options: DerivationOptions,
    *,
    paths: Sequence[str] = (),
    previous: SyncPoint | None = None,
    reached_before: Callable[[], Container[str]] = frozenset,
    on_read: Callable[[int], object] | None = None,
    timeout: float = 30.0,
    rules: FailureRules = NO_RULES,
    store: FailuresBefore | None = None,
    platform: PlatformAccess | None = None,
) -> RepositoryDerivation:
    """The repository's deployments; only those after `previous` when the history allows.

    `reached_before` gives the commits (hex ids) the deployments of `previous` reach; it is
    asked only when there are new deployments to derive. `on_read` is told how many commits
    of git's log were read so far, every few thousand. `timeout`: for a deployments export at
    a URL. `rules`: the failures to look for; in a re-sync, `store` says what the earlier syncs
    found. `platform`: how to ask GitHub or GitLab, for their sources.
    """
    known = previous.deployments if previous is not None else ()
    found = find_deployments(repository, source, known=known, timeout=timeout, platform=platform)
    if not found.deployed and not found.tags and not repository.has_commits():
        raise UsageError(f"{repository.path} has no commits yet: nothing to backfill")
    deployed = before_until(found.deployed, options)
    point = SyncPoint(tuple(deployed))
    before: Container[str] = frozenset()
    if known and point.deployments[: len(known)] == known:
        if len(deployed) == len(known):
            return RepositoryDerivation(Derivation(()), found, point, SyncMode.UP_TO_DATE)
        # Without what the known deployments reach, what is new cannot be told exactly.
        before = reached_before()
    first_new = len(known) if before else 0
    # The new commits' messages, read by git on the other core while this one derives.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="messages") as aside:
        messages = (
            aside.submit(_messages, repository, rules, deployed, first_new) if rules else None
        )
        derivation, reached = _derive(
            repository,
            deployed[first_new:],
            options,
            paths,
            deployed[:first_new],
            before,
            on_read,
        )
        mode = SyncMode.INCREMENTAL if first_new else SyncMode.FULL
        derived = RepositoryDerivation(derivation, found, point, mode, reached)
        if messages is None:
            return derived
        return _with_failures(
            derived, repository, options, rules, messages.result(), store if first_new else None
        )


def _messages(
    repository: Repository,
    rules: FailureRules,
    deployed: Sequence[DeployedCommit],
    first_new: int,
) -> dict[str, str]:
    """What the rules read of the commits that the deployments from `first_new` on reach: the
    subjects (hotfix), and the whole messages of reverts."""
    tips = [d.commit for d in deployed[first_new:]]
    exclude = [d.commit for d in deployed[:first_new]]
    messages: dict[str, str] = {}
    if rules.hotfix is not None:
        messages = repository.subjects(tips, exclude=exclude)
    if rules.reverts:
        messages.update(repository.messages(tips, exclude=exclude, reverts_only=True))
    return messages


class FailuresBefore(Protocol):
    """What the earlier syncs of a repository found, for a re-sync's failure rules."""

    def shipped_by(self, commit: str) -> int | None: ...

    def failed(self) -> Container[int]: ...


def _with_failures(
    derived: RepositoryDerivation,
    repository: Repository,
    options: DerivationOptions,
    rules: FailureRules,
    messages: Mapping[str, str],
    before: FailuresBefore | None,
) -> RepositoryDerivation:
    """`derived`, with the failures its new deployments reveal under `rules`; `messages`: what
    `_messages` read of their commits."""
    deployed = derived.point.deployments
    first_new = len(deployed) - len(derived.derivation.deployments)
    new = derived.derivation.deployments
    changes = {first_new + n: [c.id for c in d.changes] for n, d in enumerate(new) if d.changes}
    shipped = derived.derivation.shipped(first_new)

    def shipped_by(commit: str) -> int | None:
        if commit in shipped:
            return shipped[commit]
        return None if before is None else before.shipped_by(commit)

    rollbacks: set[int] = set()
    if rules.rollbacks:
        empty = {first_new + n for n, d in enumerate(new) if d.status is Status.EMPTY}
        rollbacks = {
            position
            for position in rollback_candidates(deployed, empty)
            if repository.is_proper_ancestor(
                deployed[position].commit, of=deployed[position - 1].commit
            )
        }
    line = DeploymentLine(
        deployed=deployed,
        first_new=first_new,
        baseline=lambda position: is_baseline(position, deployed[position].time, options),
        changes=changes,
        shipped_by=shipped_by,
        failed_before=frozenset() if before is None else before.failed(),
    )
    failures = find_failures(line, rules, messages=messages, rollbacks=rollbacks)
    return replace(derived, shipped=shipped, failures=failures)


def _counted(log: Iterable[bytes], tell: Callable[[int], object]) -> Iterator[bytes]:
    """`log`, telling how many lines were read after each batch of them: the lines pass through
    C (a list's iterator, chained), and Python counts once a batch, not once a line."""

    def batches() -> Iterator[list[bytes]]:
        lines = iter(log)
        read = 0
        while batch := list(islice(lines, _BATCH)):
            yield batch
            read += len(batch)
            tell(read)

    return chain.from_iterable(batches())


_BATCH = 1024  # log lines between two counts: a millisecond or so of a derivation


def _derive(
    repository: Repository,
    deployed: Sequence[DeployedCommit],
    options: DerivationOptions,
    paths: Sequence[str],
    known: Sequence[DeployedCommit] = (),
    known_commits: Container[str] = frozenset(),
    on_read: Callable[[int], object] | None = None,
) -> tuple[Derivation, list[str]]:
    """`deployed`'s changes, after the `known` deployments, whose commits `known_commits` holds;
    and the commits `deployed` reach that the known ones do not."""
    tips = [d.commit for d in deployed]
    exclude = [d.commit for d in known]
    committer_time = options.change_time is ChangeTime.COMMIT
    # A whole history's commits that change the paths are known before it is read.
    touching = repository.touching(tips, paths) if paths and not known else None
    with repository.history_log(tips, exclude=exclude, committer_time=committer_time) as lines:
        log = lines if on_read is None else _counted(lines, on_read)
        reach = Reach(tips, known=known_commits).run(log)
    if paths and known:
        # In a re-sync, git must compare the new commits with the old ones they stand on (see
        # Repository.touching): the log has named them.
        touching = repository.touching(tips, paths, exclude=reach.boundary())
    derivation = derive(deployed, reach, options, earlier=len(known), touching=touching)
    return derivation, reach.read_ids()
