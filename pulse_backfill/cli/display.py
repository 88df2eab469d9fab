"""What a person sees: progress while it runs, a summary at the end, warnings on the way."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pulse_backfill.cli import clock
from pulse_backfill.commands.backfill import Summary
from pulse_backfill.commands.runs import Phase, RepoReport
from pulse_backfill.commands.sending import SendSummary
from pulse_backfill.commands.sync import SyncMode
from pulse_backfill.delivery.outcomes import Outcome, Result
from pulse_backfill.derive.derivation import Status
from pulse_backfill.derive.failures import Failure
from pulse_backfill.derive.releases import TagRules, prefixed_versions, suggest_rules
from pulse_backfill.pulse.events import Event, EventKind

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID

# Where the progress display's rows stand (see `progress`); kept here, as that module loads
# the terminal library.
FIRST_ROW = 0
LAST_ROWS = 1_000_000_000

_HINT_TAGS = 5


_NAME_WIDTH = 24  # the longest name a repository's line shows whole


@dataclass
class _Line:
    """A repository's line on the progress display: its task, and the phase it shows."""

    task: TaskID
    phase: str


_UNITS = {"deriving": "commit", "waiting": "event", "recording": "event", "sending": "event"}


class Display:
    """Progress bars on a terminal, a line per deployment elsewhere; when quiet, only what went
    wrong: a warning, an error, what was not delivered.

    On a terminal, each repository in flight has a line: its name, its phase (cloning or
    fetching, deriving, waiting, recording, sending), what it has done of it and how fast. Worker
    threads tell the phases of the repositories they derive, the run's writer those it records
    and sends: the lines are kept under a lock, and rich draws from its own thread.

    Everything goes to stderr: stdout is kept for --json and --output -. The terminal library
    is loaded when something is shown: a quiet run (a nightly job's) starts without it.
    """

    def __init__(self, *, quiet: bool, console: Console | None = None) -> None:
        self.quiet = quiet
        self._console = console
        self._progress: Progress | None = None
        self._repositories: TaskID | None = None
        self._repository_count = 1
        self._lock = threading.RLock()  # the display and its lines, which threads change
        self._lines: dict[int, _Line] = {}  # by id(report): a line per repository in flight
        self._rows: dict[int, int] = {}  # by id(report): where its line stands
        self._sending: int | None = None  # id(report) of the repository being sent
        self._width = 0  # of the longest name shown so far: the lines stay aligned
        self._deployments: TaskID | None = None
        self._events: TaskID | None = None
        self._totals = [0, 0]  # deployments and events to deliver, over the whole run

    @property
    def console(self) -> Console:
        if self._console is None:
            from rich.console import Console

            self._console = Console(stderr=True, highlight=False, soft_wrap=True)
        return self._console

    def warn(self, message: str) -> None:
        """Something was skipped or is wrong: shown even when quiet."""
        self.console.print(f"[yellow]warning:[/] {_plain(message)}")

    def waiting_for_store(self) -> None:
        if not self.quiet:
            self.console.print("Waiting for another run to finish with the store...")

    def start_repositories(self, count: int) -> None:
        self._repository_count = count
        if count > 1 and self._live():
            self._repositories = self._bar().add_task("repositories", total=count, row=FIRST_ROW)

    def repository_started(self, report: RepoReport) -> None:
        if not self._live():
            return
        with self._lock:
            self._rows[id(report)] = len(self._rows) + 1
            if id(report) not in self._lines:
                self._show(report, "")

    def repository_phase(
        self, report: RepoReport, phase: Phase, done: int | None = None, total: int | None = None
    ) -> None:
        if not self._live():
            return
        with self._lock:
            key = id(report)
            if phase in ("recording", "sending") and self._sending not in (None, key):
                self._hide(self._sending)  # the writer has moved on to another repository
                self._sending = None
            if phase == "sending":
                self._sending = key
            line = self._lines.get(key)
            if line is None or line.phase != phase:
                self._show(report, phase, done, total)
            elif done is not None:
                self._bar().update(line.task, completed=done)

    def repository_done(self, report: RepoReport) -> None:
        if self._live():
            with self._lock:
                self._hide(id(report))
        # With several repositories, each line says which one it is about.
        about = f"{report.location}: " if self._repository_count > 1 else ""
        for warning in report.warnings:
            self.warn(about + warning)
        if report.error is not None:
            self.console.print(f"[red]error:[/] {_plain(report.location)}: {_plain(report.error)}")
        if self._progress is not None and self._repositories is not None:
            self._progress.advance(self._repositories)

    def _show(
        self, report: RepoReport, phase: str, done: int | None = None, total: int | None = None
    ) -> None:
        """`report`'s line, in a new phase: a new task in its place, with its own count, rate
        and time, drawn at once (each phase reaches the screen, however short)."""
        progress = self._bar()
        key = id(report)
        self._hide(key)
        name = _shortened(report)
        self._width = max(self._width, len(name))
        counted_to = None if done is None else total
        task = progress.add_task(
            name.ljust(self._width),
            total=counted_to,
            completed=done or 0,
            phase=phase,
            unit=_UNITS.get(phase, ""),
            size=total if counted_to is None else None,
            row=self._rows.get(key, len(self._rows) + 1),
        )
        self._lines[key] = _Line(task, phase)

    def _hide(self, key: int | None) -> None:
        line = self._lines.pop(key, None) if key is not None else None
        if line is not None and self._progress is not None:
            self._progress.remove_task(line.task)

    def start_delivery(self, events: Sequence[Event]) -> None:
        if not self._live():
            return
        progress = self._bar()
        # Another repository of the same run makes the same bars longer.
        self._totals[0] += sum(1 for event in events if event.kind == "deployment")
        self._totals[1] += len(events)
        if self._events is None or self._deployments is None:
            self._deployments = progress.add_task(
                "deployments", total=self._totals[0], row=LAST_ROWS
            )
            self._events = progress.add_task("events", total=self._totals[1], row=LAST_ROWS + 1)
        else:
            progress.update(self._deployments, total=self._totals[0])
            progress.update(self._events, total=self._totals[1])

    def delivered(self, event: Event, result: Result | None) -> None:
        if self.quiet:
            return
        if self._progress is not None and self._events is not None:
            assert self._deployments is not None
            self._progress.advance(self._events)
            if event.kind == "deployment":
                self._progress.advance(self._deployments)
            self._sent_one()
        if result is None:
            return
        if result.outcome is not Outcome.ACKNOWLEDGED:
            self.console.print(
                f"[red]not delivered:[/] {event.kind} {_plain(event.identifier)}: "
                f"{_plain(result.detail)}"
            )
        elif event.kind == "deployment" and self._progress is None:
            changes = counted(len(event.requires), "change")
            self.console.print(f"sent deployment {_plain(event.identifier)} ({changes})")

    def _sent_one(self) -> None:
        """One more event of the repository being sent; its line goes when all are."""
        assert self._progress is not None
        with self._lock:
            line = None if self._sending is None else self._lines.get(self._sending)
            if line is None:
                return
            self._progress.advance(line.task)
            task = next(t for t in self._progress.tasks if t.id == line.task)
            if task.finished:
                self._hide(self._sending)
                self._sending = None

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
            self._deployments = self._events = self._repositories = None
            with self._lock:
                self._lines.clear()
                self._sending = None

    def outage(self, detail: str | None) -> None:
        if self.quiet:
            return
        if detail is None:
            self.console.print("The server answers again: delivering at full speed.")
        else:
            self.console.print(
                f"The server failed every request lately ({_plain(detail)}): trying one "
                "request at a time until it answers."
            )

    def conclude(
        self,
        lines: Sequence[str],
        failures: Sequence[str],
        payload: dict[str, Any] | None = None,
    ) -> None:
        """A run's last words: the summary (with `payload`, as JSON on stdout); and when quiet,
        or when the summary is JSON, what went wrong still on stderr. The JSON's
        `elapsed_seconds` is the run's, as `done_line` counts it."""
        if payload is not None:
            if "elapsed_seconds" in payload:
                payload["elapsed_seconds"] = round(clock.seconds(), 3)
            print_json(payload)
        shown = failures if self.quiet or payload is not None else lines
        for line in shown:
            self.console.print(line, markup=False)

    def _live(self) -> bool:
        # A dumb terminal (TERM=dumb: an editor's shell, some CI logs) cannot redraw: rich
        # would show the bars only at the end, so it gets the plain lines.
        return not self.quiet and self.console.is_terminal and not self.console.is_dumb_terminal

    def _bar(self) -> Progress:
        """One display for the whole run: repositories, then what is delivered."""
        with self._lock:
            if self._progress is None:
                from pulse_backfill.cli.progress import progress_bars

                self._progress = progress_bars(self.console)
                self._progress.start()
            return self._progress


