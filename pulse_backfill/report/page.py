"""The report as one self-contained HTML page (nothing loaded from the network): a tile per
key with its level and its change against the window before, a system selector, a trend chart
per key with its numbers per period under it, and the deployments, slowest changes and
failures behind them.

Every figure and every piece of text is the report's, computed and formatted here; the page's
script only shows those of the systems chosen, and draws them with Plotly (embedded once).
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from functools import cache
from importlib.resources import files
from typing import Any

from pulse_backfill.report.build import Report, Selection
from pulse_backfill.report.figures import (
    ALL_SYSTEMS,
    KEYS,
    NAMES,
    THRESHOLDS,
    Key,
    against,
    cells,
    day,
    duration,
    failure_notes,
    period_line,
    period_name,
    rows,
    why,
)
from pulse_backfill.report.keys import (
    DAY,
    FAILURE_RATE_LIMITS,
    HOUR,
    LEAD_TIME_LIMITS,
    MINUTE,
    RECOVERY_LIMITS,
    WEEK,
    FourKeys,
    Level,
)

# Colour goes by system (Okabe and Ito's palette, told apart with colour blindness too); the
# systems together are black. Levels are the bands behind the charts, faint.
SYSTEM_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#999999")
TOGETHER_COLOUR = "#1f2328"
LEVEL_COLOUR = {
    Level.ELITE: "#1a7f37",
    Level.HIGH: "#0969da",
    Level.MEDIUM: "#9a6700",
    Level.LOW: "#cf222e",
}
# Where a key's level is a matter of its value: each level's upper bound, best first.
_BANDS = {
    "lead_time": LEAD_TIME_LIMITS,
    "time_to_recover": RECOVERY_LIMITS,
    "change_failure_rate": FAILURE_RATE_LIMITS,
}
_LOGARITHMIC = {"lead_time", "time_to_recover"}  # from minutes to months
_TICKS = (MINUTE, 10 * MINUTE, HOUR, 6 * HOUR, DAY, WEEK, 4 * WEEK, 2 * 30.44 * DAY,
          182.5 * DAY, 365 * DAY, 730 * DAY)  # fmt: skip


def html_page(report: Report) -> str:
    data = page_data(report)
    # Safe inside <script>: no "</" to end it early.
    embedded = json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")
    compared = report.previous
    assert compared is not None
    return _PAGE.format(
        title=html.escape(period_line(report.period)),
        window=html.escape(
            f"From {day(report.period.since)} to {day(report.period.until - DAY)}, compared "
            f"with the {_days(report.period.days)} before ({day(compared.since)} to "
            f"{day(compared.until - DAY)}); the trends by {report.trend_by}."
            + (f" {report.hint}." if report.hint else "")
        ),
        choices="".join(
            f"<label class='choice'><input type='checkbox' name='system' "
            f"value='{html.escape(name)}' checked> <span class='swatch' "
            f"style='background:{_colour(n)}'></span> {html.escape(name)}</label>"
            for n, name in enumerate(report.systems)
        ),
        tiles="".join(
            f"<div class='tile' id='tile-{key.json}'><h3>{html.escape(key.name)}</h3></div>"
            for key in KEYS
        ),
        table=_table(report),
        notes=_notes(report),
        charts="".join(
            f"<section class='key'><h2>{html.escape(key.name.capitalize())} by "
            f"{report.trend_by}</h2><div class='chart' id='chart-{key.json}'></div>"
            f"<table class='periods' id='periods-{key.json}'></table>"
            f"<p class='note reasons' id='reasons-{key.json}'></p></section>"
            for key in KEYS
        ),
        deployments=_deployments(report),
        slowest=_slowest(report),
        failures=_failures(report),
        data=embedded,
        plotly=plotly_js(),
        together=TOGETHER_COLOUR,
        all_systems=html.escape(ALL_SYSTEMS),
    )


def _days(days: int) -> str:
    return "day" if days == 1 else f"{days} days"


@cache
def plotly_js() -> str:
    """plotly.js as the plotly package ships it, minified: embedded once, so that the page
    works offline."""
    return (files("plotly") / "package_data" / "plotly.min.js").read_text(encoding="utf-8")


def page_data(report: Report) -> dict[str, Any]:
    """What the page's script shows: every figure already computed and formatted."""
    names = list(report.systems)
    assert report.previous is not None
    return {
        "systems": [{"name": name, "colour": _colour(n)} for n, name in enumerate(names)],
        "periods": [
            {
                "name": period_name(p.period, report.trend_by),
                "span": f"{day(p.period.since)} to {day(p.period.until - DAY)}",
            }
            for p in report.periods
        ],
        "keys": [_key(key) for key in KEYS],
        "selections": {
            ",".join(str(names.index(name)) for name in chosen): _selection(
                selection, report.previous.days, len(names)
            )
            for chosen, selection in report.selections.items()
        },
    }


