"""The four keys, as Pulse's user docs say it computes them (PROTOCOL.md), with their levels.

Pure logic over plain records: no store, no terminal.
"""

from __future__ import annotations

import bisect
import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pulse_backfill.dates import rfc3339
from pulse_backfill.derive.failures import marked_by

MINUTE = 60
HOUR = 3600
DAY = 24 * HOUR
WEEK = 7 * DAY
SIX_MONTHS = 182.5 * DAY  # half of a 365-day year
UNKNOWN_SYSTEM = "_unknown_"  # where Pulse puts events without a system
# The levels' limits: elite, high and medium are under each in turn (low beyond)...
LEAD_TIME_LIMITS = (HOUR, WEEK, SIX_MONTHS)
RECOVERY_LIMITS = (HOUR, DAY, WEEK)
# ...and elite and high up to each (Pulse's docs name no medium level for this key).
FAILURE_RATE_LIMITS = (0.15, 0.30)


class Level(StrEnum):
    ELITE = "elite"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


@dataclass(frozen=True)
class Deployment:
    system: str
    identifier: str
    time: int
    changes: tuple[str, ...]


@dataclass(frozen=True)
class Incident:
    system: str
    identifier: str
    created: int
    resolved: int
    source: str = "cli"  # where it came from: a tool, or the failure rule that found it


@dataclass(frozen=True)
class Failure:
    """A failed deployment that a rule found in the history (`--infer-failures`)."""

    system: str
    deployment: str
    commit: str
    deployed_at: int
    rule: str
    marker: str  # the revert's or the hotfix's commit; a rollback's deployment
    subject: str | None
    recovered_by: str
    recovered_at: int
    recovery_shipped: bool  # False for a rollback, which Pulse never sees as a deployment

    def to_json(self) -> dict[str, Any]:
        return {
            "system": self.system,
            "deployment": self.deployment,
            "deployed_at": rfc3339(self.deployed_at),
            "rule": self.rule,
            "marked_by": marked_by(self.rule, self.marker, self.subject),
            "recovered_by": self.recovered_by,
            "recovered_at": rfc3339(self.recovered_at),
            "recovery_seconds": self.recovered_at - self.deployed_at,
        }


@dataclass
class History:
    """What the four keys are computed from, for any number of systems."""

    deployments: list[Deployment] = field(default_factory=list)
    change_times: dict[tuple[str, str], int] = field(default_factory=dict)  # (system, id)
    incidents: list[Incident] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    # The failure rules run over each system, and where each system's backfill starts (its
    # --since), as the stores say; absent for a system only exports hold.
    rules: dict[str, set[str]] = field(default_factory=dict)
    starts: dict[str, int] = field(default_factory=dict)

    @property
    def systems(self) -> list[str]:
        names = {d.system for d in self.deployments} | {i.system for i in self.incidents}
        return sorted(names)

    def only(self, systems: Iterable[str]) -> History:
        keep = set(systems)
        return History(
            [d for d in self.deployments if d.system in keep],
            {key: t for key, t in self.change_times.items() if key[0] in keep},
            [i for i in self.incidents if i.system in keep],
            [f for f in self.failures if f.system in keep],
            {name: rules for name, rules in self.rules.items() if name in keep},
            {name: start for name, start in self.starts.items() if name in keep},
        )

    def failure_sources(self, system: str) -> tuple[str, ...]:
        """What a system's failures are known from: the rules run over it and the sources of its
        incidents. None: its failure rate and recovery time have nothing to stand on."""
        sources = self.rules.get(system, set()) | {
            i.source for i in self.incidents if i.system == system
        }
        return tuple(sorted(sources))

    def start(self, system: str) -> int | None:
        """Where a system's backfill starts: its --since, else its first deployment."""
        if system in self.starts:
            return self.starts[system]
        times = [d.time for d in self.deployments if d.system == system]
        times += [i.created for i in self.incidents if i.system == system]
        return min(times, default=None)


@dataclass(frozen=True)
class Period:
    """[since, until), both UTC midnights."""

    since: int
    until: int

    @property
    def days(self) -> int:
        return math.ceil((self.until - self.since) / DAY)

    def __contains__(self, moment: int) -> bool:
        return self.since <= moment < self.until

    @classmethod
    def spanning(cls, history: History) -> Period | None:
        """Whole UTC days from the first deployment or incident to the last."""
        moments = [d.time for d in history.deployments] + [i.created for i in history.incidents]
        if not moments:
            return None
        return cls(midnight(min(moments)), midnight(max(moments)) + DAY)

    def to_json(self) -> dict[str, Any]:
        return {"since": rfc3339(self.since), "until": rfc3339(self.until), "days": self.days}


