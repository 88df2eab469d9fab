"""The progress display on a terminal, and plain lines elsewhere."""

from __future__ import annotations

import io
import time

import pytest
from rich.console import Console

from pulse_backfill.cli import clock
from pulse_backfill.cli.display import Display
from pulse_backfill.commands.runs import RepoReport
from pulse_backfill.delivery.outcomes import Outcome, Result
from pulse_backfill.pulse.events import change_event, deployment_event

EVENTS = [
    change_event("a" * 40, 0, system=None),
    deployment_event("v1.0.0", 1, ["a" * 40], system=None),
]


def run(display: Display) -> None:
    display.start_delivery(EVENTS)
    for event in EVENTS:
        display.delivered(event, Result(Outcome.ACKNOWLEDGED))
    display.stop()


def test_a_terminal_gets_progress_bars() -> None:
    out = io.StringIO()
    run(Display(quiet=False, console=Console(file=out, force_terminal=True, width=80)))
    text = out.getvalue()
    assert "deployments" in text
    assert "2/2" in text
    assert "0 left" in text  # what is left, and the rate
    assert "/s" in text
    assert "━" in text


def test_elsewhere_a_line_per_deployment() -> None:
    out = io.StringIO()
    run(Display(quiet=False, console=Console(file=out, force_terminal=False, width=80)))
    assert out.getvalue() == "sent deployment v1.0.0 (1 change)\n"


def test_quiet_prints_nothing() -> None:
    out = io.StringIO()
    run(Display(quiet=True, console=Console(file=out, force_terminal=True)))
    assert out.getvalue() == ""


def test_a_second_repository_lengthens_the_same_bars() -> None:
    out = io.StringIO()
    display = Display(quiet=False, console=Console(file=out, force_terminal=True, width=100))
    display.start_repositories(2)
    display.start_delivery(EVENTS)
    display.start_delivery(EVENTS)
    for event in EVENTS * 2:
        display.delivered(event, Result(Outcome.ACKNOWLEDGED))
    display.stop()
    text = out.getvalue()
    assert "4/4" in text  # events of both repositories on one bar
    assert text.count("events") >= 1


def test_a_line_for_each_repository_in_flight() -> None:
    out = io.StringIO()
    display = Display(quiet=False, console=Console(file=out, force_terminal=True, width=100))
    display.start_repositories(3)
    reports = [
        RepoReport(location=location)
        for location in ("https://git.example.com/org/payments-gateway.git", "/srv/git/web")
    ]
    for report in reports:
        display.repository_started(report)
    assert display._progress is not None
    shown = [task.description for task in display._progress.tasks]
    assert shown == ["repositories", "payments-ga…", "web"]
    display.repository_done(reports[0])
    assert [task.description for task in display._progress.tasks] == ["repositories", "web"]
    display.stop()
    assert "\nweb " in out.getvalue()  # its line, with the time it has taken


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (0.04, "0.0 s"),
        (0.44, "0.4 s"),
        (9.94, "9.9 s"),
        (9.96, "10 s"),
        (59.4, "59 s"),
        (125, "2 min 05 s"),
        (3725, "1 h 02 min"),
    ],
)
def test_a_runs_time_is_shown_in_the_unit_it_needs(seconds: float, shown: str) -> None:
    assert clock.duration(seconds) == shown


def test_a_run_from_its_own_command_line_counts_from_the_process_start() -> None:
    called = time.monotonic()
    clock.start(process=True)
    # This process (pytest's) started before this test did: its start-up is counted.
    assert clock.seconds() > time.monotonic() - called
    clock.start(process=False)
    assert clock.seconds() <= time.monotonic() - called
