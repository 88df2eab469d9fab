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

from pulse_backfill.derive.failures import parse_rules
from pulse_backfill.errors import UsageError, read_user_file
from pulse_backfill.pulse.events import IDENTIFIER_FIELD, EventKind
from pulse_backfill.pulse.export import read_events
from pulse_backfill.report.keys import (
    UNKNOWN_SYSTEM,
    Deployment,
    Failure,
    FourKeys,
    History,
    Incident,
    Period,
    Timeline,
    monthly_lead_time,
    weekly_deployments,
)
from pulse_backfill.report.trends import Granularity, PeriodKeys, trends
from pulse_backfill.store import StoreContents, read_store


@dataclass(frozen=True)
class Report:
    period: Period
    systems: dict[str, FourKeys]
    all: FourKeys
    weekly_deployments: list[tuple[int, int]]
    monthly_lead_time: list[tuple[str, float | None]]
    by: Granularity | None = None
    periods: list[PeriodKeys] = field(default_factory=list)  # with `by`, in time order
    failures: list[Failure] = field(default_factory=list)  # those of the period, in time order

    def to_json(self) -> dict[str, Any]:
        by = {} if self.by is None else {"by": str(self.by), "periods": self.periods_json()}
        return {
            "period": self.period.to_json(),
            "systems": {name: keys.to_json() for name, keys in self.systems.items()},
            "all": self.all.to_json(),
            "deployments_per_week": [
                {"week": Period(week, week).to_json()["since"][:10], "deployments": count}
                for week, count in self.weekly_deployments
            ],
            "median_lead_time_per_month": [
                {"month": month, "median_seconds": median}
                for month, median in self.monthly_lead_time
            ],
            "failures": [failure.to_json() for failure in self.failures],
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
    by: Granularity | None = None,
) -> Report:
    if systems:
        unknown = sorted(set(systems) - set(history.systems))
        if unknown:
            known = ", ".join(history.systems) or "none"
            raise UsageError(
                f"no events for --system {', '.join(unknown)}: the systems here are {known}"
            )
        history = history.only(systems)
    span = Period.spanning(history)
    if span is None:
        raise UsageError(
            "there are no deployments or incidents to report on: backfill with "
            "'pulse-backfill git' first"
        )
    period = Period(since if since is not None else span.since, until or span.until)
    if period.since >= period.until:
        raise UsageError("--since must be before --until")
    return Report(
        period=period,
        systems={
            name: Timeline(history.only([name])).four_keys(period) for name in history.systems
        },
        all=Timeline(history).four_keys(period),
        weekly_deployments=weekly_deployments(history, period),
        monthly_lead_time=monthly_lead_time(history, period),
        by=by,
        periods=[] if by is None else trends(history, period, by),
        failures=sorted(
            (f for f in history.failures if f.deployed_at in period),
            key=lambda f: (f.deployed_at, f.system, f.deployment),
        ),
    )


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