NO_FAILURE_DATA = (
    "no incidents recorded and no failure rule run: infer failures from the history with "
    "'pulse-backfill git --infer-failures reverts', or backfill incidents with "
    "'pulse-backfill incidents'"
)
NO_REWORK_DATA = (
    "no failure rule run: infer failures from the history with "
    "'pulse-backfill git --infer-failures reverts'"
)
NOT_BACKFILLED = "not backfilled in this period"
NO_FAILURES = "no incidents in this period"
NO_DEPLOYMENTS = "no deployments in this period"


@dataclass(frozen=True)
class FourKeys:
    """The four keys, and DORA's fifth, deployment rework rate. A figure is None where nothing
    was measured; `missing` then says why, by the figure's JSON name."""

    deployments: int
    per_day: float | None  # None: the system was not backfilled in the period
    frequency_level: Level | None
    lead_time_changes: int
    lead_time_median: float | None  # seconds
    lead_time_level: Level | None
    incidents: int
    recovery_mean: float | None  # seconds
    recovery_level: Level | None
    failed_deployments: int
    failure_rate: float | None
    failure_level: Level | None
    unattributed_incidents: int  # no earlier deployment in their system: ignored for the rate
    failure_deployments: int = 0  # those of systems whose failures are known
    failure_sources: tuple[str, ...] = ()  # what they are known from (see History)
    recoveries: int = 0  # deployments made to recover from a failure
    rework_deployments: int = 0  # all deployments, rollbacks included, where rules ran
    rework_rate: float | None = None
    missing: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        def why(name: str) -> dict[str, str]:
            return {"no_data": self.missing[name]} if name in self.missing else {}

        sources = {"from": list(self.failure_sources)} if self.failure_sources else {}
        return {
            "deployment_frequency": {
                "per_day": self.per_day,
                "deployments": self.deployments,
                "level": self.frequency_level,
                **why("deployment_frequency"),
            },
            "lead_time": {
                "median_seconds": self.lead_time_median,
                "changes": self.lead_time_changes,
                "level": self.lead_time_level,
                **why("lead_time"),
            },
            "time_to_recover": {
                "mean_seconds": self.recovery_mean,
                "incidents": self.incidents,
                "level": self.recovery_level,
                **sources,
                **why("time_to_recover"),
            },
            "change_failure_rate": {
                "rate": self.failure_rate,
                "failed_deployments": self.failed_deployments,
                "deployments": self.failure_deployments,
                "level": self.failure_level,
                "incidents_with_no_earlier_deployment": self.unattributed_incidents,
                **sources,
                **why("change_failure_rate"),
            },
            "rework_rate": {
                "rate": self.rework_rate,
                "recoveries": self.recoveries,
                "deployments": self.rework_deployments,
                **why("rework_rate"),
            },
        }


def four_keys(history: History, period: Period) -> FourKeys:
    """The four keys of `history` (one system, or several pooled) over `period`."""
    return Timeline(history).four_keys(period)


