"""The report's figures as a person reads them, the same on a terminal, in plain text and on
the HTML page: durations, each key's figure and level, the names of periods."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from pulse_backfill.report.build import Report
from pulse_backfill.report.keys import DAY, HOUR, MINUTE, FourKeys, Level, Period
from pulse_backfill.report.trends import Granularity

# Short enough for a table of every key in 80 columns.
HEADERS = ("system", "deploy frequency", "lead time", "time to recover", "failure rate")
ALL_SYSTEMS = "all systems"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    sign, seconds = ("-" if seconds < 0 else ""), abs(seconds)
    if seconds < HOUR:
        text = f"{seconds / MINUTE:.0f} min"
    elif seconds < DAY:
        text = f"{seconds / HOUR:.1f} h"
    elif seconds < 60 * DAY:
        text = f"{seconds / DAY:.1f} days"
    else:
        text = f"{seconds / (30.44 * DAY):.1f} months"
    return sign + text


def per_day(value: float) -> str:
    return f"{value:.2f}/day"


def percent(rate: float) -> str:
    return f"{rate:.0%}"


def cells(keys: FourKeys) -> list[tuple[str, Level | None]]:
    """Each key as (figure, level), the figure as a person reads it."""
    rate = (
        "-"
        if keys.failure_rate is None
        else f"{percent(keys.failure_rate)} ({keys.failed_deployments}/{keys.deployments})"
    )
    return [
        (per_day(keys.per_day), keys.frequency_level),
        (duration(keys.lead_time_median), keys.lead_time_level),
        (duration(keys.recovery_mean), keys.recovery_level),
        (rate, keys.failure_level),
    ]


@dataclass(frozen=True)
class Key:
    """One of the four keys, as a trend shows it."""

    name: str
    value: Callable[[FourKeys], float | None]
    level: Callable[[FourKeys], Level | None]
    shown: Callable[[float], str]
    counts: Callable[[FourKeys], str]  # what the value is computed from
    higher_is_better: bool


KEYS = (
    Key(
        "deploy frequency",
        lambda k: k.per_day,
        lambda k: k.frequency_level,
        per_day,
        lambda k: _count(k.deployments, "deployment"),
        higher_is_better=True,
    ),
    Key(
        "lead time",
        lambda k: k.lead_time_median,
        lambda k: k.lead_time_level,
        duration,
        lambda k: f"median of {_count(k.lead_time_changes, 'change')}",
        higher_is_better=False,
    ),
    Key(
        "time to recover",
        lambda k: k.recovery_mean,
        lambda k: k.recovery_level,
        duration,
        lambda k: f"mean of {_count(k.incidents, 'incident')}",
        higher_is_better=False,
    ),
    Key(
        "failure rate",
        lambda k: k.failure_rate,
        lambda k: k.failure_level,
        percent,
        lambda k: f"{k.failed_deployments} of {_count(k.deployments, 'deployment')} failed",
        higher_is_better=False,
    ),
)


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
    return f"{day(period.since)} to {day(period.until - DAY)} ({period.days} days, UTC)"


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