def _colour(number: int) -> str:
    return SYSTEM_COLOURS[number % len(SYSTEM_COLOURS)]


def _key(key: Key) -> dict[str, Any]:
    """How to draw a key: its axis, its ticks, and its levels' bands."""
    described: dict[str, Any] = {"json": key.json, "name": key.name}
    if key.json in _LOGARITHMIC:
        described["axis"] = {
            "type": "log",
            "tickvals": list(_TICKS),
            "ticktext": [duration(tick) for tick in _TICKS],
        }
    elif key.fraction is not None:  # a share of deployments
        described["axis"] = {"type": "linear", "tickformat": ".0%", "range": [0, 1.05]}
    else:
        described["axis"] = {"type": "linear", "ticksuffix": "/day", "rangemode": "tozero"}
    # Deployment frequency's level counts days and months, not a rate: no bands; rework rate
    # has no levels.
    bands = []
    if key.json in _BANDS:
        low = 1.0 if key.json in _LOGARITHMIC else 0.0  # a second: the floor of a log axis
        limits = _BANDS[key.json]
        levels = (*(Level.ELITE, Level.HIGH, Level.MEDIUM)[: len(limits)], Level.LOW)
        for level, high in zip(levels, (*limits, 100 * 365 * DAY if low else 1.05), strict=True):
            colour = LEVEL_COLOUR[level]
            bands.append({"level": str(level), "from": low, "to": high, "colour": colour})
            low = high
    described["bands"] = bands
    return described


def _selection(selection: Selection, days: int, systems: int) -> dict[str, Any]:
    label = (
        ALL_SYSTEMS
        if len(selection.systems) == systems and systems > 1
        else " + ".join(selection.systems)
    )
    return {
        "label": label,
        "tiles": [_tile(key, selection.keys, selection.previous, days) for key in KEYS],
        "values": [[key.value(keys) for keys in selection.periods] for key in KEYS],
        "cells": [[_cell(key, keys) for keys in selection.periods] for key in KEYS],
    }


def _tile(key: Key, keys: FourKeys, previous: FourKeys, days: int) -> dict[str, Any]:
    change, better = against(key, keys, previous, days)
    value = key.value(keys)
    return {
        "value": value,
        "shown": key.cell(keys),
        "level": key.level(keys),
        "counts": key.counts(keys),
        "no_data": why(key, keys),
        "change": change,
        "better": better,
        "thresholds": THRESHOLDS[key.json],
    }


def _cell(key: Key, keys: FourKeys) -> dict[str, Any]:
    level = key.level(keys)
    return {
        "text": f"{key.cell(keys)} {level or ''}".strip(),
        "counts": key.counts(keys),
        "no_data": why(key, keys),
    }


def _notes(report: Report) -> str:
    """What failures are known from: a note per system, which the selector follows; then
    those of the systems with none, and the keys' names."""
    notes = []
    for name in report.systems:
        for line in failure_notes(report, [name]):
            notes.append(
                f"<p class='note' data-system='{html.escape(name)}'>{html.escape(line)}</p>"
            )
    return "".join(notes) + f"<p class='note'>{html.escape(NAMES)}</p>"


def _table(report: Report) -> str:
    """The window's keys side by side, a row per system (and all systems)."""
    body = "".join(
        f"<tr data-system='{html.escape(name)}'><th scope='row'>{html.escape(name)}</th>"
        + "".join(
            f"<td>{html.escape(figure)} <span class='level'>{level or ''}</span></td>"
            for figure, level in cells(keys)
        )
        + "</tr>"
        for name, keys in rows(report)
    )
    headers = "".join(f"<th scope='col'>{html.escape(key.name)}</th>" for key in KEYS)
    return (
        "<table class='keys'><thead><tr><th scope='col'>system</th>"
        f"{headers}</tr></thead><tbody>{body}</tbody></table>"
    )


def _rows(system_rows: Sequence[tuple[str, Sequence[str]]]) -> str:
    return "".join(
        f"<tr data-system='{html.escape(system)}'>"
        + "".join(f"<td>{html.escape(cell)}</td>" for cell in cells_)
        + "</tr>"
        for system, cells_ in system_rows
    )