def _shortened(report: RepoReport) -> str:
    """A repository's name, within _NAME_WIDTH: a system cut at its end, a location at its
    start (its end tells it from others)."""
    name = report.name or report.location.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git")
    if len(name) <= _NAME_WIDTH:
        return name
    if report.location.endswith(name):  # a location's end, which tells it from others
        return "…" + name[-(_NAME_WIDTH - 1) :]
    return name[: _NAME_WIDTH - 1] + "…"


def _plain(text: str) -> str:
    """`text` shown as it is, whatever brackets it holds (rich would read them as markup)."""
    from rich.markup import escape

    return escape(text)


def summary_lines(summary: Summary) -> list[str]:
    lines = [line for report in summary.repositories for line in _repository_lines(report)]
    lines.extend(delivery_lines(summary))
    lines.extend(_failed_repositories(summary))
    lines.append(done_line())
    return lines


def done_line() -> str:
    """How long the run took, from the start of the process (see `clock`)."""
    return f"Done in {clock.duration(clock.seconds())}."


def counted(number: int, thing: str, things: str | None = None) -> str:
    """`1 change`, `2 changes`; `things` for a plural other than thing + s."""
    return f"{number} {thing if number == 1 else things or thing + 's'}"


def failure_lines(summary: SendSummary) -> list[str]:
    """What a summary says went wrong: what a quiet run still shows."""
    lines = _delivery_failures(summary)
    if isinstance(summary, Summary):
        lines.extend(_failed_repositories(summary))
    return lines