class Timeline:
    """A history in time order, to give the four keys of any number of periods of it, each
    in time proportional to what the period holds.

    With one system, its rates cover the part of a period from its backfill's start on (its
    --since, else its first deployment), not days before anything of it was backfilled.
    """

    def __init__(self, history: History) -> None:
        self._deployments = sorted(history.deployments, key=lambda d: (d.time, d.identifier))
        self._deployed_at = [d.time for d in self._deployments]
        self._incidents = sorted(history.incidents, key=lambda i: (i.created, i.identifier))
        self._created_at = [i.created for i in self._incidents]
        self._change_times = history.change_times
        # Whatever the period: a deployment failed when an incident, even a later period's,
        # came while it was its system's last.
        self._failed, self._unattributed = _failures(self._deployments, self._incidents)
        systems = history.systems
        self._sources = {name: history.failure_sources(name) for name in systems}
        self._ruled = {name for name in systems if history.rules.get(name)}
        starts = [history.start(name) for name in systems]
        self._start = None if len(systems) != 1 or starts[0] is None else midnight(starts[0])
        # A deployment made to recover, by system and id; a rollback's counts as a deployment
        # too, where Pulse never sees it.
        recovering = {(f.system, f.recovered_by): f for f in history.failures}
        self._recovered_at = sorted(
            (f.recovered_at, not f.recovery_shipped) for f in recovering.values()
        )

    def four_keys(self, period: Period) -> FourKeys:
        missing: dict[str, str] = {}
        if self._start is not None and self._start > period.since:
            if self._start >= period.until:
                missing["deployment_frequency"] = NOT_BACKFILLED
            else:
                period = Period(self._start, period.until)
        deployed = self._deployments[_slice(self._deployed_at, period)]
        incidents = self._incidents[_slice(self._created_at, period)]
        leads = [
            d.time - self._change_times[(d.system, change)]
            for d in deployed
            for change in d.changes
            if (d.system, change) in self._change_times
        ]
        lead_median = float(statistics.median(leads)) if leads else None
        recoveries = [i.resolved - i.created for i in incidents]
        recovery_mean = statistics.fmean(recoveries) if recoveries else None
        # The failure rate stands only on deployments whose failures are known.
        known = [d for d in deployed if self._sources.get(d.system)]
        failed = sum((d.system, d.identifier) in self._failed for d in known)
        rate = failed / len(known) if known else None
        sources = tuple(sorted({s for name in self._sources for s in self._sources[name]}))
        if not sources:
            missing["change_failure_rate"] = missing["time_to_recover"] = NO_FAILURE_DATA
        else:
            if recovery_mean is None:
                missing["time_to_recover"] = NO_FAILURES
            if rate is None:
                missing["change_failure_rate"] = NO_DEPLOYMENTS
        if not leads:
            missing["lead_time"] = "no changes shipped in this period"
        # Rework: recovering deployments over all, in the systems the rules ran over.
        recovered = [
            rollback for _, rollback in self._recovered_at[_slice_pairs(self._recovered_at, period)]
        ]
        ruled = sum(d.system in self._ruled for d in deployed) + sum(recovered)
        rework = len(recovered) / ruled if ruled else None
        if not self._ruled:
            missing["rework_rate"] = NO_REWORK_DATA
        elif rework is None:
            missing["rework_rate"] = NO_DEPLOYMENTS
        frequency = None if "deployment_frequency" in missing else len(deployed) / period.days
        return FourKeys(
            deployments=len(deployed),
            per_day=frequency,
            frequency_level=None
            if frequency is None
            else frequency_level([d.time for d in deployed], period),
            lead_time_changes=len(leads),
            lead_time_median=lead_median,
            lead_time_level=None if lead_median is None else lead_time_level(lead_median),
            incidents=len(incidents),
            recovery_mean=recovery_mean,
            recovery_level=None if recovery_mean is None else recovery_level(recovery_mean),
            failed_deployments=failed,
            failure_rate=rate,
            failure_level=None if rate is None else failure_level(rate),
            unattributed_incidents=sum(
                (i.system, i.identifier) in self._unattributed for i in incidents
            ),
            failure_deployments=len(known),
            failure_sources=sources,
            recoveries=len(recovered),
            rework_deployments=ruled,
            rework_rate=rework,
            missing=missing,
        )


def _slice_pairs(pairs: Sequence[tuple[int, bool]], period: Period) -> slice:
    return slice(
        bisect.bisect_left(pairs, (period.since, False)),
        bisect.bisect_left(pairs, (period.until, False)),
    )


def _slice(times: Sequence[int], period: Period) -> slice:
    return slice(bisect.bisect_left(times, period.since), bisect.bisect_left(times, period.until))


def _failures(
    deployments: Sequence[Deployment], incidents: Sequence[Incident]
) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """The deployments that caused an incident, each the last of its system at or before the
    incident's creation; and the incidents with no such deployment (ignored for the rate)."""
    by_system: dict[str, list[Deployment]] = {}
    for deployment in deployments:  # in time order
        by_system.setdefault(deployment.system, []).append(deployment)
    times = {system: [d.time for d in line] for system, line in by_system.items()}
    failed: set[tuple[str, str]] = set()
    unattributed: set[tuple[str, str]] = set()
    for incident in incidents:
        line = by_system.get(incident.system, [])
        position = bisect.bisect_right(times.get(incident.system, []), incident.created)
        if position == 0:
            unattributed.add((incident.system, incident.identifier))
        else:
            cause = line[position - 1]
            failed.add((cause.system, cause.identifier))
    return failed, unattributed