def _drill(name: str, title: str, note: str, headers: tuple[str, ...], body: str) -> str:
    return (
        f"<h2 id='{name}'>{html.escape(title)}</h2><p class='note'>{html.escape(note)}</p>"
        f"<table class='drill' id='{name}-table'><thead><tr>"
        + "".join(f"<th scope='col'>{html.escape(h)}</th>" for h in headers)
        + f"</tr></thead><tbody>{body}</tbody></table>"
    )


def _deployments(report: Report) -> str:
    rows_ = [
        (
            d.system,
            (
                d.system,
                d.identifier,
                day(d.time),
                str(d.changes),
                "-" if d.median_lead_time is None else duration(d.median_lead_time),
            ),
        )
        for d in reversed(report.deployments)  # the latest first
    ]
    return _drill(
        "deployments",
        "Deployments",
        "Those of the window, the latest first: what each shipped, and the median of its "
        "changes' lead times ('-': no change's time recorded).",
        ("system", "deployment", "deployed", "changes", "median lead time"),
        _rows(rows_),
    )


def _slowest(report: Report) -> str:
    rows_ = [
        (
            c.system,
            (
                c.system,
                c.change[:12],
                c.subject or "-",
                c.deployment,
                day(c.deployed_at),
                duration(c.lead_time),
            ),
        )
        for c in sorted(report.slowest, key=lambda c: (-c.lead_time, c.deployed_at, c.change))
    ]
    return _drill(
        "slowest",
        "The slowest changes",
        "Each system's 20 changes of the window that took longest from commit to deployment, "
        "slowest first; the subjects are read from the repositories the stores synced ('-': "
        "not there any more).",
        ("system", "commit", "subject", "deployment", "deployed", "lead time"),
        _rows(rows_),
    )


_FAILURE_HEADERS = ("system", "failed deployment", "deployed", "rule", "marked by",
                    "recovered by", "recovery time")  # fmt: skip


def _failures(report: Report) -> str:
    rows_ = []
    for f in reversed(report.failures):
        if f.rule == "rollbacks":
            marker = f"rolled back by {f.marker}"
        else:
            marker = f"{f.marker[:12]} {f.subject or ''}".rstrip()
        cells_ = (f.system, f.deployment, day(f.deployed_at), f.rule, marker, f.recovered_by,
                  duration(f.recovered_at - f.deployed_at))  # fmt: skip
        rows_.append((f.system, cells_))
    return _drill(
        "failures",
        "Failed deployments",
        "Those of the window that a failure rule (--infer-failures) found, the latest first, "
        "and what marked each.",
        _FAILURE_HEADERS,
        _rows(rows_),
    )


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<script>
  // Marks the page for checks: script errors.
  window.addEventListener("error", function () {{
    var page = document.documentElement;
    page.dataset.errors = String(Number(page.dataset.errors || 0) + 1);
  }});
