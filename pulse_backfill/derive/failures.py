"""Failed deployments, from the history alone: reverts, rollbacks and hotfixes (`--infer-failures`).

DORA counts a deployment as failed when it needed immediate intervention: a rollback or a
hotfix. A history records both. Each rule below names a failed deployment and the deployment
that recovered it; a deployment that several rules (or several commits) mark gets one failure,
recovered by the earliest of them in deployment order.

- `reverts`: a change whose message has a line `This reverts commit <full id>`, shipped by a
  later deployment than the one that shipped the reverted commit as a change.
- `rollbacks`: a deployment whose commit is a proper ancestor of the commit of the deployment
  just before it rolls that one back.
- `hotfix:REGEX`: a deployment that ships a change whose subject matches REGEX recovers the
  deployment just before it.

A baseline (the first deployment, those before --since) is never a failed deployment: it is not
part of the run. Pure: the commits' messages, the deployments' changes and which deployments
are rollbacks come in as plain data.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Container, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pulse_backfill.dates import rfc3339
from pulse_backfill.derive.history import DeployedCommit
from pulse_backfill.errors import UsageError

FORMS = "reverts, rollbacks and hotfix:REGEX, separated by commas"
# git revert's own words, which the hosted "Revert" buttons write too: a full id, SHA-1 or
# SHA-256, then anything but another hex digit.
_REVERTS = re.compile(r"^This reverts commit ([0-9a-f]{64}|[0-9a-f]{40})(?![0-9a-f])", re.MULTILINE)


class Rule(StrEnum):
    # In the order that breaks a tie between two rules recovering a deployment at once.
    REVERTS = "reverts"
    ROLLBACKS = "rollbacks"
    HOTFIX = "hotfix"


@dataclass(frozen=True)
class FailureRules:
    """Which rules a run applies; none by default."""

    reverts: bool = False
    rollbacks: bool = False
    hotfix: re.Pattern[str] | None = None

    def __bool__(self) -> bool:
        return self.reverts or self.rollbacks or self.hotfix is not None

    @property
    def names(self) -> tuple[Rule, ...]:
        chosen = (self.reverts, self.rollbacks, self.hotfix is not None)
        return tuple(rule for rule, on in zip(Rule, chosen, strict=True) if on)

    def __str__(self) -> str:
        """As --infer-failures takes them, in a fixed order."""
        words = [str(rule) for rule in self.names if rule is not Rule.HOTFIX]
        if self.hotfix is not None:
            words.append(f"hotfix:{self.hotfix.pattern}")
        return ",".join(words)


NO_RULES = FailureRules()


def parse_rules(text: str, *, option: str = "--infer-failures") -> FailureRules:
    """`reverts,rollbacks,hotfix:REGEX`, any of them, in any order; '' or 'none' for none."""
    if text.strip() in ("", "none"):
        return NO_RULES
    reverts = rollbacks = False
    hotfix: re.Pattern[str] | None = None
    # A hotfix pattern may hold commas: it takes the rest of the text.
    head, found, pattern = text.partition("hotfix:")
    words = [word.strip() for word in head.split(",")]
    if found:
        if words[-1]:
            raise UsageError(f"{option} {text!r}: separate the rules with commas ({FORMS})")
        words.pop()
        if not pattern:
            raise UsageError(
                f"{option} {text!r}: hotfix: needs a regular expression, e.g. "
                "hotfix:'^Merge .*hotfix/'"
            )
        try:
            hotfix = re.compile(pattern)
        except re.error as error:
            raise UsageError(
                f"{option}: hotfix:{pattern!r} is not a valid regular expression ({error})"
            ) from None
    for word in words:
        if word == Rule.REVERTS:
            reverts = True
        elif word == Rule.ROLLBACKS:
            rollbacks = True
        elif word or not found:
            raise UsageError(f"{option} {text!r}: {word!r} is not a rule: pass {FORMS}")
    return FailureRules(reverts=reverts, rollbacks=rollbacks, hotfix=hotfix)


def marked_by(rule: str, marker: str, subject: str | None) -> dict[str, str | None]:
    """What marked a deployment failed, as JSON shows it: a rollback's deployment, else the
    revert's or the hotfix's commit and subject."""
    if rule == Rule.ROLLBACKS:
        return {"rollback": marker}
    return {"commit": marker, "subject": subject}


def reverted_commits(message: str) -> list[str]:
    """The commits a commit's message says it reverts."""
    return _REVERTS.findall(message)


