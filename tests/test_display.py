"""The progress display on a terminal, and plain lines elsewhere."""

from __future__ import annotations

import fcntl
import io
import os
import pty
import re
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest
from rich.console import Console

from fixtures.git_http_server import GitHttpServer
from pulse_backfill.cli import clock
from pulse_backfill.cli.display import Display
from pulse_backfill.commands.backfill import run_git_backfill
from pulse_backfill.commands.runs import GitBackfillSettings, RepoReport
from pulse_backfill.delivery.outcomes import Outcome, Result
from pulse_backfill.git.manifest import RepoSpec
from pulse_backfill.pulse.events import change_event, deployment_event
from tests.conftest import API_KEY
from tests.gitoracle import git
from tests.ingestion_server import IngestionServer

EVENTS = [
    change_event("a" * 40, 0, system=None),
    deployment_event("v1.0.0", 1, ["a" * 40], system=None),
]


def terminal(out: io.StringIO, width: int = 80) -> Console:
    """A terminal that can redraw (the tests' TERM is dumb)."""
    return Console(file=out, force_terminal=True, width=width, _environ={"TERM": "xterm"})


def run(display: Display) -> None:
    display.start_delivery(EVENTS)
    for event in EVENTS:
        display.delivered(event, Result(Outcome.ACKNOWLEDGED))
    display.stop()


def test_a_terminal_gets_progress_bars() -> None:
    out = io.StringIO()
    run(Display(quiet=False, console=terminal(out, 100)))
    text = out.getvalue()
    assert "deployments" in text
    assert "2/2" in text
    assert "0 left" in text  # what is left, and the rate
    assert "/s" in text
    assert "━" in text


def test_a_narrow_terminal_leaves_out_what_is_left_and_the_time_remaining() -> None:
    out = io.StringIO()
    run(Display(quiet=False, console=terminal(out, 80)))
    last = out.getvalue().rsplit("\r", 1)[-1]
    assert "2/2" in last
    assert "left" not in last
    assert "-:--:--" not in last


def test_elsewhere_a_line_per_deployment() -> None:
    out = io.StringIO()
    run(Display(quiet=False, console=Console(file=out, force_terminal=False, width=80)))
    assert out.getvalue() == "sent deployment v1.0.0 (1 change)\n"


def test_quiet_prints_nothing() -> None:
    out = io.StringIO()
    run(Display(quiet=True, console=terminal(out)))
    assert out.getvalue() == ""


def test_a_second_repository_lengthens_the_same_bars() -> None:
    out = io.StringIO()
    display = Display(quiet=False, console=terminal(out, 100))
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
    display = Display(quiet=False, console=terminal(out, 100))
    display.start_repositories(3)
    reports = [
        RepoReport(location="https://git.example.com/org/payments-gateway-and-ledger.git"),
        RepoReport(location="/srv/git/web"),
        RepoReport(location="https://git.example.com/org/api.git", name="org/api.git"),
    ]
    for report in reports:
        display.repository_started(report)
    assert display._progress is not None
    shown = [task.description.rstrip() for task in display._progress.tasks]
    assert shown == ["repositories", "payments-gateway-and-le…", "web", "org/api.git"]
    display.repository_done(reports[0])
    shown = [task.description.rstrip() for task in display._progress.tasks]
    assert shown == ["repositories", "web", "org/api.git"]
    display.stop()
    assert "\nweb " in out.getvalue()  # its line, with the time it has taken


def lines_of(display: Display) -> list[tuple[str, str, str]]:
    """Each line of the display, in order: its name, its phase, and its count."""
    assert display._progress is not None
    tasks = sorted(display._progress.tasks, key=lambda task: task.fields.get("row", 0))
    return [
        (
            task.description.rstrip(),
            task.fields.get("phase", ""),
            "" if task.total is None else f"{task.completed:.0f}/{task.total:.0f}",
        )
        for task in tasks
    ]


def test_a_repositorys_line_shows_its_phase_in_its_place() -> None:
    display = Display(quiet=False, console=terminal(io.StringIO()))
    display.start_repositories(2)
    first, second = RepoReport("https://h/a/api.git", name="a"), RepoReport("/b", name="b")
    display.repository_started(first)
    display.repository_started(second)
    display.repository_phase(second, "deriving")
    display.repository_phase(first, "cloning")
    display.repository_phase(second, "deriving", 3000)
    assert lines_of(display) == [
        ("repositories", "", "0/2"),
        ("a", "cloning", ""),
        ("b", "deriving", ""),
    ]
    display.repository_phase(second, "waiting", total=5)  # derived before the first
    assert lines_of(display)[2] == ("b", "waiting", "")
    display.repository_phase(first, "deriving")
    display.repository_phase(first, "recording", total=2)
    display.repository_done(first)
    display.repository_phase(first, "sending", 0, 2)
    display.start_delivery(EVENTS)
    display.delivered(EVENTS[0], Result(Outcome.ACKNOWLEDGED))
    assert lines_of(display) == [
        ("repositories", "", "1/2"),
        ("a", "sending", "1/2"),
        ("b", "waiting", ""),
        ("deployments", "", "0/1"),
        ("events", "", "1/2"),
    ]
    display.delivered(EVENTS[1], Result(Outcome.ACKNOWLEDGED))  # all sent: its line goes
    assert [line[0] for line in lines_of(display)] == ["repositories", "b", "deployments", "events"]
    display.stop()