def _failed_repositories(summary: Summary) -> list[str]:
    if not summary.failed:
        return []
    failed = ", ".join(report.location for report in summary.failed)
    return [
        f"Failed: {len(summary.failed)} of "
        f"{counted(len(summary.repositories), 'repository', 'repositories')} "
        f"({failed}); the others were done."
    ]


def delivery_lines(summary: SendSummary) -> list[str]:
    """What became of the events: sent, recorded, or not delivered and why."""
    lines: list[str] = []
    if summary.dry_run:
        lines.append("Dry run: nothing was sent or recorded.")
    elif summary.delivery is None:
        lines.append(_waiting_line(summary))
    elif not any(summary.delivery.sent.values()) and not summary.undelivered:
        lines.append(f"Nothing new to send to {summary.destination}.")
    else:
        kinds = [k for k in _KINDS if summary.derived(k) or summary.count(k, "sent")]
        kinds = kinds or ["deployment", "change"]
        sent = _listing([counted(summary.count(k, "sent"), k) for k in kinds])
        already = ", ".join(counted(summary.count(k, "already"), k) for k in kinds)
        lines.append(f"Sent {sent} to {summary.destination}; already delivered: {already}.")
    lines.extend(_delivery_failures(summary))
    return lines


def _waiting_line(summary: SendSummary) -> str:
    """What a run without a key left in the store, and how much of it this run recorded."""
    if not summary.waiting:
        return f"Nothing was sent (no API key), and no event waits in {summary.store}."
    waiting = counted(summary.waiting, "event")
    verb, them = ("waits", "it") if summary.waiting == 1 else ("wait", "them")
    new = "" if summary.new_waiting is None else f" ({summary.new_waiting} new)"
    return (
        f"Nothing was sent (no API key): {waiting} {verb} in {summary.store}{new}; to send "
        f"{them}, set PULSE_API_KEY and run the same command again."
    )


def _delivery_failures(summary: SendSummary) -> list[str]:
    lines: list[str] = []
    if summary.delivery is not None and summary.delivery.stopped:
        lines.append(f"Stopped early: {summary.delivery.stopped}")
    if summary.interrupted:
        lines.append("Interrupted: what was not acknowledged goes with the next run.")
    undelivered = summary.undelivered
    if undelivered:
        counts = ", ".join(
            counted(sum(1 for u in undelivered if u.kind == kind), kind)
            for kind in sorted({u.kind for u in undelivered})
        )
        lines.append(f"Not delivered: {counts}; run the same command again to retry them.")
        lines.extend(f"  {u.kind} {u.identifier}: {u.reason}" for u in undelivered[:20])
        if len(undelivered) > 20:
            lines.append(f"  ... and {len(undelivered) - 20} more (see --json)")
    return lines


_KINDS: tuple[EventKind, ...] = ("deployment", "change", "incident")


