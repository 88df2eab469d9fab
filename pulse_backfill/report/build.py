"""The report's figures: the events of stores and exports, read as one history (an event that
several hold counts once), and the four keys over a period of it, per system and for all
together, and over each calendar period of it with `--by`."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from pulse_backfill.dates import rfc3339
from pulse_backfill.derive.failures import parse_rules
from pulse_backfill.errors import UsageError, read_user_file
from pulse_backfill.pulse.events import IDENTIFIER_FIELD, EventKind
from pulse_backfill.pulse.export import read_events
from pulse_backfill.report.keys import (
    DAY,
    UNKNOWN_SYSTEM,
    Deployment,
    Failure,
    FourKeys,
    History,
    Incident,
    Period,
    Shipped,
    SlowChange,
    Timeline,
    midnight,
    monthly_lead_time,
    shipped,
    slowest_changes,
    weekly_deployments,
)
from pulse_backfill.report.trends import Granularity, PeriodKeys, calendar_periods, trends
from pulse_backfill.store import StoreContents, read_store

DEFAULT_DAYS = 90  # Pulse's dashboards show a rolling 90-day window
# Up to this many systems, the keys of every combination of them are computed, for the page's
# selector; beyond, those of each system and of all (2^n grows fast).
COMBINED_SYSTEMS = 5
SLOWEST_CHANGES = 20  # per system


@dataclass(frozen=True)
class Selection:
    """Some systems' keys together: over the window, the window before it of the same length,
    and each calendar period of the window."""

    systems: tuple[str, ...]
    keys: FourKeys
    previous: FourKeys
    periods: list[FourKeys]


@dataclass(frozen=True)
class Report:
    period: Period
    systems: dict[str, FourKeys]
    all: FourKeys
    weekly_deployments: list[tuple[int, int]]
    monthly_lead_time: list[tuple[str, float | None]]
    by: Granularity | None = None  # as asked: the terminal's trends and --json's periods
    periods: list[PeriodKeys] = field(default_factory=list)  # by `trend_by`, in time order
    failures: list[Failure] = field(default_factory=list)  # those of the period, in time order
    trend_by: Granularity = Granularity.WEEK  # `by`, else chosen for the period's length
    previous: Period | None = None  # the window of the same length just before
    previous_systems: dict[str, FourKeys] = field(default_factory=dict)
    previous_all: FourKeys | None = None
    # By the systems' names, sorted: one each, all, and every combination up to
    # COMBINED_SYSTEMS systems.
    selections: dict[tuple[str, ...], Selection] = field(default_factory=dict)
    deployments: list[Shipped] = field(default_factory=list)  # the period's, in time order
    slowest: list[SlowChange] = field(default_factory=list)  # each system's, slowest first
    # Where the history's deployments are, when the period holds none of them.
    hint: str | None = None

    def to_json(self) -> dict[str, Any]:
        by = {} if self.by is None else {"by": str(self.by), "periods": self.periods_json()}
        previous = (
            {}
            if self.previous is None or self.previous_all is None
            else {
                "previous": {
                    "period": self.previous.to_json(),
                    "systems": {n: k.to_json() for n, k in self.previous_systems.items()},
                    "all": self.previous_all.to_json(),
                }
            }
        )
        return {
            "period": self.period.to_json(),
            "systems": {name: keys.to_json() for name, keys in self.systems.items()},
            "all": self.all.to_json(),
            **previous,
            "deployments_per_week": [
                {"week": Period(week, week).to_json()["since"][:10], "deployments": count}
                for week, count in self.weekly_deployments
            ],
            "median_lead_time_per_month": [
                {"month": month, "median_seconds": median}
                for month, median in self.monthly_lead_time
            ],
            "failures": [failure.to_json() for failure in self.failures],
            "hint": self.hint,
            "deployments": [deployment.to_json() for deployment in self.deployments],
            "slowest_changes": [change.to_json() for change in self.slowest],
            **by,
        }

    def periods_json(self) -> list[dict[str, Any]]:
        return [keys.to_json() for keys in self.periods]


def read_history(stores: Sequence[Path], exports: Sequence[Path]) -> History:
    """The events of every store and export, as one history: an event several of them hold
    (shards that overlap, a store and its own export) counts once. The stores also say which
    failures their syncs inferred, by which rules, and where each system's backfill starts."""
    contents = [read_store(path) for path in stores]
    history = _history(
        itertools.chain(*(_store_events(one) for one in contents), _export_events(exports))
    )
    seen: set[tuple[str, str]] = set()
    since: dict[str, list[int | None]] = {}
    for one in contents:
        for row in one.failures:
            failure = Failure(_system(row[0]), *row[1:9], recovery_shipped=bool(row[9]))
            if (failure.system, failure.deployment) not in seen:
                seen.add((failure.system, failure.deployment))
                history.failures.append(failure)
        for system, rules, start in one.origins:
            history.rules.setdefault(_system(system), set()).update(
                str(rule) for rule in parse_rules(rules).names
            )
            since.setdefault(_system(system), []).append(start)
    for system, starts in since.items():
        first = min((d.time for d in history.deployments if d.system == system), default=None)
        known = [start if start is not None else first for start in starts]
        if any(start is not None for start in known):
            history.starts[system] = min(start for start in known if start is not None)
    return history


