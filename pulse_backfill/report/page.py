"""The report as one self-contained HTML page (no network at view time) for sharing: the
table of the four keys, with `--by` a trend chart per key, and the two charts."""

from __future__ import annotations

import html
from collections.abc import Callable

from pulse_backfill.report.build import Report
from pulse_backfill.report.figures import (
    KEYS,
    NAMES,
    cells,
    day,
    duration,
    failure_notes,
    period_line,
    rows,
    trend_line,
    trend_rows,
)
from pulse_backfill.report.trend_chart import (
    LEVEL_COLOUR,
    NO_LEVEL,
    series_colour,
    trend_chart,
)


def html_page(report: Report) -> str:
    table = "".join(
        "<tr><th scope='row'>" + html.escape(name) + "</th>"
        + "".join(
            f"<td>{html.escape(figure)} <span class='level' style='color:"
            f"{LEVEL_COLOUR[level] if level else NO_LEVEL}'>{level or ''}</span></td>"
            for figure, level in cells(keys)
        )
        + "</tr>"
        for name, keys in rows(report)
    )  # fmt: skip
    weeks = report.weekly_deployments
    months = report.monthly_lead_time
    deployments = _svg_chart(
        "deployments-per-week",
        [(day(week), float(count), str(count)) for week, count in weeks],
        "deployments",
        lambda count: f"{count:g}",
    )
    lead_times = _svg_chart(
        "lead-time-per-month",
        [(month, median, duration(median)) for month, median in months],
        "median lead time",
        duration,
    )
    return _PAGE.format(
        title=html.escape(period_line(report.period)),
        headers="<th scope='col'>system</th>"
        + "".join(f"<th scope='col'>{html.escape(key.name)}</th>" for key in KEYS),
        rows=table,
        notes="".join(f"<p class='note'>{html.escape(line)}</p>" for line in failure_notes(report))
        + f"<p class='note'>{html.escape(NAMES)}</p>",
        failures=_failures(report),
        trends=_trends(report),
        deployments=deployments,
        lead_times=lead_times,
    )


def _trends(report: Report) -> str:
    if report.by is None:
        return ""
    series = trend_rows(report)
    periods = [p.period for p in report.periods]
    legend = "".join(
        f"<span class='series'><svg width='18' height='10'><line x1='0' y1='5' x2='18' y2='5' "
        f"stroke='{series_colour(name, n)}' "
        f"stroke-width='3' /></svg> {html.escape(name)}</span>"
        for n, (name, _) in enumerate(series)
    )
    levels = "".join(
        f"<span class='series'><svg width='10' height='10'><circle cx='5' cy='5' r='4' "
        f"fill='{colour}' /></svg> {level}</span>"
        for level, colour in LEVEL_COLOUR.items()
    )
    charts = "".join(
        f"<h3>{html.escape(key.name.capitalize())}</h3>"
        + trend_chart(key, series, periods, report.by)
        for key in KEYS
    )
    return (
        f"<h2>{html.escape(trend_line(report))}</h2>"
        f"<p class='legend'>{legend}</p><p class='legend'>{levels}; "
        "hover over a point for its period, value, level and counts</p>" + charts
    )


def _failures(report: Report) -> str:
    """Every failed deployment of the period, what marked it and what recovered it."""
    if not report.failures:
        return ""
    rows = []
    for failure in report.failures:
        if failure.rule == "rollbacks":
            marker = f"rolled back by {failure.marker}"
        else:
            marker = f"{failure.marker[:10]} {failure.subject or ''}"
        rows.append(
            "<tr>"
            + "".join(
                f"<td>{html.escape(cell)}</td>"
                for cell in (
                    failure.system,
                    failure.deployment,
                    day(failure.deployed_at),
                    failure.rule,
                    marker,
                    failure.recovered_by,
                    duration(failure.recovered_at - failure.deployed_at),
                )
            )
            + "</tr>"
        )
    headers = ("system", "failed deployment", "deployed", "rule", "marked by", "recovered by",
               "recovery time")  # fmt: skip
    return (
        f"<h2 id='failures'>Failed deployments ({len(report.failures)})</h2>"
        "<table class='failures'><thead><tr>"
        + "".join(f"<th scope='col'>{h}</th>" for h in headers)
        + "</tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
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
    var trends = document.querySelectorAll("svg.trend");
    page.dataset.trends = String(trends.length);
    var points = document.querySelectorAll("svg.trend circle.point");
    page.dataset.points = String(points.length);
    var tips = Array.prototype.filter.call(points, function (point) {{
      var title = point.querySelector("title");
      return title !== null && title.textContent.length > 0;
    }});
    page.dataset.tooltips = String(tips.length);
  }});
</script>
<style>
  body {{ font: 15px/1.5 system-ui, sans-serif; color: #1f2328; }}
  body {{ margin: 2rem auto; max-width: 60rem; padding: 0 1rem; }}
  table {{ border-collapse: collapse; width: 100%; margin: 1rem 0 2rem; }}
  th, td {{ text-align: left; padding: .4rem .6rem; border-bottom: 1px solid #d0d7de; }}
  .level {{ font-weight: 600; }}
  .note {{ color: #57606a; margin: .3rem 0; }}
  svg.chart {{ width: 100%; height: auto; }}
  svg.chart rect {{ fill: #0969da; }}
  svg.chart line {{ stroke: #57606a; }}
  svg.chart text, svg.trend text {{ font-size: 12px; fill: #57606a; }}
  svg.trend {{ width: 100%; height: auto; }}
  svg.trend line {{ stroke: #57606a; }}
  .legend {{ color: #57606a; }}
  .series {{ margin-right: 1rem; white-space: nowrap; }}
</style>
</head>
<body>
<h1>{title}</h1>
<table>
<thead><tr>{headers}</tr></thead>
<tbody>{rows}</tbody>
</table>
{notes}
{failures}
{trends}
<h2>Deployments per week</h2>
{deployments}
<h2>Median lead time per month</h2>
{lead_times}
<p>Computed by pulse-backfill as Pulse computes the four keys.</p>
</body>
</html>
"""