def test_a_dumb_terminal_gets_the_plain_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=80, _environ={"TERM": "dumb"})
    display = Display(quiet=False, console=console)
    display.repository_phase(RepoReport("/a"), "deriving")
    run(display)
    assert out.getvalue() == "sent deployment v1.0.0 (1 change)\n"


PHASES = ("cloning", "fetching", "deriving", "waiting", "recording", "sending")


def on_a_terminal(*args: str | Path, env: dict[str, str]) -> list[str]:
    """pulse-backfill run on a terminal (a pseudo-terminal of 100 columns): every row it drew,
    in the order drawn, without the terminal's control sequences."""
    main, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
    command = [sys.executable, "-m", "pulse_backfill", *map(str, args)]
    environment = {**os.environ, **env, "TERM": "xterm", "COLUMNS": "100"}
    with subprocess.Popen(
        command, stdin=terminal, stdout=terminal, stderr=terminal, env=environment
    ) as process:
        os.close(terminal)
        drawn = b""
        while True:
            try:
                chunk = os.read(main, 65536)
            except OSError:  # the terminal's other end closed: the run is over
                break
            if not chunk:
                break
            drawn += chunk
        assert process.wait() == 0, drawn.decode()
    os.close(main)
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", drawn.decode())
    return [row.rstrip() for row in re.split(r"[\r\n]+", text) if row.strip()]


def phases_shown(rows: list[str]) -> dict[str, list[str]]:
    """Each repository's phases, in the order the screen showed them."""
    shown: dict[str, list[str]] = {}
    for row in rows:
        if match := re.match(rf"(\S+) +({'|'.join(PHASES)}) ", row):
            name, phase = match.groups()
            if shown.setdefault(name, [phase])[-1] != phase:
                shown[name].append(phase)
    return shown


def test_a_terminal_shows_each_repository_by_name_in_its_phases_as_the_run_goes(
    repos: dict[str, Path], server: IngestionServer, tmp_path: Path
) -> None:
    served = tmp_path / "served"
    for team in ("payments", "search"):  # two repositories named "service", in one system
        git(tmp_path, "clone", "--quiet", "--bare", str(repos["linear"]),
            str(served / team / "service.git"))  # fmt: skip
        git(served / team / "service.git", "config", "uploadpack.allowFilter", "true")
    store, cache = tmp_path / "store.sqlite3", tmp_path / "cache"
    key = {"PULSE_API_KEY": API_KEY}
    with GitHttpServer(served, latency=0.05) as git_server:
        urls = [f"{git_server.base_url}/{team}/service.git" for team in ("payments", "search")]
        run = ("git", *urls, repos["release-branches"], "--system", "shop",
               "--base-url", server.base_url, "--store", store, "--cache-dir", cache)  # fmt: skip
        first = on_a_terminal(*run, env=key)
        again = on_a_terminal(*run, env=key)
    everything = ["cloning", "deriving", "waiting", "recording", "sending"]
    assert phases_shown(first) == {
        "payments/service.git": everything,
        "search/service.git": everything,
        "release-branches": everything[1:],  # a local repository is read where it is
    }  # each by as much of its location as tells it from the others of system "shop"
    # The summary follows, as elsewhere; the bars replace the line per deployment.
    assert first[-1].startswith("Done in ")
    assert not any(row.startswith("sent deployment") for row in first)
    # Nothing new the next time: fetched, derived (nothing), recorded (nothing), nothing sent.
    assert phases_shown(again) == {
        "payments/service.git": ["fetching", "deriving", "waiting", "recording"],
        "search/service.git": ["fetching", "deriving", "waiting", "recording"],
        "release-branches": ["deriving", "waiting", "recording"],
    }


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


class NamesShown(Display):
    """The names the progress display is given, in the order the repositories start."""

    def __init__(self) -> None:
        super().__init__(quiet=True)
        self.names: list[str] = []

    def repository_started(self, report: RepoReport) -> None:
        self.names.append(report.name)


def test_each_repository_is_named_by_its_system_or_what_tells_its_location_apart(
    repos: dict[str, Path], tmp_path: Path
) -> None:
    platform = str(repos["monorepo"])
    specs = (
        RepoSpec(location=platform, system="billing", tag_prefix="service-a/"),
        RepoSpec(location=platform, system="search", tag_prefix="service-b/"),
        RepoSpec(location=str(repos["linear"])),  # its folder's name
        RepoSpec(location=str(repos["deploy-branch"]), system="shop"),  # one system, on purpose
        RepoSpec(location=str(repos["release-branches"]), system="shop"),
    )
    listener = NamesShown()
    settings = GitBackfillSettings(
        repositories=specs, dry_run=True, base_url="http://127.0.0.1:9", store_path=tmp_path / "s"
    )
    run_git_backfill(settings, listener)
    assert listener.names == ["billing", "search", "linear", "deploy-branch", "release-branches"]
