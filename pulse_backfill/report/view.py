"""The report for people, on a terminal or as plain text: a table of the four keys, two
charts, and with `--by` a trend line per key and system."""

from __future__ import annotations

import math
import textwrap
from collections.abc import Callable, Sequence

from rich import box
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from pulse_backfill.report.build import Report
from pulse_backfill.report.figures import (
    HEADERS,
    KEYS,
    NAMES,
    NO_DATA,
    Key,
    cells,
    day,
    direction,
    duration,
    failure_lines,
    failure_notes,
    period_line,
    period_name,
    rows,
    trend_line,
    trend_rows,
)
from pulse_backfill.report.keys import NO_FAILURES, FourKeys, Level

CHART_HEIGHT = 8
CHART_WIDTH = 64  # columns of bars: with the axis, the chart fits in 80 columns
_AXIS = 13  # room for "10.5 months"
_PARTIAL = " ▁▂▃▄▅▆▇█"
_STYLE = {Level.ELITE: "green", Level.HIGH: "cyan", Level.MEDIUM: "yellow", Level.LOW: "red"}
# A trend line: "  lead time         ▇▅▃▂▁·▁  2.1 h       high    ↓ from 3.2 days", 80 columns.
SPARK_WIDTH = 20  # marks; more periods than this are merged, a mark for several
_SPARK = "▁▂▃▄▅▆▇█"
_NONE = "·"  # a period with nothing to compute the key from
_KEY_WIDTH = 16
_VALUE_WIDTH = 11  # "10.5 months"
_LEVEL_WIDTH = 6

Segment = tuple[str, str]  # text, and its rich style ("" for none)


# Plain text: what a log or a pipe gets, and what the golden files hold.


