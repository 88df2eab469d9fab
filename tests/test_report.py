"""`pulse-backfill report`: the four keys of fixture histories, worked out by hand here."""

from __future__ import annotations

import html
import io
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console

from pulse_backfill.report.build import build_report, read_history
from pulse_backfill.report.figures import duration, per_day
from pulse_backfill.report.keys import (
    DAY,
    HOUR,
    NO_DEPLOYMENTS,
    NO_FAILURE_DATA,
    NO_FAILURES,
    NO_REWORK_DATA,
    WEEK,
    Deployment,
    History,
    Incident,
    Level,
    Period,
    failure_level,
    four_keys,
    frequency_level,
    lead_time_level,
    recovery_level,
)
from pulse_backfill.report.view import show
from tests.conftest import Cli

FIXTURES = Path(__file__).parent.parent / "fixtures" / "report"
TWO_SYSTEMS = FIXTURES / "two-systems.ndjson"
OCT_1 = 1601510400  # 2020-10-01T00:00:00Z
# The fixture's days, from its first event to its last (the report's default is the last 90).
SEPTEMBER = ("--since", "2020-09-01", "--until", "2020-11-01")  # the fixture repositories'
OCTOBER = ("--since", "2020-10-01", "--until", "2020-10-12")


def keys(per_day, deployments, level, lead, changes, lead_level, ttr, incidents, ttr_level,
         rate, failed, cfr_level, unattributed=0, sources=("statuspage",), rework=None,
         frequency_missing=None):  # type: ignore[no-untyped-def]  # fmt: skip
    """A system's keys as --json gives them; `rework`: (rate, recoveries, deployments) where a
    failure rule ran. Where a figure is None, the reason is the one the report gives."""

    def why(value: object, reason: str) -> dict[str, str]:
        return {"no_data": reason} if value is None else {}

    known = {"from": list(sources)} if sources else {}
    failures_missing = NO_DEPLOYMENTS if sources else NO_FAILURE_DATA
    rework_rate, recoveries, rework_deployments = rework or (None, 0, 0)
    return {
        "deployment_frequency": {
            "per_day": per_day,
            "deployments": deployments,
            "level": level,
            **({"no_data": frequency_missing} if frequency_missing else {}),
        },
        "lead_time": {
            "median_seconds": lead,
            "changes": changes,
            "level": lead_level,
            **why(lead, "no changes shipped in this period"),
        },
        "time_to_recover": {
            "mean_seconds": ttr,
            "incidents": incidents,
            "level": ttr_level,
            **known,
            **why(ttr, NO_FAILURES if sources else NO_FAILURE_DATA),
        },
        "change_failure_rate": {
            "rate": rate,
            "failed_deployments": failed,
            "deployments": deployments if sources else 0,
            "level": cfr_level,
            "incidents_with_no_earlier_deployment": unattributed,
            **known,
            **why(rate, failures_missing),
        },
        "rework_rate": {
            "rate": rework_rate,
            "recoveries": recoveries,
            "deployments": rework_deployments,
            **why(rework_rate, NO_DEPLOYMENTS if rework else NO_REWORK_DATA),
        },
    }