def frequency_level(times: Sequence[int], period: Period) -> Level:
    """Elite: more than half the days have a deployment; high: months; medium: half-years."""
    if not times:
        return Level.LOW
    days = {midnight(t) for t in times}
    if len(days) / period.days > 0.5:
        return Level.ELITE
    months = {_month(t) for t in times}
    if len(months) / len(_months(period)) > 0.5:
        return Level.HIGH
    semesters = {(year, (month - 1) // 6) for year, month in months}
    all_semesters = {(year, (month - 1) // 6) for year, month in _months(period)}
    if len(semesters) / len(all_semesters) > 0.5:
        return Level.MEDIUM
    return Level.LOW


def lead_time_level(seconds: float) -> Level:
    return _under(seconds, LEAD_TIME_LIMITS)


def recovery_level(seconds: float) -> Level:
    return _under(seconds, RECOVERY_LIMITS)


def _under(seconds: float, limits: tuple[float, float, float]) -> Level:
    """Elite, high or medium: the first whose limit `seconds` is under; low past them all."""
    for level, limit in zip((Level.ELITE, Level.HIGH, Level.MEDIUM), limits, strict=True):
        if seconds < limit:
            return level
    return Level.LOW


def failure_level(rate: float) -> Level:
    for level, limit in zip((Level.ELITE, Level.HIGH), FAILURE_RATE_LIMITS, strict=True):
        if rate <= limit:
            return level
    return Level.LOW


@dataclass(frozen=True)
class Shipped:
    """A deployment of the report's period, with what it shipped."""

    system: str
    identifier: str
    time: int
    changes: int
    lead_times: int  # its changes whose time is known
    median_lead_time: float | None

    def to_json(self) -> dict[str, Any]:
        return {
            "system": self.system,
            "deployment": self.identifier,
            "deployed_at": rfc3339(self.time),
            "changes": self.changes,
            "median_lead_time_seconds": self.median_lead_time,
        }


@dataclass(frozen=True)
class SlowChange:
    """A change, the deployment that shipped it, and how long that took."""

    system: str
    change: str  # its id: the commit, for changes from git
    deployment: str
    deployed_at: int
    lead_time: int
    subject: str | None = None  # from the repository, where the report could read it

    def to_json(self) -> dict[str, Any]:
        return {
            "system": self.system,
            "change": self.change,
            "subject": self.subject,
            "deployment": self.deployment,
            "deployed_at": rfc3339(self.deployed_at),
            "lead_time_seconds": self.lead_time,
        }


def shipped(history: History, period: Period) -> list[Shipped]:
    """The period's deployments in time order, each with its changes' median lead time."""
    deployments = []
    for d in sorted(history.deployments, key=lambda d: (d.time, d.system, d.identifier)):
        if d.time in period:
            leads = _leads(history, d)
            deployments.append(
                Shipped(
                    d.system,
                    d.identifier,
                    d.time,
                    len(d.changes),
                    len(leads),
                    float(statistics.median(leads)) if leads else None,
                )
            )
    return deployments


def slowest_changes(history: History, period: Period, count: int) -> list[SlowChange]:
    """The `count` changes the period's deployments shipped that took longest, slowest first
    (ties: the earlier deployment, then the change's id)."""
    changes = [
        SlowChange(d.system, change, d.identifier, d.time, d.time - history.change_times[key])
        for d in history.deployments
        if d.time in period
        for change in d.changes
        if (key := (d.system, change)) in history.change_times
    ]
    changes.sort(key=lambda c: (-c.lead_time, c.deployed_at, c.change))
    return changes[:count]


def _leads(history: History, deployment: Deployment) -> list[int]:
    return [
        deployment.time - history.change_times[(deployment.system, change)]
        for change in deployment.changes
        if (deployment.system, change) in history.change_times
    ]


def weekly_deployments(history: History, period: Period) -> list[tuple[int, int]]:
    """(Monday, deployments that week) for every week the period touches."""
    first = midnight(period.since) - datetime.fromtimestamp(period.since, UTC).weekday() * DAY
    counts = {week: 0 for week in range(first, period.until, WEEK)}
    for deployment in history.deployments:
        if deployment.time in period:
            counts[first + (deployment.time - first) // WEEK * WEEK] += 1
    return sorted(counts.items())


def monthly_lead_time(history: History, period: Period) -> list[tuple[str, float | None]]:
    """(YYYY-MM, median lead time of that month's deployments) for every month of the period."""
    leads: dict[tuple[int, int], list[int]] = {month: [] for month in _months(period)}
    for d in history.deployments:
        if d.time in period:
            leads[_month(d.time)].extend(_leads(history, d))
    return [
        (f"{year:04d}-{month:02d}", float(statistics.median(values)) if values else None)
        for (year, month), values in sorted(leads.items())
    ]


def midnight(moment: int) -> int:
    return moment - moment % DAY


def _month(moment: int) -> tuple[int, int]:
    day = datetime.fromtimestamp(moment, UTC)
    return day.year, day.month


def _months(period: Period) -> list[tuple[int, int]]:
    first, last = _month(period.since), _month(period.until - 1)
    months = []
    year, month = first
    while (year, month) <= last:
        months.append((year, month))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months