def _system(name: str) -> str:
    return name or UNKNOWN_SYSTEM


def _store_events(contents: StoreContents) -> Iterator[tuple[str, EventKind, dict[str, Any]]]:
    for system, kind, body in contents.events:
        yield system, cast(EventKind, kind), json.loads(body)  # the table's CHECK holds it


def _export_events(paths: Sequence[Path]) -> Iterator[tuple[str, EventKind, dict[str, Any]]]:
    for path in paths:
        text = read_user_file(path, f"--from {path}", "pass an NDJSON export")
        for event in read_events(text, str(path), None):
            yield event.system or "", event.kind, event.body


def build_report(
    history: History,
    *,
    systems: Sequence[str],
    since: int | None,
    until: int | None,
    now: int,
    by: Granularity | None = None,
) -> Report:
    """The report over [since, until): by default the last DEFAULT_DAYS days up to `now`, today
    included, as Pulse's dashboards show."""
    if systems:
        unknown = sorted(set(systems) - set(history.systems))
        if unknown:
            known = ", ".join(history.systems) or "none"
            raise UsageError(
                f"no events for --system {', '.join(unknown)}: the systems here are {known}"
            )
        history = history.only(systems)
    if Period.spanning(history) is None:
        raise UsageError(
            "there are no deployments or incidents to report on: backfill with "
            "'pulse-backfill git' first"
        )
    if until is None:
        until = midnight(now) + DAY
    period = Period(until - DEFAULT_DAYS * DAY if since is None else since, until)
    if period.since >= period.until:
        raise UsageError("--since must be before --until")
    previous = Period(2 * period.since - period.until, period.since)
    hint = None
    deployed = sorted(d.time for d in history.deployments)
    if deployed and not any(time in period for time in deployed):
        first, after = rfc3339(deployed[0])[:10], rfc3339(midnight(deployed[-1]) + DAY)[:10]
        hint = (
            f"No deployment in this period: the history's are from {first} to before {after}; "
            f"pass --since {first} --until {after} to report on them"
        )
    trend_by = by or default_granularity(period)
    names = history.systems
    timelines = {name: Timeline(history.only([name])) for name in names}
    together = Timeline(history)
    return Report(
        period=period,
        systems={name: timeline.four_keys(period) for name, timeline in timelines.items()},
        all=together.four_keys(period),
        weekly_deployments=weekly_deployments(history, period),
        monthly_lead_time=monthly_lead_time(history, period),
        by=by,
        periods=trends(history, period, trend_by),
        failures=sorted(
            (f for f in history.failures if f.deployed_at in period),
            key=lambda f: (f.deployed_at, f.system, f.deployment),
        ),
        trend_by=trend_by,
        previous=previous,
        previous_systems={name: t.four_keys(previous) for name, t in timelines.items()},
        previous_all=together.four_keys(previous),
        selections=_selections(history, period, previous, trend_by),
        deployments=shipped(history, period),
        slowest=[
            change
            for name in names
            for change in slowest_changes(history.only([name]), period, SLOWEST_CHANGES)
        ],
        hint=hint,
    )


def default_granularity(period: Period) -> Granularity:
    """The page's trends without --by: weeks up to half a year, months up to three years."""
    if period.days <= 183:
        return Granularity.WEEK
    if period.days <= 3 * 366:
        return Granularity.MONTH
    return Granularity.QUARTER


def _selections(
    history: History, period: Period, previous: Period, by: Granularity
) -> dict[tuple[str, ...], Selection]:
    names = history.systems
    sizes = range(1, len(names) + 1) if len(names) <= COMBINED_SYSTEMS else (1, len(names))
    windows = calendar_periods(period, by)
    selections = {}
    for size in sizes:
        for chosen in itertools.combinations(names, size):
            timeline = Timeline(history.only(chosen))
            selections[chosen] = Selection(
                chosen,
                timeline.four_keys(period),
                timeline.four_keys(previous),
                [timeline.four_keys(window) for window in windows],
            )
    return selections


def _history(events: Iterable[tuple[str, EventKind, dict[str, Any]]]) -> History:
    history = History()
    seen: set[tuple[str, str, str]] = set()
    for system, kind, body in events:
        system = system or UNKNOWN_SYSTEM
        key = (system, kind, body[IDENTIFIER_FIELD[kind]])
        if key in seen:
            continue  # the first store or export to hold it is taken
        seen.add(key)
        if kind == "deployment":
            history.deployments.append(
                Deployment(
                    system, body["deploy_id"], _epoch(body["time_created"]), tuple(body["changes"])
                )
            )
        elif kind == "change":
            history.change_times[(system, body["change_id"])] = _epoch(body["time_created"])
        elif kind == "incident":
            history.incidents.append(
                Incident(
                    system,
                    body["incident_id"],
                    _epoch(body["time_created"]),
                    _epoch(body["time_resolved"]),
                    body["source"],
                )
            )
    return history


def _epoch(rfc3339: str) -> int:
    return int(datetime.fromisoformat(rfc3339).timestamp())
