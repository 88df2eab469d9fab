"""The report's figures as a person reads them, the same on a terminal, in plain text and on
the HTML page: durations, each key's figure and level, the names of periods."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from pulse_backfill.report.build import Report
from pulse_backfill.report.keys import (
    DAY,
    HOUR,
    MINUTE,
    NO_FAILURE_DATA,
    NO_FAILURES,
    Failure,
    FourKeys,
    Level,
    Period,
)
from pulse_backfill.report.trends import Granularity

# Short forms of DORA's names, for a table of every key in 80 columns; NAMES gives them whole.
HEADERS = ("system", "frequency", "lead time", "recovery", "fail rate", "rework")
ALL_SYSTEMS = "all systems"
NAMES = (
    "Frequency, lead time, recovery, fail rate and rework are DORA's deployment frequency, "
    "change lead time, failed deployment recovery time, change fail rate and deployment "
    "rework rate (dora.dev). Pulse's dashboard calls the first four deployment "
    "frequency, lead time for changes, time to recover and change failure rate; it does not "
    "show rework rate."
)
NO_DATA = "no data"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    sign, seconds = ("-" if seconds < 0 else ""), abs(seconds)
    if seconds < HOUR:
        text = f"{seconds / MINUTE:.0f} min"
    elif seconds < DAY:
        text = f"{seconds / HOUR:.1f} h"
    elif seconds < 60 * DAY:
        text = _plural(seconds / DAY, "day")
    else:
        text = _plural(seconds / (30.44 * DAY), "month")
    return sign + text


def _plural(value: float, unit: str) -> str:
    """'1.0 day', '1.5 days': singular only where the number shown is one."""
    shown = f"{value:.1f}"
    return f"{shown} {unit}{'' if shown == '1.0' else 's'}"


def per_day(value: float) -> str:
    # Under 0.01, two significant digits: a deployment in a year is 0.0027/day, not 0.00.
    return f"{value:.2g}/day" if 0 < value < 0.005 else f"{value:.2f}/day"


def percent(rate: float) -> str:
    return f"{rate:.0%}"


def cells(keys: FourKeys) -> list[tuple[str, Level | None]]:
    """Each key as (figure, level), the figure as a person reads it: "no data" where nothing
    was measured, "no failures" where failures are known and none came."""
    return [(key.cell(keys), key.level(keys)) for key in KEYS]


@dataclass(frozen=True)
class Key:
    """One of the keys, as the table and a trend show it."""

    name: str  # DORA's
    short: str  # for a terminal's 80 columns
    json: str  # its name in --json
    value: Callable[[FourKeys], float | None]
    level: Callable[[FourKeys], Level | None]
    shown: Callable[[float], str]
    counts: Callable[[FourKeys], str]  # what the value is computed from
    higher_is_better: bool
    # For a share of deployments: "failed/all", shown beside it in the table.
    fraction: Callable[[FourKeys], str] | None = None

    def cell(self, keys: FourKeys) -> str:
        value = self.value(keys)
        if value is None:
            return "no failures" if keys.missing.get(self.json) == NO_FAILURES else NO_DATA
        if self.fraction is not None:
            return f"{self.shown(value)} ({self.fraction(keys)})"
        return self.shown(value)


KEYS = (
    Key(
        "deployment frequency",
        "deploy frequency",
        "deployment_frequency",
        lambda k: k.per_day,
        lambda k: k.frequency_level,
        per_day,
        lambda k: _count(k.deployments, "deployment"),
        higher_is_better=True,
    ),
    Key(
        "change lead time",
        "lead time",
        "lead_time",
        lambda k: k.lead_time_median,
        lambda k: k.lead_time_level,
        duration,
        lambda k: f"median of {_count(k.lead_time_changes, 'change')}",
        higher_is_better=False,
    ),
    Key(
        "failed deployment recovery time",
        "recovery time",
        "time_to_recover",
        lambda k: k.recovery_mean,
        lambda k: k.recovery_level,
        duration,
        lambda k: f"mean of {_count(k.incidents, 'incident')}",
        higher_is_better=False,
    ),
    Key(
        "change fail rate",
        "fail rate",
        "change_failure_rate",
        lambda k: k.failure_rate,
        lambda k: k.failure_level,
        percent,
        lambda k: f"{k.failed_deployments} of {_count(k.failure_deployments, 'deployment')} failed",
        higher_is_better=False,
        fraction=lambda k: f"{k.failed_deployments}/{k.failure_deployments}",
    ),
    Key(
        "deployment rework rate",
        "rework rate",
        "rework_rate",
        lambda k: k.rework_rate,
        lambda k: None,  # DORA gives it no levels yet
        percent,
        lambda k: f"{k.recoveries} of {_count(k.rework_deployments, 'deployment')} to recover",
        higher_is_better=False,
        fraction=lambda k: f"{k.recoveries}/{k.rework_deployments}",
    ),
)


# Each key's levels, written out: what a tile states beside its level.
THRESHOLDS = {
    "deployment_frequency": "elite: a deployment on more than half the days; high: in more "
    "than half the months; medium: in more than half the half-years; low: fewer",
    "lead_time": "elite under 1 hour, high under 1 week, medium under 6 months, low beyond",
    "time_to_recover": "elite under 1 hour, high under 1 day, medium under 1 week, low beyond",
    "change_failure_rate": "elite up to 15%, high up to 30%, low above (Pulse names no medium)",
    "rework_rate": "DORA gives it no levels yet",
}


def why(key: Key, keys: FourKeys) -> str | None:
    """Why `key` has no value in `keys`, or None where it has one."""
    return None if key.value(keys) is not None else keys.missing.get(key.json, NO_DATA)


def against(key: Key, now: FourKeys, before: FourKeys, days: int) -> tuple[str, bool | None]:
    """`key` against the window of `days` days before: '↓ from 2.0 days in the previous 90
    days', and whether that is better (None: no change, or nothing to compare)."""
    previous = f"the previous {_count(days, 'day')}"
    was, is_ = key.value(before), key.value(now)
    if was is None:
        if is_ is None and why(key, before) == why(key, now):
            return f"nor in {previous}", None
        return f"no data in {previous}: {why(key, before)}", None
    if is_ is None:
        return f"{key.shown(was)} in {previous}", None
    change, better = direction(key, [was, is_])
    return f"{change} in {previous}", better


