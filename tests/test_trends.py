"""`report --by`: the four keys of each calendar period, worked out by hand here on a fixture
history; week and quarter boundaries; several stores reported as one."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from rich.console import Console
from rich.text import Text

from pulse_backfill.report.build import build_report
from pulse_backfill.report.figures import day
from pulse_backfill.report.keys import (
    DAY,
    HOUR,
    NOT_BACKFILLED,
    Deployment,
    History,
    Incident,
    Period,
    four_keys,
)
from pulse_backfill.report.trends import Granularity, calendar_periods, trends
from pulse_backfill.report.view import show
from tests.conftest import Cli
from tests.test_report import (
    FIXTURES,
    SEPTEMBER,
    histories,
    keys,
    loaded_in_a_browser,
    period_rows,
)

BY_MONTH = FIXTURES / "by-month.ndjson"
SPAN = ("--since", "2021-01-15", "--until", "2021-05-10")  # its first event's day to its last
MIN = 60


def nothing() -> dict[str, Any]:
    """A period without a deployment or an incident."""
    return keys(0.0, 0, "low", None, 0, None, None, 0, None, None, 0, None)


def test_each_month_worked_out_by_hand(cli: Cli) -> None:
    result = cli("report", "--from", BY_MONTH, *SPAN, "--by", "month", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["by"] == "month"
    # The period runs from the first event's day (15 January) to the day after the last
    # (9 May): the first and last months are clipped to it.
    assert [(p["since"][:10], p["until"][:10], p["days"]) for p in report["periods"]] == [
        ("2021-01-15", "2021-02-01", 17),
        ("2021-02-01", "2021-03-01", 28),
        ("2021-03-01", "2021-04-01", 31),
        ("2021-04-01", "2021-05-01", 30),
        ("2021-05-01", "2021-05-10", 9),
    ]
    shop = [p["systems"]["shop"] for p in report["periods"]]
    # January: d1 and d2, in the one month of the period (high). Lead times 2 h, then 27 h and
    # 24 h: median 24 h (high). i1 took 3 h (high). d2 was the last deployment before i1 and
    # before February's i2: d2 failed, d1 did not, 1 of 2 (low).
    assert shop[0] == keys(
        2 / 17, 2, "high", 24 * HOUR, 3, "high", 3 * HOUR, 1, "high", 0.5, 1, "low"
    )
    # February: no deployment; i2 took 30 min (elite), caused by January's d2.
    assert shop[1] == keys(0.0, 0, "low", None, 0, None, 30 * MIN, 1, "elite", None, 0, None)
    # March: d3 and d4 and no incident. Lead times 24 h and 1 h: 12.5 h (high); 0 of 2 failed.
    assert shop[2] == keys(
        2 / 31, 2, "high", 12.5 * HOUR, 2, "high", None, 0, None, 0.0, 0, "elite"
    )
    # April: d5 (leads 24 h, 1 h), then i3 an hour later, resolved in 48 h (medium): 1 of 1.
    assert shop[3] == keys(
        1 / 30, 1, "high", 12.5 * HOUR, 2, "high", 48 * HOUR, 1, "medium", 1.0, 1, "low"
    )
    # May, 9 days: d6, its change 30 min before (elite).
    assert shop[4] == keys(1 / 9, 1, "high", 30 * MIN, 1, "elite", None, 0, None, 0.0, 0, "elite")
    billing = [p["systems"]["billing"] for p in report["periods"]]
    # Its first deployment, v1 on 15 March, starts it: January and February are before it (no
    # data), and March counts from the 15th, 17 days. v1 came 6 h after its change; ib1 an hour
    # after it, resolved in 20 min.
    before = keys(None, 0, None, None, 0, None, None, 0, None, None, 0, None,
                  frequency_missing=NOT_BACKFILLED)  # fmt: skip
    march = keys(1 / 17, 1, "high", 6 * HOUR, 1, "high", 20 * MIN, 1, "elite", 1.0, 1, "low")
    assert billing == [before, before, march, nothing(), nothing()]
    every = [p["all"] for p in report["periods"]]
    assert every[0] == shop[0]
    assert every[1] == shop[1]
    # March together: 3 deployments on 3 days; leads 24 h, 1 h, 6 h: 6 h; v1 of 3 failed (low).
    assert every[2] == keys(
        3 / 31, 3, "high", 6 * HOUR, 3, "high", 20 * MIN, 1, "elite", 1 / 3, 1, "low"
    )
    assert every[3:] == shop[3:]
    # Beside the periods, the whole period's keys as without --by.
    without = json.loads(cli("report", "--from", BY_MONTH, *SPAN, "--json").stdout)
    assert {k: v for k, v in report.items() if k not in ("by", "periods")} == without
    assert "periods" not in without


def test_each_month_as_text(cli: Cli) -> None:
    # The golden file, after a change meant to alter the text (then read it before committing):
    # .venv/bin/pulse-backfill report --from fixtures/report/by-month.ndjson --by month \
    #     --since 2021-01-15 --until 2021-05-10 \
    #     > fixtures/report/by-month.txt
    result = cli("report", "--from", BY_MONTH, *SPAN, "--by", "month")
    assert result.exit_code == 0, result.output
    assert result.stdout == (FIXTURES / "by-month.txt").read_text()
    assert max(len(line) for line in result.stdout.splitlines()) <= 80


def test_the_numbers_by_period_are_those_of_json(cli: Cli) -> None:
    text = cli("report", "--from", BY_MONTH, *SPAN, "--by", "month").stdout.splitlines()
    report = json.loads(cli("report", "--from", BY_MONTH, *SPAN, "--by", "month", "--json").stdout)
    months = ["2021-01", "2021-02", "2021-03", "2021-04", "2021-05"]
    numbers = text[text.index("The numbers by month") :]
    for name in ["billing", "shop", "all systems"]:
        start = numbers.index(name) + 2  # its name, the header, then a row per period
        rows = [re.split(r"\s{2,}", line) for line in numbers[start : start + len(months)]]
        expected = [
            [month, *_cells(p["all"] if name == "all systems" else p["systems"][name])]
            for month, p in zip(months, report["periods"], strict=True)
        ]
        assert rows == expected, name


def _cells(keys: dict[str, Any]) -> list[str]:
    """A row of the terminal's table, from --json's figures, formatted here by hand."""

    def shown(value: str | None, level: str | None) -> str:
        return "no data" if value is None else f"{value} {level}" if level else value

    def hours(seconds: float) -> str:
        if seconds < HOUR:
            return f"{seconds / MIN:.0f} min"
        if seconds < DAY:
            return f"{seconds / HOUR:.1f} h"
        days = f"{seconds / DAY:.1f}"
        return f"{days} day" if days == "1.0" else f"{days} days"

    frequency, lead = keys["deployment_frequency"], keys["lead_time"]
    recovery, rate = keys["time_to_recover"], keys["change_failure_rate"]
    rework = keys["rework_rate"]
    return [
        shown(None if frequency["per_day"] is None else f"{frequency['per_day']:.2f}/day",
              frequency["level"]),
        shown(None if lead["median_seconds"] is None else hours(lead["median_seconds"]),
              lead["level"]),
        "no failures" if recovery.get("no_data") == "no incidents in this period"
        else shown(None if recovery["mean_seconds"] is None else hours(recovery["mean_seconds"]),
                   recovery["level"]),
        shown(None if rate["rate"] is None
              else f"{rate['rate']:.0%} ({rate['failed_deployments']}/{rate['deployments']})",
              rate["level"]),
        shown(None if rework["rate"] is None
              else f"{rework['rate']:.0%} ({rework['recoveries']}/{rework['deployments']})", None),
    ]  # fmt: skip


def _epoch(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


def spans(period: Period, by: Granularity) -> list[tuple[str, str]]:
    return [(day(p.since), day(p.until)) for p in calendar_periods(period, by)]


def test_weeks_start_on_monday_and_years_do_not_cut_them() -> None:
    # 2020-12-30 is a Wednesday; ISO week 53 of 2020 runs from Monday 28 December.
    period = Period(_epoch("2020-12-30"), _epoch("2021-01-12"))
    assert spans(period, Granularity.WEEK) == [
        ("2020-12-30", "2021-01-04"),
        ("2021-01-04", "2021-01-11"),
        ("2021-01-11", "2021-01-12"),
    ]


def test_quarters_and_months_across_a_year() -> None:
    period = Period(_epoch("2020-11-15"), _epoch("2021-07-01"))
    assert spans(period, Granularity.QUARTER) == [
        ("2020-11-15", "2021-01-01"),
        ("2021-01-01", "2021-04-01"),
        ("2021-04-01", "2021-07-01"),
    ]
    assert spans(Period(_epoch("2020-12-31"), _epoch("2021-03-02")), Granularity.MONTH) == [
        ("2020-12-31", "2021-01-01"),
        ("2021-01-01", "2021-02-01"),
        ("2021-02-01", "2021-03-01"),
        ("2021-03-01", "2021-03-02"),
    ]


def test_week_and_quarter_from_the_command_line(cli: Cli) -> None:
    weeks = json.loads(cli("report", "--from", BY_MONTH, *SPAN, "--by", "week", "--json").stdout)
    starts = [p["since"][:10] for p in weeks["periods"]]
    assert starts[:2] == ["2021-01-15", "2021-01-18"]  # a Friday, then Monday
    assert starts[-1] == "2021-05-03"
    assert weeks["periods"][-1]["days"] == 7
    assert sum(p["all"]["deployment_frequency"]["deployments"] for p in weeks["periods"]) == 7
    quarters = json.loads(
        cli("report", "--from", BY_MONTH, *SPAN, "--by", "QUARTER", "--json").stdout
    )
    assert [(p["since"][:10], p["days"]) for p in quarters["periods"]] == [
        ("2021-01-15", 76),
        ("2021-04-01", 39),
    ]


def test_a_period_that_is_not_one_of_them(cli: Cli) -> None:
    result = cli("report", "--from", BY_MONTH, *SPAN, "--by", "year")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == (
        "Error: Invalid value for '--by': 'year' is not one of 'week', 'month', 'quarter'. "
        "(see 'pulse-backfill report --help')"
    )


@pytest.mark.parametrize("by", list(Granularity))
@given(history=histories())
def test_the_periods_add_up_to_the_whole(by: Granularity, history: History) -> None:
    period = Period.spanning(history)
    if period is None:
        return
    whole = four_keys(history, period)
    periods = trends(history, period, by)
    assert periods[0].period.since == period.since
    assert periods[-1].period.until == period.until
    assert sum(p.period.days for p in periods) == period.days
    assert sum(p.all.deployments for p in periods) == whole.deployments
    assert sum(p.all.failed_deployments for p in periods) == whole.failed_deployments
    assert sum(p.all.incidents for p in periods) == whole.incidents
    assert sum(p.all.lead_time_changes for p in periods) == whole.lead_time_changes
    for each in periods:
        assert set(each.systems) == set(history.systems)
        assert each.all.deployments == sum(k.deployments for k in each.systems.values())
        # A period's keys are the whole's, applied to the period alone.
        assert each.all == four_keys(history, each.period)
        assert each.all.failed_deployments == len(failed_in(history, each.period))
        assert each.period.days >= 1
        assert each.period.days <= {"week": 7, "month": 31}.get(by, 92)


def failed_in(history: History, period: Period) -> set[str]:
    """The plain rule: a deployment of `period` failed when, for some incident of its system
    (whenever created), it is the last deployment at or before the incident's creation."""
    failed = set()
    for incident in history.incidents:
        earlier = [
            d
            for d in history.deployments
            if d.system == incident.system and d.time <= incident.created
        ]
        if earlier:
            cause = max(earlier, key=lambda d: (d.time, d.identifier))
            if period.since <= cause.time < period.until:
                failed.add(cause.identifier)
    return failed