def test_two_systems_as_json(cli: Cli) -> None:
    result = cli("report", "--from", TWO_SYSTEMS, *OCTOBER, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    # The period: the first event's day (an incident of web at 05:00 on 1 October) to the day
    # after the last (api's incident on 11 October): 11 whole days.
    assert report["period"] == {
        "since": "2020-10-01T00:00:00Z",
        "until": "2020-10-12T00:00:00Z",
        "days": 11,
    }
    # api: 3 deployments on 3 of 11 days (not elite), in 1 of 1 months (high). Lead times
    # 2 h, 24 h, 30 min, 24 h: median (2 h + 24 h) / 2 = 13 h (high). Incidents of 40 min and
    # 2 h: mean 80 min (high). Each came after a different deployment (d2, d3): 2 of 3 (low).
    api = keys(3 / 11, 3, "high", 13 * HOUR, 4, "high", 80 * 60, 2, "high", 2 / 3, 2, "low")
    # web: 6 deployments on 6 of 11 days (elite). Lead times 30, 15, 10, 20, 5 min (the sixth
    # deployment's change was never recorded): median 15 min (elite). One incident of 1 h
    # (high: not under an hour), before any web deployment: ignored for the rate, 0 of 6.
    web = keys(6 / 11, 6, "elite", 15 * 60, 5, "elite", HOUR, 1, "high", 0.0, 0, "elite", 1)
    # All: 9 deployments on 9 days (elite); the 9 lead times' median is 30 min (elite);
    # recoveries of 40, 120 and 60 min: mean 73.3 min (high); 2 of 9 deployments failed (high).
    everything = keys(9 / 11, 9, "elite", 30 * 60, 9, "elite", 4400, 3, "high", 2 / 9, 2, "high", 1)
    assert report["systems"] == {"api": api, "web": web}
    assert report["all"] == everything
    assert report["deployments_per_week"] == [
        {"week": "2020-09-28", "deployments": 3},
        {"week": "2020-10-05", "deployments": 6},
    ]
    assert report["median_lead_time_per_month"] == [{"month": "2020-10", "median_seconds": 1800.0}]


def test_two_systems_as_text(cli: Cli) -> None:
    # The golden file, after a change meant to alter the text (then read it before committing):
    # .venv/bin/pulse-backfill report --from fixtures/report/two-systems.ndjson \
    #     --since 2020-10-01 --until 2020-10-12 \
    #     > fixtures/report/two-systems.txt
    result = cli("report", "--from", TWO_SYSTEMS, *OCTOBER)
    assert result.exit_code == 0, result.output
    assert result.stdout == (FIXTURES / "two-systems.txt").read_text()
    assert max(len(line) for line in result.stdout.splitlines()) <= 80


def test_the_last_90_days_by_default(cli: Cli) -> None:
    # Up to --until, or up to now: today included, the 89 days before it too.
    now = OCT_1 + 10 * DAY + 5 * HOUR  # 2020-10-11T05:00:00Z
    by_clock = build_report(
        read_history([], [TWO_SYSTEMS]), systems=[], since=None, until=None, now=now
    ).to_json()
    result = cli("report", "--from", TWO_SYSTEMS, "--until", "2020-10-12", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report == by_clock
    assert report["period"] == {
        "since": "2020-07-14T00:00:00Z",
        "until": "2020-10-12T00:00:00Z",
        "days": 90,
    }
    # All 9 deployments over 90 days: on 9 days (not elite), in 1 of the 4 months July to
    # October (not high), in the one half-year (medium).
    assert report["all"]["deployment_frequency"] == {
        "per_day": 9 / 90,
        "deployments": 9,
        "level": "medium",
    }
    # api over its own days: from its first event, 1 October, 11 days.
    assert report["systems"]["api"]["deployment_frequency"]["per_day"] == 3 / 11
    # The 90 days before, to compare with: nothing, and api not backfilled then.
    assert report["previous"]["period"] == {
        "since": "2020-04-15T00:00:00Z",
        "until": "2020-07-14T00:00:00Z",
        "days": 90,
    }
    assert report["previous"]["all"]["deployment_frequency"] == {
        "per_day": 0.0,
        "deployments": 0,
        "level": "low",
    }
    assert report["previous"]["systems"]["api"]["deployment_frequency"] == {
        "per_day": None,
        "deployments": 0,
        "level": None,
        "no_data": "not backfilled in this period",
    }
    # --since alone runs to now.
    since = build_report(
        read_history([], [TWO_SYSTEMS]), systems=[], since=OCT_1, until=None, now=now
    )
    assert (since.period.since, since.period.until) == (OCT_1, OCT_1 + 11 * DAY)


def test_the_deployments_and_slowest_changes_of_the_period(cli: Cli) -> None:
    report = json.loads(cli("report", "--from", TWO_SYSTEMS, *OCTOBER, "--json").stdout)
    # d1 shipped a2 (24 h) and a1 (2 h): median 13 h; w2 its one change 30 min after it.
    assert report["deployments"][:2] == [
        {"system": "api", "deployment": "d1", "deployed_at": "2020-10-01T10:00:00Z",
         "changes": 2, "median_lead_time_seconds": 13 * HOUR},
        {"system": "web", "deployment": "w2", "deployed_at": "2020-10-02T09:00:00Z",
         "changes": 1, "median_lead_time_seconds": 1800.0},
    ]  # fmt: skip
    assert len(report["deployments"]) == 9
    # api's slowest: the two of 24 h, the earlier deployment first, then 2 h and 30 min.
    assert [
        (c["change"], c["deployment"], c["lead_time_seconds"])
        for c in report["slowest_changes"]
        if c["system"] == "api"
    ] == [("a2", "d1", DAY), ("a4", "d3", DAY), ("a1", "d1", 2 * HOUR), ("a3", "d2", 1800)]


def test_one_system_over_chosen_days(cli: Cli) -> None:
    result = cli(
        "report", "--from", TWO_SYSTEMS, "--system", "web", "--since", "2020-10-05",
        "--until", "2020-10-10", "--json",
    )  # fmt: skip
    report = json.loads(result.stdout)
    assert report["period"]["days"] == 5
    assert list(report["systems"]) == ["web"]
    # Deployments on 5, 6, 7, 8 and 9 October; lead times 15, 10, 20 and 5 min.
    assert report["all"] == keys(1.0, 5, "elite", 750.0, 4, "elite", None, 0, None, 0.0, 0, "elite")


def test_the_store_and_its_export_say_the_same(
    cli: Cli, repos: dict[str, Path], store: Path, tmp_path: Path
) -> None:
    export = tmp_path / "events.ndjson"
    assert cli("git", repos["linear"], "--store", store, "--output", export).exit_code == 0
    from_store = cli("report", "--store", store, *SEPTEMBER, "--json")
    from_file = cli("report", "--from", export, *SEPTEMBER, "--json")
    assert from_store.exit_code == from_file.exit_code == 0
    # The same, but for the subjects the store's repository gives (an export names none).
    with_subjects, without = json.loads(from_store.stdout), json.loads(from_file.stdout)
    subjects = [c.pop("subject") for c in with_subjects["slowest_changes"]]
    assert all(subjects)
    assert {c.pop("subject") for c in without["slowest_changes"]} == {None}
    assert with_subjects == without
    assert (
        json.loads(from_store.stdout)["systems"]["linear"]["deployment_frequency"]["deployments"]
        == 5
    )


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--system", "mobile"], "no events for --system mobile: the systems here are api, web"),
        (["--since", "2020-10-05", "--until", "2020-10-05"], "--since must be before --until"),
        (
            ["--store", "x.sqlite3"],  # beside the export: one of several that is not there
            "there is no store at x.sqlite3: run 'pulse-backfill git' first, or pass --store or "
            "--from FILE",
        ),
    ],
)
def test_mistakes(cli: Cli, args: list[str], error: str) -> None:
    result = cli("report", "--from", TWO_SYSTEMS, *args)
    assert result.exit_code == 2
    assert result.stderr == f"Error: {error}\n"