def plain_text(report: Report) -> list[str]:
    table = [list(HEADERS)] + [
        [name, *(f"{figure} {level or ''}".strip() for figure, level in cells(keys))]
        for name, keys in rows(report)
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(HEADERS))]
    lines = [period_line(report.period), ""]
    for row in table:
        lines.append(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
    lines += ["", *notes(report), "", *_charts(report, plain=True)]
    if report.by is not None:
        lines += ["", *(_plain(line) for line in trend_lines(report))]
        lines += ["", *period_tables(report)]
    return lines


def period_tables(report: Report) -> list[str]:
    """With --by, the figures behind the trend lines: per system (and all systems), a row per
    period, as the table above; then why each "no data" is one."""
    assert report.by is not None
    names = [period_name(p.period, report.by) for p in report.periods]
    lines = [f"The numbers by {report.by}"]
    reasons: dict[str, None] = {}
    for name, periods in trend_rows(report):
        table = [["period", *HEADERS[1:]]] + [
            [period, *(f"{figure} {level or ''}".strip() for figure, level in cells(keys))]
            for period, keys in zip(names, periods, strict=True)
        ]
        for keys in periods:  # "no failures" says its own
            reasons.update(dict.fromkeys(r for r in keys.missing.values() if r != NO_FAILURES))
        widths = [max(len(row[i]) for row in table) for i in range(len(HEADERS))]
        lines += ["", name]
        lines += [
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
            for row in table
        ]
    if reasons:
        lines += [""] + [
            wrapped
            for reason in reasons
            for wrapped in textwrap.wrap(
                f"no data: {reason}", 80, subsequent_indent="  ", break_on_hyphens=False
            )
        ]
    return lines


FAILURES_SHOWN = 20  # the latest; --json and the page list them all


def notes(report: Report) -> list[str]:
    """Under the table: what failures are known from, the keys' names, the failures found; in
    80 columns."""
    lines = [
        wrapped
        for note in [*([report.hint] if report.hint else []), *failure_notes(report), NAMES]
        for wrapped in textwrap.wrap(note, 80, subsequent_indent="  ", break_on_hyphens=False)
    ]
    failures = report.failures
    if failures:
        more = len(failures) - FAILURES_SHOWN
        lines += ["", f"Failed deployments ({len(failures)}{', the latest' if more > 0 else ''})"]
        lines += [line for f in failures[-FAILURES_SHOWN:] for line in failure_lines(f)]
        if more > 0:
            lines.append(f"... and {more} earlier: 'report --json' and '--html' list them all")
    return lines


def _charts(report: Report, *, plain: bool) -> list[str]:
    weeks = report.weekly_deployments
    week_labels = (day(weeks[0][0]), day(weeks[-1][0])) if weeks else ("", "")
    months = report.monthly_lead_time
    # A column holds several weeks or months where there are more than it has columns: say so,
    # or its heights read as one week's.
    lines = ["Deployments per week" + _held(len(weeks), "week", "their sum")]
    lines += column_chart([float(c) for _, c in weeks], week_labels, _count, sum, plain=plain)
    lines += ["", "Median lead time per month" + _held(len(months), "month", "their mean")]
    lines += column_chart(
        [m for _, m in months], (months[0][0], months[-1][0]), duration, _mean, plain=plain
    )
    return lines


def _held(count: int, unit: str, merged: str) -> str:
    size = math.ceil(count / CHART_WIDTH)
    return f" (a column per {size} {unit}s, {merged})" if size > 1 else ""


def column_chart(
    values: Sequence[float | None],
    labels: tuple[str, str],
    label: Callable[[float], str],
    merge: Callable[[list[float]], float],
    *,
    plain: bool,
    height: int = CHART_HEIGHT,
    width: int = CHART_WIDTH,
) -> list[str]:
    """A column per value (values merged when there are more than `width`), an axis, and the
    first and last label under it."""
    if len(values) > width:
        size = math.ceil(len(values) / width)
        groups = [values[i : i + size] for i in range(0, len(values), size)]
        values = [
            merge([v for v in group if v is not None])
            if any(v is not None for v in group)
            else None
            for group in groups
        ]
    top = max((v for v in values if v is not None), default=0.0)
    lines = []
    for row in range(height, 0, -1):
        bars = "".join(_cell(value, top, row, height, plain) for value in values)
        axis = label(top) if row == height and top else ("0" if row == 1 else "")
        lines.append(f"{axis:>{_AXIS - 2}} {'|' if plain else '┤'}{bars}".rstrip())
    lines.append(
        " " * (_AXIS - 1) + ("+" if plain else "└") + ("-" if plain else "─") * len(values)
    )
    first, last = labels
    gap = max(1, len(values) + 1 - len(first) - len(last))
    lines.append(" " * _AXIS + first + (" " * gap + last if last != first else ""))
    return lines


def _cell(value: float | None, top: float, row: int, height: int, plain: bool) -> str:
    if value is None or top <= 0:
        return " "
    filled = max(value, 0) / top * height
    if filled >= row:
        return "#" if plain else "█"
    if plain or filled <= row - 1:
        return " "
    return _PARTIAL[round((filled - (row - 1)) * 8)]


def _count(value: float) -> str:
    return f"{value:g}"


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


# A terminal: the same, with rich's table and colour.


def show(report: Report, console: Console) -> None:
    if not console.is_terminal:
        for line in plain_text(report):
            console.print(line, markup=False, highlight=False)
        return
    table = Table(*HEADERS, box=box.SIMPLE_HEAVY, title=period_line(report.period))
    for name, keys in rows(report):
        table.add_row(
            name,
            *(
                Text.assemble(figure, " ", (level or "", _STYLE[level] if level else ""))
                for figure, level in cells(keys)
            ),
        )
    charts = Text.assemble(
        "\n".join(["", *notes(report), "", ""]),
        ("\n".join(_charts(report, plain=False)), "bright_blue"),
    )
    trends = [Text.assemble(*line) for line in trend_lines(report)] if report.by is not None else []
    numbers = [Text(), *(Text(line) for line in period_tables(report))] if report.by else []
    console.print(Group(table, charts, *([Text(), *trends, *numbers] if trends else [])))


# With --by: per system, a line per key, its periods as marks coloured by their level.


def trend_lines(report: Report) -> list[list[Segment]]:
    assert report.by is not None
    names = [period_name(p.period, report.by) for p in report.periods]
    size = math.ceil(len(names) / SPARK_WIDTH)
    each = f", a mark per {size} {report.by}s" if size > 1 else ""
    lines: list[list[Segment]] = [
        [(trend_line(report), "bold")],
        [(f"{names[0]} to {names[-1]}{each}; {_NONE}: nothing to compute from", "")],
    ]
    for name, periods in trend_rows(report):
        lines += [[("", "")], [(name, "bold")]]
        lines += [_key_line(key, periods, size) for key in KEYS]
    return lines


def _key_line(key: Key, periods: Sequence[FourKeys], size: int) -> list[Segment]:
    values = [key.value(keys) for keys in periods]
    levels = [key.level(keys) for keys in periods]
    marks = _sparkline(values, levels, size)
    # The latest value: that of the last period with one, as the direction's end.
    latest, level = next(
        (
            (v, lv)
            for v, lv in zip(reversed(values), reversed(levels), strict=True)
            if v is not None
        ),
        (None, None),
    )
    shown = NO_DATA if latest is None else key.shown(latest)
    change, better = direction(key, values)
    line: list[Segment] = [(f"  {key.short:<{_KEY_WIDTH}}  ", ""), *marks]
    line.append(("  ", ""))  # every line of a report has as many marks
    line.append((f"{shown:<{_VALUE_WIDTH}} ", ""))
    line.append((f"{level or '':<{_LEVEL_WIDTH}}", _STYLE[level] if level else ""))
    if change:
        line.append(("  ", ""))
        line.append((change, "" if better is None else "green" if better else "red"))
    return _trimmed(line)


def _sparkline(
    values: Sequence[float | None], levels: Sequence[Level | None], size: int
) -> list[Segment]:
    """A mark per `size` periods: its height the value (the mean of those merged) against
    the highest, from zero; its colour the level of the last period with a value."""
    marks: list[tuple[float | None, Level | None]] = []
    for start in range(0, len(values), size):
        group = zip(values[start : start + size], levels[start : start + size], strict=True)
        known = [(value, level) for value, level in group if value is not None]
        if known:
            marks.append((sum(v for v, _ in known) / len(known), known[-1][1]))
        else:
            marks.append((None, None))
    top = max((value for value, _ in marks if value is not None), default=0.0)
    return [
        (_NONE, "dim")
        if value is None
        else (_SPARK[_height(value, top)], _STYLE[level] if level else "")
        for value, level in marks
    ]


def _height(value: float, top: float) -> int:
    if top <= 0:
        return 0
    return min(len(_SPARK) - 1, max(0, round(value / top * (len(_SPARK) - 1))))


def _trimmed(line: list[Segment]) -> list[Segment]:
    text, style = line[-1]
    return [*line[:-1], (text.rstrip(), style)]


def _plain(line: Sequence[Segment]) -> str:
    return "".join(text for text, _ in line).rstrip()
