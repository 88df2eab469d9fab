"""The four keys over time: the report's period cut into calendar weeks, months or quarters
(UTC), and the keys of each, per system and for all systems together.

Pure logic over plain records, as `keys` is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pulse_backfill.report.keys import DAY, FourKeys, History, Period, Timeline, midnight


class Granularity(StrEnum):
    WEEK = "week"  # ISO weeks: Monday first
    MONTH = "month"
    QUARTER = "quarter"


@dataclass(frozen=True)
class PeriodKeys:
    period: Period
    systems: dict[str, FourKeys]
    all: FourKeys

    def to_json(self) -> dict[str, Any]:
        return {
            **self.period.to_json(),
            "systems": {name: keys.to_json() for name, keys in self.systems.items()},
            "all": self.all.to_json(),
        }


def calendar_periods(period: Period, by: Granularity) -> list[Period]:
    """The weeks, months or quarters `period` touches, in order, the first and last clipped
    to it."""
    periods = []
    start = _start_of(period.since, by)
    while start < period.until:
        end = _next(start, by)
        periods.append(Period(max(start, period.since), min(end, period.until)))
        start = end
    return periods


def trends(history: History, period: Period, by: Granularity) -> list[PeriodKeys]:
    """The keys of every calendar period of `period`, for each system of `history` (every
    period names them all) and for all of them together."""
    windows = calendar_periods(period, by)
    timelines = {name: Timeline(history.only([name])) for name in history.systems}
    together = Timeline(history)
    return [
        PeriodKeys(
            window,
            {name: timeline.four_keys(window) for name, timeline in timelines.items()},
            together.four_keys(window),
        )
        for window in windows
    ]


def _start_of(moment: int, by: Granularity) -> int:
    day = datetime.fromtimestamp(midnight(moment), UTC)
    if by is Granularity.WEEK:
        return midnight(moment) - day.weekday() * DAY
    month = day.month if by is Granularity.MONTH else day.month - (day.month - 1) % 3
    return int(datetime(day.year, month, 1, tzinfo=UTC).timestamp())


def _next(start: int, by: Granularity) -> int:
    if by is Granularity.WEEK:
        return start + 7 * DAY
    day = datetime.fromtimestamp(start, UTC)
    months = day.month - 1 + (1 if by is Granularity.MONTH else 3)
    return int(datetime(day.year + months // 12, months % 12 + 1, 1, tzinfo=UTC).timestamp())