def test_several_stores_report_as_one(cli: Cli, repos: dict[str, Path], tmp_path: Path) -> None:
    # Two shards that both took `linear`, and one that took `release-branches` alone.
    first, second = tmp_path / "one.sqlite3", tmp_path / "two.sqlite3"
    assert cli("git", repos["linear"], "--store", first).exit_code == 0
    assert cli("git", repos["linear"], repos["release-branches"], "--store", second).exit_code == 0
    export = tmp_path / "release-branches.ndjson"
    assert cli("git", repos["release-branches"], "--output", export, "--dry-run").exit_code == 0

    both = json.loads(
        cli("report", "--store", first, "--store", second, *SEPTEMBER, "--json").stdout
    )
    alone = json.loads(cli("report", "--store", second, *SEPTEMBER, "--json").stdout)
    assert both == alone  # what the first store holds, the second holds too: counted once
    mixed = cli(
        "report", "--store", first, "--from", export, "--from", export, *SEPTEMBER, "--json"
    )
    assert mixed.exit_code == 0, mixed.output
    assert json.loads(mixed.stdout)["systems"] == alone["systems"]


def test_several_stores_from_the_environment(
    cli: Cli, repos: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = tmp_path / "one.sqlite3", tmp_path / "two.sqlite3"
    assert cli("git", repos["linear"], "--store", first).exit_code == 0
    assert cli("git", repos["release-branches"], "--store", second).exit_code == 0
    monkeypatch.setenv("PULSE_BACKFILL_STORE", f"{first}:{second}")  # as PATH is written
    result = cli("report", "--json")
    assert result.exit_code == 0, result.output
    assert sorted(json.loads(result.stdout)["systems"]) == ["linear", "release-branches"]


def test_the_trend_page_in_a_real_browser(cli: Cli, tmp_path: Path) -> None:
    page = tmp_path / "trends.html"
    result = cli("report", "--from", BY_MONTH, *SPAN, "--by", "month", "--html", page)
    assert result.exit_code == 0, result.output
    dom = loaded_in_a_browser(page, tmp_path)
    assert 'data-charts="5"' in dom  # a chart per key, rework rate's empty (no failure rule)
    # billing, shop and both: a line each in every chart.
    assert 'data-traces="15"' in dom
    assert period_rows(dom, "time_to_recover")[:3] == [
        ["period", "days", "billing", "shop", "all systems"],
        ["2021-01", "2021-01-15 to 2021-01-31", "no failures", "3.0 h high mean of 1 incident",
         "3.0 h high mean of 1 incident"],
        ["2021-02", "2021-02-01 to 2021-02-28", "no failures", "30 min elite mean of 1 incident",
         "30 min elite mean of 1 incident"],
    ]  # fmt: skip
    # Before its first deployment, billing has no deployment frequency, and the page says why.
    assert period_rows(dom, "deployment_frequency")[1][2] == "no data"
    assert "no data: not backfilled in this period" in dom
    shop = loaded_in_a_browser(page, tmp_path, "#systems=shop")
    assert 'data-traces="5"' in shop
    assert period_rows(shop, "time_to_recover")[1] == [
        "2021-01", "2021-01-15 to 2021-01-31", "3.0 h high mean of 1 incident"
    ]  # fmt: skip


def test_a_terminal_gets_a_trend_line_per_key_in_80_columns() -> None:
    # Two and a half years by week: 129 weeks, more than a line has marks (20) for.
    history = History()
    start = _epoch("2019-01-01")
    for n in range(300):
        time = start + n * 3 * DAY + (n % 5) * HOUR
        history.change_times[("app", f"c{n}")] = time - (n % 7 + 1) * HOUR
        history.deployments.append(Deployment("app", f"d{n}", time, (f"c{n}",)))
        if n % 40 == 0:
            history.incidents.append(Incident("app", f"i{n}", time + HOUR, time + 3 * HOUR))
    span = Period.spanning(history)
    assert span is not None
    report = build_report(
        history, systems=[], since=span.since, until=span.until, now=0, by=Granularity.WEEK
    )
    out = io.StringIO()
    show(report, Console(file=out, force_terminal=True, width=80, color_system="standard"))
    text = out.getvalue()
    lines = Text.from_ansi(text).plain.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "2019-W01 to 2021-W24, a mark per 7 weeks; ·: nothing to compute from" in lines
    # 129 weeks in 64 columns, 30 months in 30.
    assert "Deployments per week (a column per 3 weeks, their sum)" in lines
    assert "Median lead time per month" in lines
    frequency = next(line for line in lines if line.startswith("  deploy frequency"))
    marks = frequency.split()[2]
    assert len(marks) == 19  # ceil(129 / 7)
    assert "\x1b[" in text  # coloured by level