@dataclass(frozen=True)
class Failure:
    """A failed deployment, what marked it, and the deployment that recovered it."""

    failed: DeployedCommit
    position: int  # the failed deployment's, among all of its repository's (a sync point's)
    rule: Rule
    # What marked it: the revert's or the hotfix's commit and its subject; for a rollback,
    # the rollback's own deployment (its id, as the source names it) and no subject.
    marker: str
    subject: str | None
    recovered: DeployedCommit
    recovery_shipped: bool  # False for a rollback: it ships nothing, so Pulse never sees it

    def to_json(self) -> dict[str, Any]:
        """As --json and the report list it."""
        return {
            "deployment": self.failed.id,
            "deployed_at": rfc3339(self.failed.time),
            "rule": str(self.rule),
            "marked_by": marked_by(self.rule, self.marker, self.subject),
            "recovered_by": self.recovered.id,
            "recovered_at": rfc3339(self.recovered.time),
            "recovery_seconds": self.recovery_seconds,
            "incident": self.incident_id,
        }

    @property
    def recovery_seconds(self) -> int:
        return self.recovered.time - self.failed.time

    @property
    def incident_id(self) -> str:
        """The same on every run: one incident per failed deployment."""
        return f"failed:{self.failed.id}"

    @property
    def incident_created(self) -> int:
        """A second after the failed deployment: Pulse takes the last deployment before an
        incident's creation as its cause."""
        return self.failed.time + 1

    @property
    def incident_resolved(self) -> int:
        """When the recovering deployment was made; never before the incident's creation (a
        recovery in the failed deployment's own second)."""
        return max(self.recovered.time, self.incident_created)


@dataclass(frozen=True)
class DeploymentLine:
    """A repository's deployments in order, known ones and new ones, as the rules read them.

    `deployed`: every deployment, in order. Those from `first_new` on were derived by this run;
    `changes` holds their changes (ids, in sending order), by position. Before `first_new` the
    store answers (a re-sync): `shipped_by` gives the position of the deployment that shipped a
    commit as a change (new or known; None when none did), `failed_before` the positions the
    last syncs found failed.
    """

    deployed: Sequence[DeployedCommit]
    first_new: int
    baseline: Callable[[int], bool]
    changes: Mapping[int, Sequence[str]]
    shipped_by: Callable[[str], int | None]
    failed_before: Container[int] = frozenset()


def find_failures(
    line: DeploymentLine,
    rules: FailureRules,
    *,
    messages: Mapping[str, str],
    rollbacks: Container[int] = frozenset(),
) -> list[Failure]:
    """The failures that the new deployments of `line` reveal, by the failed deployment's
    position.

    `messages`: the full message of each change of the new deployments that may matter
    (reverts need their bodies, hotfixes their subjects). `rollbacks`: the positions of new
    deployments whose commit is a proper ancestor of the commit of the one before.
    """
    # For each failed position: the earliest (recovering position, rule, marker, subject).
    found: dict[int, tuple[int, int, str, str | None]] = {}

    def mark(failed: int, recovering: int, rule: Rule, marker: str, subject: str | None) -> None:
        if failed < 0 or line.baseline(failed) or failed in line.failed_before:
            return
        candidate = (recovering, list(Rule).index(rule), marker, subject)
        if failed not in found or candidate[:2] < found[failed][:2]:
            found[failed] = candidate

    for position in range(line.first_new, len(line.deployed)):
        if rules.reverts or rules.hotfix is not None:
            for change in line.changes.get(position, ()):
                message = messages.get(change, "")
                subject = message.partition("\n")[0]
                if rules.reverts:
                    for target in reverted_commits(message):
                        shipped = line.shipped_by(target)
                        if shipped is not None and shipped < position:
                            mark(shipped, position, Rule.REVERTS, change, subject)
                if rules.hotfix is not None and rules.hotfix.search(subject):
                    mark(position - 1, position, Rule.HOTFIX, change, subject)
        if rules.rollbacks and position in rollbacks:
            mark(position - 1, position, Rule.ROLLBACKS, line.deployed[position].id, None)

    return [
        Failure(
            failed=line.deployed[failed],
            position=failed,
            rule=list(Rule)[rule],
            marker=marker,
            subject=subject,
            recovered=line.deployed[recovering],
            recovery_shipped=bool(line.changes.get(recovering)),
        )
        for failed, (recovering, rule, marker, subject) in sorted(found.items())
    ]


def rollback_candidates(deployed: Sequence[DeployedCommit], empty: Container[int]) -> list[int]:
    """Positions that may be rollbacks, to ask git about: deployments that shipped nothing new
    (as a rollback cannot), on a commit other than the one before's."""
    return [
        position
        for position in range(1, len(deployed))
        if position in empty and deployed[position].commit != deployed[position - 1].commit
    ]
