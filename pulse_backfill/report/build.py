"""The report's figures: the events of a store or an export, read as a history, and the four keys
over a period of it, per system and for all together."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from pulse_backfill.errors import UsageError
from pulse_backfill.pulse.export import read_events
from pulse_backfill.report.keys import (
    UNKNOWN_SYSTEM,
    Deployment,
    FourKeys,
    History,
    Incident,
    Period,
    four_keys,
    monthly_lead_time,
    weekly_deployments,
)
from pulse_backfill.store import read_events as read_store_events


@dataclass(frozen=True)
class Report:
    period: Period
    systems: dict[str, FourKeys]
    all: FourKeys
    weekly_deployments: list[tuple[int, int]]
    monthly_lead_time: list[tuple[str, float | None]]

    def to_json(self) -> dict[str, Any]:
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
        }


def history_from_store(path: Path) -> History:
    return _history(
        (system, kind, json.loads(body)) for system, kind, body in read_store_events(path)
    )


def history_from_file(path: Path) -> History:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
        raise UsageError(f"cannot read --from {path} ({reason}): pass an NDJSON export") from None
    events = read_events(text, str(path), None)
    return _history((event.system or "", event.kind, event.body) for event in events)


def build_report(
    history: History, *, systems: Sequence[str], since: int | None, until: int | None
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
        systems={name: four_keys(history.only([name]), period) for name in history.systems},
        all=four_keys(history, period),
        weekly_deployments=weekly_deployments(history, period),
        monthly_lead_time=monthly_lead_time(history, period),
    )


def _history(events: Iterable[tuple[str, str, dict[str, Any]]]) -> History:
    history = History()
    for system, kind, body in events:
        system = system or UNKNOWN_SYSTEM
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
                )
            )
    return history


def _epoch(rfc3339: str) -> int:
    return int(datetime.fromisoformat(rfc3339).timestamp())