</script>
<style>
  body {{ font: 15px/1.5 system-ui, sans-serif; color: #1f2328; }}
  body {{ margin: 2rem auto; max-width: 72rem; padding: 0 1rem; }}
  table {{ border-collapse: collapse; width: 100%; margin: .5rem 0 1.5rem; }}
  th, td {{ text-align: left; padding: .3rem .6rem; border-bottom: 1px solid #d0d7de; }}
  td small {{ color: #57606a; }}
  .level {{ font-weight: 600; }}
  .note {{ color: #57606a; margin: .3rem 0; }}
  #systems {{ border: 1px solid #d0d7de; border-radius: 6px; padding: .5rem 1rem; }}
  .choice {{ margin-right: 1.2rem; white-space: nowrap; cursor: pointer; }}
  .swatch {{ display: inline-block; width: 1.2rem; height: .35rem; vertical-align: middle; }}
  #tiles {{ display: grid; grid-template-columns: repeat(5, 1fr); gap: .8rem; margin: 1rem 0; }}
  .tile {{ border: 1px solid #d0d7de; border-radius: 6px; padding: .6rem .8rem; }}
  .tile h3 {{ font-size: .85rem; margin: 0; color: #57606a; font-weight: 600; }}
  .tile .value {{ font-size: 1.6rem; font-weight: 700; margin: .2rem 0 0; }}
  .tile .value.none {{ font-size: 1.2rem; color: #57606a; }}
  .tile p {{ margin: .15rem 0; font-size: .85rem; }}
  .tile .better {{ color: #1a7f37; }}
  .tile .worse {{ color: #cf222e; }}
  .tile .thresholds, .tile .why, .tile .counts {{ color: #57606a; }}
  .chart {{ width: 100%; height: 320px; }}
  [hidden] {{ display: none !important; }}
</style>
</head>
<body>
<h1>{title}</h1>
<p>{window}</p>
<fieldset id="systems"><legend>Systems</legend>{choices}
<button type="button" id="every">all</button></fieldset>
<p class="note" id="uncombined" hidden></p>
<div id="tiles">{tiles}</div>
{notes}
{table}
{charts}
{deployments}
{slowest}
{failures}
<p>Computed by pulse-backfill as Pulse computes the four keys; charts by plotly.js.</p>
<script type="application/json" id="report-data">{data}</script>
<script>{plotly}</script>
<script>
(function () {{
  "use strict";
  var data = JSON.parse(document.getElementById("report-data").textContent);
  var page = document.documentElement;
  var boxes = Array.prototype.slice.call(document.querySelectorAll("input[name=system]"));
  var names = data.systems.map(function (s) {{ return s.name; }});

  function element(tag, text, className) {{
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = text;
    if (className) node.className = className;
    return node;
  }}

  function chosen() {{
    return boxes.map(function (box, n) {{ return box.checked ? n : -1; }})
      .filter(function (n) {{ return n >= 0; }});
  }}

  function tiles(selection) {{
    data.keys.forEach(function (key, k) {{
      var tile = document.getElementById("tile-" + key.json);
      tile.replaceChildren(element("h3", key.name));
      if (!selection) return;
      var t = selection.tiles[k];
      tile.dataset.value = t.value === null ? "null" : String(t.value);
      tile.appendChild(element("p", t.shown,
        t.value === null ? "value none" : "value"));
      if (t.no_data) tile.appendChild(element("p", t.no_data, "why"));
      else tile.appendChild(element("p", t.counts, "counts"));
      if (t.level) tile.appendChild(element("p", t.level, "level"));
      tile.appendChild(element("p", t.change,
        t.better === null ? "change" : t.better ? "change better" : "change worse"));
      tile.appendChild(element("p", t.thresholds, "thresholds"));
    }});
  }}

  function layout(key, drawn) {{
    var axis = Object.assign({{ automargin: true }}, key.axis);
    var log = key.axis.type === "log";
    // The range of the values drawn: the bands reach far beyond, and would set it.
    var values = [];
    drawn.forEach(function (trace) {{
      trace.y.forEach(function (v) {{ if (v !== null && (!log || v > 0)) values.push(v); }});
    }});
    if (log) {{
      var low = values.length ? Math.min.apply(null, values) : 3600;
      var high = values.length ? Math.max.apply(null, values) : 3600;
      axis.range = [Math.log10(low) - 0.4, Math.log10(high) + 0.4];
    }} else if (!axis.range) {{
      axis.range = [0, (values.length ? Math.max.apply(null, values) : 0) * 1.15 || 1];
    }}
    var shapes = key.bands.map(function (band) {{
      return {{
        type: "rect", xref: "paper", x0: 0, x1: 1, layer: "below", line: {{ width: 0 }},
        y0: band.from, y1: band.to, fillcolor: band.colour, opacity: 0.1
      }};
    }});
    // On a log axis, annotations (unlike shapes) take the logarithm of where they go.
    var labels = key.bands.map(function (band) {{
      return {{
        xref: "paper", x: 1, xanchor: "right", yref: "y", showarrow: false,
        y: log ? Math.log10(Math.sqrt(band.from * band.to)) : (band.from + band.to) / 2,
        text: band.level, font: {{ size: 11, color: band.colour }}
      }};
    }});
    return {{
      margin: {{ t: 10, r: 10, b: 40, l: 10 }}, yaxis: axis, shapes: shapes,
      annotations: values.length ? labels : [{{
        xref: "paper", yref: "paper", x: 0.5, y: 0.5, showarrow: false,
        text: "nothing to compute from in any period", font: {{ color: "#57606a" }}
      }}],
      hovermode: "closest",
      xaxis: {{ type: "category", automargin: true }},
      legend: {{ orientation: "h", y: -0.2 }}, showlegend: true
    }};
  }}

  function traces(k, picked, together) {{
    var series = [];
    if (picked.length > 1 || !together) {{
      picked.forEach(function (n) {{
        series.push({{ name: names[n], colour: data.systems[n].colour, width: 2,
          selection: data.selections[String(n)] }});
      }});
    }}
    if (together) {{
      series.push({{ name: together.label, width: picked.length > 1 ? 3.5 : 2,
        colour: picked.length > 1 ? "{together}" : data.systems[picked[0]].colour,
        selection: together }});
    }}
    return series.map(function (s) {{
      return {{
        type: "scatter", mode: "lines+markers", name: s.name,
        x: data.periods.map(function (p) {{ return p.name; }}),
        y: s.selection.values[k], connectgaps: false,
        line: {{ color: s.colour, width: s.width }}, marker: {{ color: s.colour, size: 7 }},
        text: s.selection.cells[k].map(function (c, i) {{
          return s.name + ", " + data.periods[i].name + " (" + data.periods[i].span + "): " +
            (c.no_data ? "no data: " + c.no_data : c.text + "; " + c.counts);
        }}),
        hovertemplate: "%{{text}}<extra></extra>"
      }};
    }});
  }}

  function periods(k, picked, together) {{
    var table = document.getElementById("periods-" + data.keys[k].json);
    var columns = picked.map(function (n) {{
      return {{ name: names[n], selection: data.selections[String(n)] }};
    }});
    if (together && picked.length > 1) {{
      columns.push({{ name: together.label, selection: together }});
    }}
    var head = element("tr");
    head.appendChild(element("th", data.periods.length ? "period" : ""));
    head.appendChild(element("th", "days"));
    columns.forEach(function (c) {{ head.appendChild(element("th", c.name)); }});
    var thead = element("thead"); thead.appendChild(head);
    var body = element("tbody");
    var reasons = {{}};
    data.periods.forEach(function (p, i) {{
      var row = element("tr");
      row.appendChild(element("th", p.name));
      row.appendChild(element("td", p.span));
      columns.forEach(function (c) {{
        var cell = c.selection.cells[k][i];
        var td = element("td", cell.text);
        if (cell.no_data) {{ td.title = cell.no_data; reasons[cell.no_data] = true; }}
        else {{ td.appendChild(element("br")); td.appendChild(element("small", cell.counts)); }}
        row.appendChild(td);
      }});
      body.appendChild(row);
    }});
    table.replaceChildren(thead, body);
    var why = Object.keys(reasons);
    document.getElementById("reasons-" + data.keys[k].json).textContent =
      why.length ? "no data: " + why.join("; ") : "";
  }}

  function show() {{
    var picked = chosen();
    if (picked.length === 0) {{  // none chosen: all, rather than an empty page
      boxes.forEach(function (box) {{ box.checked = true; }});
      picked = chosen();
    }}
    var together = data.selections[picked.join(",")] || null;
    var shown = picked.map(function (n) {{ return names[n]; }});
    var uncombined = document.getElementById("uncombined");
    uncombined.hidden = together !== null;
    uncombined.textContent = together ? "" : "The keys of these " + picked.length +
      " systems together are not computed (more than five systems): the tiles are empty, " +
      "the charts and tables show each system. Choose one system, or all.";
    tiles(together);
    data.keys.forEach(function (key, k) {{
      var chart = document.getElementById("chart-" + key.json);
      var drawn = traces(k, picked, together);
      Plotly.react(chart, drawn, layout(key, drawn),
        {{ displaylogo: false, responsive: true }});
      periods(k, picked, together);
    }});
    document.querySelectorAll("[data-system]").forEach(function (row) {{
      var name = row.dataset.system;
      var every = shown.length === names.length;
      row.hidden = name === "{all_systems}" ? !every : shown.indexOf(name) < 0;
    }});
    page.dataset.selection = shown.join(",");
    page.dataset.traces = String(document.querySelectorAll(".chart .scatterlayer .trace").length);
    history.replaceState(null, "", "#systems=" + shown.map(encodeURIComponent).join(","));
  }}

  boxes.forEach(function (box) {{ box.addEventListener("change", show); }});
  document.getElementById("every").addEventListener("click", function () {{
    boxes.forEach(function (box) {{ box.checked = true; }});
    show();
  }});
  // A link may choose the systems: page.html#systems=api,web. They are chosen by clicking
  // their boxes, as a reader would.
  var asked = /^#systems=(.*)$/.exec(location.hash);
  if (asked) {{
    var wanted = asked[1].split(",").map(decodeURIComponent);
    boxes.forEach(function (box) {{
      if ((wanted.indexOf(box.value) >= 0) !== box.checked) box.click();
    }});
  }}
  show();
  page.dataset.charts = String(document.querySelectorAll(".chart.js-plotly-plot").length);
  page.dataset.fetched = String(performance.getEntriesByType("resource").length);
}})();
</script>
</body>
</html>
"""
