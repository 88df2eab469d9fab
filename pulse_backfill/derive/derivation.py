"""What each deployment shipped: one derivation for every source of deployments, for a whole
history and a re-sync alike.

Its input is an ordered list of deployments (an identifier, a commit, a time) and git's log of
the commits they reach; its output, each deployment's changes, by the first reach of their
commits (`reach`). Rules 5 to 8 of the README. Pure: no git, no I/O.
"""

from __future__ import annotations

from collections.abc import Container, Sequence
from dataclasses import dataclass
from enum import StrEnum

from pulse_backfill.derive.history import Change, DeployedCommit
from pulse_backfill.derive.reach import Reach


class ChangeTime(StrEnum):
    AUTHOR = "author"
    COMMIT = "commit"


class Status(StrEnum):
    SEND = "send"
    BASELINE = "baseline"  # bounds later deployments, is not sent
    EMPTY = "empty"  # shipped nothing new (e.g. a second tag on a commit already shipped)


@dataclass(frozen=True, kw_only=True)
class DerivationOptions:
    since: int | None = None  # inclusive, epoch seconds
    until: int | None = None  # exclusive, epoch seconds
    change_time: ChangeTime = ChangeTime.AUTHOR
    include_first: bool = False
    no_merges: bool = False


@dataclass(frozen=True)
class Deployment:
    id: str
    commit: str
    time: int
    status: Status
    changes: tuple[Change, ...] = ()


@dataclass(frozen=True)
class Derivation:
    deployments: tuple[Deployment, ...]

    @property
    def sent(self) -> tuple[Deployment, ...]:
        return tuple(d for d in self.deployments if d.status is Status.SEND)

    def shipped(self, earlier: int = 0) -> dict[str, int]:
        """Each change's deployment, by its position among all of a repository's (`earlier`:
        how many came before these)."""
        return {
            change.id: earlier + position
            for position, deployment in enumerate(self.deployments)
            for change in deployment.changes
        }

    def count(self, status: Status) -> int:
        return sum(1 for d in self.deployments if d.status is status)


def before_until(
    deployed: Sequence[DeployedCommit], options: DerivationOptions
) -> list[DeployedCommit]:
    """The deployments that count: those at or after --until are left out."""
    return [d for d in deployed if options.until is None or d.time < options.until]


def derive(
    deployed: Sequence[DeployedCommit],
    reach: Reach,
    options: DerivationOptions,
    *,
    earlier: int = 0,
    touching: Container[str] | None = None,
) -> Derivation:
    """Each of `deployed`, with the commits it reached first, from the pass over git's log of
    what they reach (see `reach`). `earlier`: how many deployments came before these (a
    re-sync's known ones). `touching`, when given, holds the commits that may be changes
    (--path)."""
    return Derivation(
        tuple(
            _deployment(deployed, position, reach, options, earlier, touching)
            for position in range(len(deployed))
        )
    )


def _deployment(
    deployed: Sequence[DeployedCommit],
    position: int,
    reach: Reach,
    options: DerivationOptions,
    earlier: int,
    touching: Container[str] | None,
) -> Deployment:
    """The deployment at `position`, with the commits it reached first."""
    identifier, commit, time = deployed[position]
    if is_baseline(earlier + position, time, options):
        return Deployment(identifier, commit, time, Status.BASELINE)
    commits = reach.shipped[position]
    if options.no_merges:  # rule 8: merges bound deployments but are not changes
        merges = reach.merges
        commits = [c for c in commits if not merges[c]]
    made = reach.changes  # every commit a deployment reaches first was read
    changes = [made[c] for c in commits]
    if touching is not None:
        changes = [change for change in changes if change.id in touching]
    changes.sort()  # by time, then id
    status = Status.SEND if changes else Status.EMPTY
    return Deployment(identifier, commit, time, status, tuple(changes))


def is_baseline(position: int, time: int, options: DerivationOptions) -> bool:
    # Rule 6: the first deployment, and those before --since, bound later ones; none is sent.
    return (position == 0 and not options.include_first) or (
        options.since is not None and time < options.since
    )
