"""One key's trend as an SVG chart for the HTML page: a line per system and one for all
systems, a marker per period coloured by its level, a tooltip (`<title>`) on every marker,
and, where a key's level is a matter of its value, the levels' bands behind."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass

from pulse_backfill.report.figures import ALL_SYSTEMS, Key, day, period_name
from pulse_backfill.report.keys import (
    DAY,
    FAILURE_RATE_LIMITS,
    HOUR,
    LEAD_TIME_LIMITS,
    RECOVERY_LIMITS,
    FourKeys,
    Level,
    Period,
)
from pulse_backfill.report.trends import Granularity

LEVEL_COLOUR = {
    Level.ELITE: "#1a7f37",
    Level.HIGH: "#0969da",
    Level.MEDIUM: "#9a6700",
    Level.LOW: "#cf222e",
}
NO_LEVEL = "#57606a"
# Systems' lines; all systems together is drawn darker and thicker.
SYSTEM_COLOURS = ("#8250df", "#bf3989", "#0a7ea4", "#bc4c00", "#4d7c0f", "#6e7781")
ALL_COLOUR = "#1f2328"


def series_colour(name: str, number: int) -> str:
    """The line colour of the `number`th series, `name`."""
    return ALL_COLOUR if name == ALL_SYSTEMS else SYSTEM_COLOURS[number % len(SYSTEM_COLOURS)]


_WIDTH, _HEIGHT = 720, 240
_LEFT, _RIGHT, _TOP, _BOTTOM = 78, 16, 14, 34
# Where a key's level is set by its value alone: each level's upper bound, best first.
_BEST_FIRST = (Level.ELITE, Level.HIGH, Level.MEDIUM)
_BANDS: dict[str, tuple[tuple[Level, float], ...]] = {
    name: tuple(zip(_BEST_FIRST[: len(limits)], limits, strict=True))
    for name, limits in (
        ("lead_time", LEAD_TIME_LIMITS),
        ("time_to_recover", RECOVERY_LIMITS),
        ("change_failure_rate", FAILURE_RATE_LIMITS),
    )
}
_LOGARITHMIC = {"lead_time", "time_to_recover"}  # from minutes to months
_TICK_GAP = 14  # px between the axis' labels, so they do not overlap


@dataclass(frozen=True)
class Scale:
    low: float
    high: float
    logarithmic: bool

    def y(self, value: float) -> float:
        """The SVG y of `value`, clamped to the chart."""
        value = min(max(value, self.low), self.high)
        if self.logarithmic:
            share = math.log(value / self.low) / math.log(self.high / self.low)
        else:
            share = (value - self.low) / (self.high - self.low)
        return _TOP + (1 - share) * (_HEIGHT - _TOP - _BOTTOM)


def scale_for(key: Key, values: Sequence[float]) -> Scale:
    if key.fraction is not None:  # a share of deployments
        return Scale(0.0, 1.0, logarithmic=False)
    if key.json in _LOGARITHMIC:
        positive = [v for v in values if v > 0] or [HOUR]
        return Scale(min(positive) / 2, max(max(positive) * 2, min(positive)), logarithmic=True)
    return Scale(0.0, max(values, default=0.0) * 1.1 or 1.0, logarithmic=False)


def trend_chart(
    key: Key, series: Sequence[tuple[str, Sequence[FourKeys]]], periods: Sequence[Period],
    by: Granularity,
) -> str:  # fmt: skip
    """The SVG of `key` over `periods`, a line for each of `series` (name, keys per period)."""
    values = [v for _, keys in series for k in keys if (v := key.value(k)) is not None]
    scale = scale_for(key, values)
    step = (_WIDTH - _LEFT - _RIGHT) / max(len(periods) - 1, 1)

    def x(index: int) -> float:
        return _LEFT + index * step if len(periods) > 1 else (_LEFT + _WIDTH - _RIGHT) / 2

    names = [period_name(period, by) for period in periods]
    parts = [*_bands(key, scale), *_axes(key, scale, names)]
    for number, (system, keys) in enumerate(series):
        colour = series_colour(system, number)
        width = 2.5 if system == ALL_SYSTEMS else 1.5
        points = [
            (x(i), scale.y(v), k, i) for i, k in enumerate(keys) if (v := key.value(k)) is not None
        ]
        # A period with nothing to compute from breaks the line.
        for run in _runs(points):
            coordinates = " ".join(f"{px:.1f},{py:.1f}" for px, py, _, _ in run)
            parts.append(
                f"<polyline points='{coordinates}' fill='none' stroke='{colour}' "
                f"stroke-width='{width}' />"
            )
        for px, py, k, i in points:
            level = key.level(k)
            tip = _tooltip(key, system, k, periods[i], names[i])
            parts.append(
                f"<circle class='point' cx='{px:.1f}' cy='{py:.1f}' r='4' "
                f"fill='{LEVEL_COLOUR[level] if level else NO_LEVEL}' stroke='{colour}' "
                f"stroke-width='1.5'><title>{html.escape(tip)}</title></circle>"
            )
    if not values:
        parts.append(
            f"<text x='{(_LEFT + _WIDTH - _RIGHT) / 2}' y='{_HEIGHT / 2}' text-anchor='middle'>"
            "nothing to compute from in any period</text>"
        )
    slug = key.name.replace(" ", "-")
    return (
        f"<svg class='trend' id='trend-{slug}' viewBox='0 0 {_WIDTH} {_HEIGHT}' role='img' "
        f"aria-label='{html.escape(key.name)} by {by}'>" + "".join(parts) + "</svg>"
    )


def _tooltip(key: Key, system: str, keys: FourKeys, period: Period, name: str) -> str:
    value = key.value(keys)
    shown = "-" if value is None else key.shown(value)
    level = key.level(keys) or "no level"
    last = day(period.until - DAY)
    return (
        f"{system}, {name} ({day(period.since)} to {last}, {period.days} day"
        f"{'' if period.days == 1 else 's'}): "
        f"{key.name} {shown}, {level}; {key.counts(keys)}"
    )


def _runs(
    points: list[tuple[float, float, FourKeys, int]],
) -> list[list[tuple[float, float, FourKeys, int]]]:
    runs: list[list[tuple[float, float, FourKeys, int]]] = []
    for point in points:
        if runs and runs[-1][-1][3] == point[3] - 1:
            runs[-1].append(point)
        else:
            runs.append([point])
    return runs


def _bands(key: Key, scale: Scale) -> list[str]:
    if key.json not in _BANDS:
        return []  # deployment frequency's level counts days and months, not a rate
    bands = []
    low = scale.low
    for level, limit in (*_BANDS[key.json], (Level.LOW, math.inf)):
        top, bottom = scale.y(min(limit, scale.high)), scale.y(max(low, scale.low))
        if bottom - top > 0.5:
            bands.append(
                f"<rect class='band' x='{_LEFT}' y='{top:.1f}' width='{_WIDTH - _LEFT - _RIGHT}' "
                f"height='{bottom - top:.1f}' fill='{LEVEL_COLOUR[level]}' fill-opacity='0.08'>"
                f"<title>{level}</title></rect>"
            )
        low = limit
    return bands


def _axes(key: Key, scale: Scale, names: Sequence[str]) -> list[str]:
    bottom = _HEIGHT - _BOTTOM
    limits = [limit for _, limit in _BANDS.get(key.json, ()) if scale.low < limit < scale.high]
    ticks: list[float] = []
    for tick in [*limits, scale.low, scale.high]:  # the levels' limits first: they say most
        if all(abs(scale.y(tick) - scale.y(other)) >= _TICK_GAP for other in ticks):
            ticks.append(tick)
    parts = [f"<line x1='{_LEFT}' y1='{bottom}' x2='{_WIDTH - _RIGHT}' y2='{bottom}' />"]
    for tick in ticks:
        y = scale.y(tick)
        parts.append(
            f"<text x='{_LEFT - 6}' y='{y + 4:.1f}' text-anchor='end'>"
            f"{html.escape(key.shown(tick))}</text>"
        )
    parts.append(f"<text x='{_LEFT}' y='{_HEIGHT - 10}'>{html.escape(names[0])}</text>")
    if len(names) > 1:
        parts.append(
            f"<text x='{_WIDTH - _RIGHT}' y='{_HEIGHT - 10}' text-anchor='end'>"
            f"{html.escape(names[-1])}</text>"
        )
    return parts
