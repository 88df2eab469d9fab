"""The report for people: a table and two charts, on a terminal, as plain text, or as HTML."""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from rich import box
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from pulse_backfill.report.build import Report
from pulse_backfill.report.keys import DAY, HOUR, MINUTE, FourKeys, Level, Period

CHART_HEIGHT = 8
CHART_WIDTH = 64  # columns of bars: with the axis, the chart fits in 80 columns
_AXIS = 13  # room for "10.5 months"
_PARTIAL = " ▁▂▃▄▅▆▇█"
_STYLE = {Level.ELITE: "green", Level.HIGH: "cyan", Level.MEDIUM: "yellow", Level.LOW: "red"}
_HTML_COLOUR = {
    Level.ELITE: "#1a7f37",
    Level.HIGH: "#0969da",
    Level.MEDIUM: "#9a6700",
    Level.LOW: "#cf222e",
}
# Short enough for a table of every key in 80 columns.
HEADERS = ("system", "deploy frequency", "lead time", "time to recover", "failure rate")


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


def cells(keys: FourKeys) -> list[tuple[str, Level | None]]:
    """Each key as (figure, level), the figure as a person reads it."""
    rate = (
        "-"
        if keys.failure_rate is None
        else f"{keys.failure_rate:.0%} ({keys.failed_deployments}/{keys.deployments})"
    )
    return [
        (f"{keys.per_day:.2f}/day", keys.frequency_level),
        (duration(keys.lead_time_median), keys.lead_time_level),
        (duration(keys.recovery_mean), keys.recovery_level),
        (rate, keys.failure_level),
    ]


def period_line(period: Period) -> str:
    last = datetime.fromtimestamp(period.until - DAY, UTC).strftime("%Y-%m-%d")
    first = datetime.fromtimestamp(period.since, UTC).strftime("%Y-%m-%d")
    return f"The four keys, {first} to {last} ({period.days} days, UTC)"


def _rows(report: Report) -> list[tuple[str, FourKeys]]:
    rows = list(report.systems.items())
    if len(rows) > 1:
        rows.append(("all systems", report.all))
    return rows


# Plain text: what a log or a pipe gets, and what the golden files hold.