def _listing(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _repository_lines(report: RepoReport) -> list[str]:
    where = report.location + (f" (system {report.system})" if report.system else "")
    derivation = report.derivation
    if report.error is not None:
        return [f"{where}: failed: {report.error}"]
    if report.sync is SyncMode.UP_TO_DATE:
        return [f"{where}: no new deployments since the last sync."]
    new = "new " if report.sync is SyncMode.INCREMENTAL else ""
    since = " since the last sync" if report.sync is SyncMode.INCREMENTAL else ""
    deployments = counted(report.derived("deployment"), f"{new}deployment")
    changes = counted(report.derived("change"), "change")
    baselines = derivation.count(Status.BASELINE)
    lines = [
        f"{deployments} with {changes} derived from {where}{since}; skipped: "
        f"{derivation.count(Status.EMPTY)} with no new changes, "
        + ("1 as a baseline" if baselines == 1 else f"{baselines} as baselines")
    ]
    if report.rules:
        found = len(report.failures)
        failed = counted(found, "failed deployment")
        lines.append(
            f"{failed} {'newly ' if report.sync is SyncMode.INCREMENTAL else ''}found by "
            f"--infer-failures {report.rules}, each an incident" + (":" if found else ".")
        )
        lines.extend(
            f"  {f.failed.id}: {f.rule} ({_marker(f)}); recovered by {f.recovered.id}"
            for f in report.failures[:_FAILURES_SHOWN]
        )
        if found > _FAILURES_SHOWN:
            lines.append(f"  ... and {found - _FAILURES_SHOWN} more (see --json)")
    if report.sync is SyncMode.FULL and report.tag_rules is not None:
        if not derivation.deployments:
            lines.append(
                _no_release_hint(report.tag_names, report.tag_rules, report.default_branch)
            )
        elif not derivation.sent and (hint := _prefixes_hint(report, report.tag_rules)):
            lines.append(hint)
    return lines


_FAILURES_SHOWN = 10


def _marker(failure: Failure) -> str:
    if failure.subject is None:
        return f"rolled back by {failure.marker}"
    return f"{failure.marker[:10]} {failure.subject}"


def _prefixes_hint(report: RepoReport, rules: TagRules) -> str | None:
    """Release tags that give nothing to send, beside tags that are versions after a prefix (a
    repository that moved to `svelte@5.0.0` from `v3.59.2`): the prefixes, to try."""
    prefixes = prefixed_versions(report.tag_names, rules)[:_HINT_PREFIXES]
    if not prefixes:
        return None
    releases = report.derivation.deployments
    last = releases[-1]
    tags = counted(len(releases), "release tag")
    when = datetime.fromtimestamp(last.time, UTC).date().isoformat()
    tries = " or ".join(
        f"--tag-prefix {p.prefix!r} ({counted(p.count, 'tag')}, such as {p.latest})"
        for p in prefixes
    )
    given = f" with {_rule(rules)}" if _rule(rules) else ""
    return (
        f"No deployment to send from its {tags}{given} (the last: {last.id}, on {when}); "
        f"other tags are versions after a prefix: try {tries}."
    )


_HINT_PREFIXES = 3


def _rule(rules: TagRules) -> str:
    """The option that chose the release tags, as given; "" for the default."""
    if rules.pattern is not None:
        return f"--tag-pattern {rules.pattern.pattern!r}"
    return f"--tag-prefix {rules.prefix!r}" if rules.prefix else ""


def _no_release_hint(tag_names: Sequence[str], rules: TagRules, branch: str | None) -> str:
    # A team that deploys every merge has branches, and no release tags at all.
    from_branch = f"--deployments-from branch:{branch}" if branch else None
    if not tag_names:
        fix = f" To deploy from a branch, pass {from_branch}." if from_branch else ""
        return f"No release tags: the repository has no tags at all.{fix}"
    sample = ", ".join(sorted(tag_names)[:_HINT_TAGS])
    suggestions = suggest_rules(tag_names, rules)
    fix = (
        f"try {' or '.join(suggestions)}, or --tag-pattern REGEX"
        if suggestions
        else "use --tag-prefix for prefixed versions (service/v1.2.3) "
        "or --tag-pattern REGEX for other names"
    )
    if from_branch:
        fix += f"; or, to deploy from a branch, {from_branch}"
    given = f" with {_rule(rules)}" if _rule(rules) else ""
    tags = counted(len(tag_names), "tag")
    return f"No release tags{given} among its {tags} (such as {sample}): {fix}."


def print_json(summary: Summary | dict[str, Any]) -> None:
    """One JSON object on stdout: a summary, or any figures a command reports."""
    print(json.dumps(summary if isinstance(summary, dict) else summary.to_json()))