def test_no_store_yet(cli: Cli, tmp_path: Path) -> None:
    result = cli("report", "--store", tmp_path / "none.sqlite3")
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: there is no store at {tmp_path / 'none.sqlite3'}: run 'pulse-backfill git' "
        "first, or pass --store or --from FILE\n"
    )


def test_a_terminal_gets_a_table_and_charts_in_80_columns() -> None:
    report = build_report(
        read_history([], [TWO_SYSTEMS]), systems=[], since=None, until=None, now=OCT_1 + 11 * DAY
    )
    out = io.StringIO()
    show(report, Console(file=out, force_terminal=True, width=80, color_system=None))
    text = out.getvalue()
    assert "elite" in text
    assert "█" in text
    assert "Deployments per week" in text
    assert max(len(line) for line in text.splitlines()) <= 80


# The page, driven in headless Chromium: a link may choose the systems (page.html#systems=api),
# which the page's script does by clicking their boxes, as a reader would.

TILE_VALUES = {
    "deployment_frequency": "per_day",
    "lead_time": "median_seconds",
    "time_to_recover": "mean_seconds",
    "change_failure_rate": "rate",
    "rework_rate": "rate",
}


def test_the_page_follows_the_systems_chosen(cli: Cli, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    result = cli(
        "report", "--from", TWO_SYSTEMS, *OCTOBER, "--by", "week", "--html", page, "--json"
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    every = loaded_in_a_browser(page, tmp_path)
    api = loaded_in_a_browser(page, tmp_path, "#systems=api")
    assert 'data-selection="api,web"' in every
    assert 'data-selection="api"' in api
    assert 'data-charts="5"' in every  # a chart per key
    assert 'data-charts="5"' in api
    # The tiles: all systems' keys, then api's, as --json gives them.
    assert tiles(every) == {key: report["all"][key][name] for key, name in TILE_VALUES.items()}
    assert tiles(api) == {
        key: report["systems"]["api"][key][name] for key, name in TILE_VALUES.items()
    }
    assert tile_text(every, "lead_time")[:3] == ["30 min", "median of 9 changes", "elite"]
    assert tile_text(api, "lead_time")[:3] == ["13.0 h", "median of 4 changes", "high"]
    assert tile_text(api, "rework_rate")[:2] == [
        "no data",
        "no failure rule run: infer failures from the history with 'pulse-backfill git "
        "--infer-failures reverts'",
    ]
    assert tile_text(api, "change_failure_rate")[3] == (
        "no data in the previous 11 days: no deployments in this period"
    )
    assert tile_text(every, "deployment_frequency")[3] == "↑ from 0.00/day in the previous 11 days"
    # The charts: a line per system and one for both, then api's alone.
    assert legend(every, "lead_time") == ["api", "web", "all systems"]
    assert legend(api, "lead_time") == ["api"]
    assert 'data-traces="15"' in every
    assert 'data-traces="5"' in api
    # The numbers per period under each chart follow: W40 is 1 to 4 October, W41 5 to 11.
    assert period_rows(every, "lead_time") == [
        ["period", "days", "api", "web", "all systems"],
        ["2020-W40", "2020-10-01 to 2020-10-04", "2.0 h high median of 3 changes",
         "30 min elite median of 1 change", "1.2 h high median of 4 changes"],
        ["2020-W41", "2020-10-05 to 2020-10-11", "1.0 day high median of 1 change",
         "12 min elite median of 4 changes", "15 min elite median of 5 changes"],
    ]  # fmt: skip
    assert period_rows(api, "lead_time") == [
        ["period", "days", "api"],
        ["2020-W40", "2020-10-01 to 2020-10-04", "2.0 h high median of 3 changes"],
        ["2020-W41", "2020-10-05 to 2020-10-11", "1.0 day high median of 1 change"],
    ]
    # And the drill-down: web's deployments hidden, api's 3 shown, the latest first.
    assert shown_rows(api, "deployments-table") == [
        ["api", "d3", "2020-10-10", "1", "1.0 day"],
        ["api", "d2", "2020-10-03", "1", "30 min"],
        ["api", "d1", "2020-10-01", "2", "13.0 h"],
    ]
    assert len(shown_rows(every, "deployments-table")) == 9
    # What failures are known from: api's note shown, web's hidden.
    assert '<p class="note" data-system="api">api: failures from statuspage' in api
    assert '<p class="note" data-system="web" hidden="">web: failures from statuspage' in api
    # An export names no repository to read subjects from.
    assert shown_rows(api, "slowest-table")[0] == [
        "api",
        "a2",
        "-",
        "d1",
        "2020-10-01",
        "1.0 day",
    ]


def test_several_systems_together_up_to_five() -> None:
    def history(systems: int) -> History:
        return History([Deployment(f"s{n}", "d", OCT_1 + n * HOUR, ()) for n in range(systems)])

    def chosen(systems: int) -> list[tuple[str, ...]]:
        report = build_report(history(systems), systems=[], since=None, until=None, now=OCT_1)
        return list(report.selections)

    # Three systems: each, each pair, and all three.
    assert chosen(3) == [("s0",), ("s1",), ("s2",), ("s0", "s1"), ("s0", "s2"), ("s1", "s2"),
                         ("s0", "s1", "s2")]  # fmt: skip
    assert len(chosen(5)) == 2**5 - 1
    # Six: each, and all, not 63 combinations.
    assert chosen(6) == [*((f"s{n}",) for n in range(6)), tuple(f"s{n}" for n in range(6))]
    # The keys of a selection of one are its system's; of all, all systems'.
    report = build_report(
        read_history([], [TWO_SYSTEMS]), systems=[], since=None, until=None, now=OCT_1 + 11 * DAY
    )
    assert report.selections[("api",)].keys == report.systems["api"]
    assert report.selections[("api", "web")].keys == report.all
    assert report.selections[("api", "web")].previous == report.previous_all


def tiles(dom: str) -> dict[str, float | None]:
    found = dict(re.findall(r'<div class="tile" id="tile-(\w+)" data-value="([^"]*)"', dom))
    return {key: None if value == "null" else float(value) for key, value in found.items()}


def tile_text(dom: str, key: str) -> list[str]:
    tile = re.search(rf'<div class="tile" id="tile-{key}"[^>]*>(.*?)</div>', dom)
    assert tile is not None
    return [html.unescape(text) for text in re.findall(r"<p[^>]*>(.*?)</p>", tile.group(1))]


def legend(dom: str, key: str) -> list[str]:
    chart = re.search(rf'<div class="chart[^"]*" id="chart-{key}".*?</svg></div></div>', dom)
    assert chart is not None
    return re.findall(r'<text class="legendtext"[^>]*>([^<]*)</text>', chart.group(0))


def _cells(row: str) -> list[str]:
    cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row)
    return [" ".join(re.sub(r"<[^>]+>", " ", cell).split()) for cell in cells]


def period_rows(dom: str, key: str) -> list[list[str]]:
    table = re.search(rf'<table class="periods" id="periods-{key}">(.*?)</table>', dom)
    assert table is not None
    return [_cells(row) for row in re.findall(r"<tr>(.*?)</tr>", table.group(1))]


def shown_rows(dom: str, table_id: str) -> list[list[str]]:
    table = re.search(rf'<table class="drill" id="{table_id}">(.*?)</table>', dom)
    assert table is not None
    return [
        _cells(row)
        for attributes, row in re.findall(r"<tr( [^>]*)?>(.*?)</tr>", table.group(1))
        if "data-system" in attributes and "hidden" not in attributes
    ]


def loaded_in_a_browser(page: Path, tmp_path: Path, fragment: str = "") -> str:
    """The page's DOM once headless Chromium has run its script, with `fragment` in its URL;
    it must fetch nothing (no name resolves, and it asks for none) and raise no script error."""
    browser = shutil.which("chromium")
    if browser is None:
        if os.environ.get("PULSE_BACKFILL_REQUIRE_BROWSER"):
            pytest.fail("chromium is not installed, and .ci/run requires it")
        pytest.skip("chromium is not installed (.ci/run installs Debian's chromium)")
    source = re.sub(r"<script\b.*?</script>", "", page.read_text(), flags=re.DOTALL)
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", source)  # nothing to fetch
    assert "<link" not in source
    assert "@import" not in source
    run = subprocess.run(
        [
            browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--host-resolver-rules=MAP * ~NOTFOUND", "--window-size=1280,2000",
            f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0",
            "--virtual-time-budget=5000", "--dump-dom", page.as_uri() + fragment,
        ],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    assert "data-errors" not in run.stdout  # no script error
    assert "Uncaught" not in run.stderr
    assert 'data-fetched="0"' in run.stdout  # nothing asked of the network, nor of the disk
    return run.stdout


@pytest.mark.parametrize(
    ("seconds", "lead", "recovery"),
    [
        (59 * 60, Level.ELITE, Level.ELITE),
        (HOUR, Level.HIGH, Level.HIGH),
        (DAY, Level.HIGH, Level.MEDIUM),
        (WEEK, Level.MEDIUM, Level.LOW),
        (183 * DAY, Level.LOW, Level.LOW),
    ],
)
def test_time_levels(seconds: float, lead: Level, recovery: Level) -> None:
    assert lead_time_level(seconds) is lead
    assert recovery_level(seconds) is recovery


@pytest.mark.parametrize(
    ("rate", "level"),
    [(0.0, Level.ELITE), (0.15, Level.ELITE), (0.16, Level.HIGH), (0.30, Level.HIGH),
     (0.31, Level.LOW)],
)  # fmt: skip
def test_failure_levels(rate: float, level: Level) -> None:
    assert failure_level(rate) is level


@pytest.mark.parametrize(
    ("figure", "shown"),
    [
        (per_day(0.0), "0.00/day"),
        (per_day(1 / 365), "0.0027/day"),  # a deployment a year is not none
        (per_day(3 / 11), "0.27/day"),
        (duration(59 * 60), "59 min"),
        (duration(DAY), "1.0 day"),
        (duration(1.5 * DAY), "1.5 days"),
        (duration(1.04 * DAY), "1.0 day"),
        (duration(295 * DAY), "9.7 months"),
    ],
)
def test_figures_as_read(figure: str, shown: str) -> None:
    assert figure == shown


def test_frequency_levels_by_days_months_and_half_years() -> None:
    year = Period(OCT_1, OCT_1 + 365 * DAY)  # October 2020 to September 2021: 13 months
    assert frequency_level([], year) is Level.LOW
    daily = [OCT_1 + n * DAY for n in range(200)]
    assert frequency_level(daily, year) is Level.ELITE
    monthly = [OCT_1 + n * 30 * DAY for n in range(9)]  # 9 of 13 months
    assert frequency_level(monthly, year) is Level.HIGH
    twice = [OCT_1, OCT_1 + 200 * DAY]  # 2 of 13 months; 2 of 3 half-years
    assert frequency_level(twice, year) is Level.MEDIUM
    once = [OCT_1]
    assert frequency_level(once, year) is Level.LOW


systems = st.sampled_from(["a", "b", "_unknown_"])
moments = st.integers(min_value=OCT_1, max_value=OCT_1 + 120 * DAY)


@st.composite
def histories(draw: st.DrawFn) -> History:
    history = History()
    for n, (system, time) in enumerate(draw(st.lists(st.tuples(systems, moments), max_size=30))):
        changes = []
        for m, lag in enumerate(draw(st.lists(st.integers(0, 30 * DAY), max_size=3))):
            history.change_times[(system, f"c{n}.{m}")] = time - lag
            changes.append(f"c{n}.{m}")
        history.deployments.append(Deployment(system, f"d{n}", time, tuple(changes)))
    for n, (system, created, took) in enumerate(
        draw(st.lists(st.tuples(systems, moments, st.integers(0, 9 * DAY)), max_size=10))
    ):
        history.incidents.append(Incident(system, f"i{n}", created, created + took))
    return history


@given(histories())
def test_the_keys_of_all_systems_add_up(history: History) -> None:
    period = Period.spanning(history)
    if period is None:
        return
    every = four_keys(history, period)
    each = [four_keys(history.only([name]), period) for name in history.systems]
    assert every.deployments == sum(k.deployments for k in each) == len(history.deployments)
    assert every.per_day * period.days == pytest.approx(every.deployments)
    assert every.failed_deployments == sum(k.failed_deployments for k in each)
    assert every.failed_deployments <= every.deployments
    assert every.incidents == sum(k.incidents for k in each)
    assert every.unattributed_incidents == sum(k.unattributed_incidents for k in each)
    assert every.lead_time_changes == sum(k.lead_time_changes for k in each)
    if every.failure_rate is not None:
        assert 0 <= every.failure_rate <= 1
    for keys in [every, *each]:
        assert (keys.lead_time_median is None) == (keys.lead_time_changes == 0)
        assert (keys.recovery_mean is None) == (keys.incidents == 0)