def plain_text(report: Report) -> list[str]:
    rows = [
        [name, *(f"{figure} {level or ''}".strip() for figure, level in cells(keys))]
        for name, keys in _rows(report)
    ]
    widths = [max(len(row[i]) for row in [list(HEADERS), *rows]) for i in range(len(HEADERS))]
    lines = [period_line(report.period), ""]
    for row in [list(HEADERS), *rows]:
        lines.append(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
    lines += ["", *_charts(report, plain=True)]
    return lines


def _charts(report: Report, *, plain: bool) -> list[str]:
    weeks = report.weekly_deployments
    week_labels = (_day(weeks[0][0]), _day(weeks[-1][0])) if weeks else ("", "")
    months = report.monthly_lead_time
    lines = ["Deployments per week"]
    lines += column_chart([float(c) for _, c in weeks], week_labels, _count, sum, plain=plain)
    lines += ["", "Median lead time per month"]
    lines += column_chart(
        [m for _, m in months], (months[0][0], months[-1][0]), duration, _mean, plain=plain
    )
    return lines


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


def _day(moment: int) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d")


# A terminal: the same, with rich's table and colour.


def show(report: Report, console: Console) -> None:
    if not console.is_terminal:
        for line in plain_text(report):
            console.print(line, markup=False, highlight=False)
        return
    table = Table(*HEADERS, box=box.SIMPLE_HEAVY, title=period_line(report.period))
    for name, keys in _rows(report):
        table.add_row(
            name,
            *(
                Text.assemble(figure, " ", (level or "", _STYLE[level] if level else ""))
                for figure, level in cells(keys)
            ),
        )
    charts = Text("\n".join(_charts(report, plain=False)), style="bright_blue")
    console.print(Group(table, charts))


# HTML: one self-contained page (no network at view time) for sharing.


def html_page(report: Report) -> str:
    rows = "".join(
        "<tr><th scope='row'>" + html.escape(name) + "</th>"
        + "".join(
            f"<td>{html.escape(figure)} <span class='level' style='color:"
            f"{_HTML_COLOUR[level] if level else '#57606a'}'>{level or ''}</span></td>"
            for figure, level in cells(keys)
        )
        + "</tr>"
        for name, keys in _rows(report)
    )  # fmt: skip
    weeks = report.weekly_deployments
    months = report.monthly_lead_time
    deployments = _svg_chart(
        "deployments-per-week",
        [(_day(week), float(count), str(count)) for week, count in weeks],
        "deployments",
        _count,
    )
    lead_times = _svg_chart(
        "lead-time-per-month",
        [(month, median, duration(median)) for month, median in months],
        "median lead time",
        duration,
    )
    return _PAGE.format(
        title=html.escape(period_line(report.period)),
        headers="".join(f"<th scope='col'>{html.escape(h)}</th>" for h in HEADERS),
        rows=rows,
        deployments=deployments,
        lead_times=lead_times,
    )


def _svg_chart(
    name: str,
    points: list[tuple[str, float | None, str]],
    what: str,
    label: Callable[[float], str],
) -> str:
    width, height, pad = 720, 220, 30
    top = max((v for _, v, _ in points if v is not None), default=0.0) or 1.0
    top_label = f"top: {label(top)}"
    step = (width - 2 * pad) / max(len(points), 1)
    bar_width = min(max(step - 2, 1), 48)  # a few wide bars read as blocks, not bars
    bars = []
    for index, (name_of_bar, value, shown) in enumerate(points):
        if value is None:
            continue
        bar = max(value, 0) / top * (height - 2 * pad)
        x = pad + index * step
        bars.append(
            f"<rect x='{x:.1f}' y='{height - pad - bar:.1f}' width='{bar_width:.1f}' "
            f"height='{bar:.1f}'><title>{html.escape(name_of_bar)}: {html.escape(shown)} "
            f"{what}</title></rect>"
        )
    first = html.escape(points[0][0]) if points else ""
    last = html.escape(points[-1][0]) if points else ""
    return (
        f"<svg class='chart' id='{name}' viewBox='0 0 {width} {height}' role='img' "
        f"aria-label='{html.escape(what)}'>"
        f"<line x1='{pad}' y1='{height - pad}' x2='{width - pad}' y2='{height - pad}' />"
        + "".join(bars)
        + f"<text x='{pad}' y='{pad - 10}'>{html.escape(top_label)} {html.escape(what)}</text>"
        f"<text x='{pad}' y='{height - 8}'>{first}</text>"
        f"<text x='{width - pad}' y='{height - 8}' text-anchor='end'>{last}</text></svg>"
    )


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<script>
  // Marks the page for checks: script errors, and how many charts drew bars.
  var page = document.documentElement;
  window.addEventListener("error", function () {{
    page.dataset.errors = String(Number(page.dataset.errors || 0) + 1);
  }});
  window.addEventListener("DOMContentLoaded", function () {{
    var charts = document.querySelectorAll("svg.chart");
    var drawn = Array.prototype.filter.call(charts, function (svg) {{
      return svg.querySelectorAll("rect").length > 0;
    }});
    page.dataset.charts = String(drawn.length);
  }});
</script>
<style>
  body {{ font: 15px/1.5 system-ui, sans-serif; color: #1f2328; }}
  body {{ margin: 2rem auto; max-width: 60rem; padding: 0 1rem; }}
  table {{ border-collapse: collapse; width: 100%; margin: 1rem 0 2rem; }}
  th, td {{ text-align: left; padding: .4rem .6rem; border-bottom: 1px solid #d0d7de; }}
  .level {{ font-weight: 600; }}
  svg.chart {{ width: 100%; height: auto; }}
  svg.chart rect {{ fill: #0969da; }}
  svg.chart line {{ stroke: #57606a; }}
  svg.chart text {{ font-size: 12px; fill: #57606a; }}
</style>
</head>
<body>
<h1>{title}</h1>
<table>
<thead><tr>{headers}</tr></thead>
<tbody>{rows}</tbody>
</table>
<h2>Deployments per week</h2>
{deployments}
<h2>Median lead time per month</h2>
{lead_times}
<p>Computed by pulse-backfill as Pulse computes the four keys.</p>
</body>
</html>
"""