def failure_notes(report: Report, systems: Sequence[str] = ()) -> list[str]:
    """What each system's failures (of `systems`, default all) are known from, or why they
    are not: under the table."""
    chosen = {n: k for n, k in report.systems.items() if not systems or n in systems}
    lines = []
    unknown = [name for name, keys in chosen.items() if not keys.failure_sources]
    for name, keys in chosen.items():
        if keys.failure_sources:
            found = _count(keys.failed_deployments, "failed deployment")
            lines.append(f"{name}: failures from {', '.join(keys.failure_sources)} ({found})")
    if unknown:
        lines.append(f"{', '.join(unknown)}: no data for failures: {NO_FAILURE_DATA}")
    return lines


def failure_lines(failure: Failure, width: int = 80) -> list[str]:
    """One failed deployment, what recovered it, and what marked it, in `width` columns."""
    took = duration(failure.recovered_at - failure.deployed_at)
    if failure.rule == "rollbacks":
        marker = f"rollbacks: rolled back by {failure.marker}"
    else:
        marker = f"{failure.rule}: {failure.marker[:10]} {failure.subject or ''}".rstrip()
    return [
        f"{failure.system} {failure.deployment}, {day(failure.deployed_at)}: recovered by "
        f"{failure.recovered_by} after {took}",
        "  " + textwrap.shorten(marker, width - 2, placeholder="...", break_on_hyphens=False),
    ]


def _count(number: int, thing: str) -> str:
    return f"{number} {thing}{'' if number == 1 else 's'}"


def direction(key: Key, values: Sequence[float | None]) -> tuple[str, bool | None]:
    """'↑ from X' (or ↓, =) from the first period with a value to the last; and whether that
    is better (None: no change, or fewer than two values)."""
    known = [value for value in values if value is not None]
    if len(known) < 2:
        return "", None
    first, last = known[0], known[-1]
    if key.shown(first) == key.shown(last):
        return f"= from {key.shown(first)}", None
    up = last > first
    return f"{'↑' if up else '↓'} from {key.shown(first)}", up == key.higher_is_better


def period_line(period: Period) -> str:
    return f"The four keys, {_span(period)}"


def trend_line(report: Report) -> str:
    return f"The four keys by {report.by}, {_span(report.period)}"


def _span(period: Period) -> str:
    return f"{day(period.since)} to {day(period.until - DAY)} ({_count(period.days, 'day')}, UTC)"


def period_name(period: Period, by: Granularity) -> str:
    """2020-W41, 2020-10 or 2020-Q4: the calendar period `period` (maybe clipped) is of."""
    start = datetime.fromtimestamp(period.since, UTC)
    if by is Granularity.WEEK:
        year, week, _ = start.isocalendar()
        return f"{year}-W{week:02d}"
    if by is Granularity.MONTH:
        return f"{start.year}-{start.month:02d}"
    return f"{start.year}-Q{(start.month - 1) // 3 + 1}"


def rows(report: Report) -> list[tuple[str, FourKeys]]:
    """Each system's keys, then all systems' when there are several."""
    named = list(report.systems.items())
    if len(named) > 1:
        named.append((ALL_SYSTEMS, report.all))
    return named


def day(moment: int) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d")


def trend_rows(report: Report) -> list[tuple[str, list[FourKeys]]]:
    """Each system's keys in every period, then all systems' when there are several."""
    named = [(name, [p.systems[name] for p in report.periods]) for name in report.systems]
    if len(named) > 1:
        named.append((ALL_SYSTEMS, [p.all for p in report.periods]))
    return named
