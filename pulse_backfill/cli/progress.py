"""The live progress display on a terminal: one set of bars for the whole run.

Its rows, in order: the repositories done (with several), a line per repository in flight
(its name, its phase, what it has done of it, how fast), and the deployments and events
delivered. Each row is a task whose `row` field says where it stands, so a repository's line
keeps its place when it starts a new phase (a new task: its own count, rate and time).
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.console import Console, RenderableType
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Column
from rich.text import Text


class _Bars(Progress):
    def get_renderables(self) -> Iterable[RenderableType]:
        tasks = sorted(self.tasks, key=lambda task: int(task.fields.get("row", 0)))
        yield self.make_tasks_table(tasks)


def _things(number: float, unit: str) -> str:
    """`1 commit`, `12,345 commits`; the number alone without a unit."""
    if not unit:
        return f"{number:,.0f}"
    return f"{number:,.0f} {unit}{'' if number == 1 else 's'}"


class _PhaseColumn(ProgressColumn):
    """What a repository's line is doing: cloning, fetching, deriving, waiting, recording,
    sending."""

    def render(self, task: Task) -> Text:
        return Text(f"{task.fields.get('phase', ''):<9}", style="cyan")


class _CountColumn(ProgressColumn):
    """`2/3` (or `120/358 events`) when there is a total; `12,345 commits` (what is done so
    far) or `358 events` (a phase's size) when there is none."""

    def render(self, task: Task) -> Text:
        unit = str(task.fields.get("unit", ""))
        size = task.fields.get("size")
        if task.total is not None:
            done = f"{task.completed:,.0f}/{task.total:,.0f}"
            return Text(f"{done} {unit}{'' if task.total == 1 else 's'}" if unit else done)
        if size is not None:
            return Text(_things(float(size), unit))
        return Text(_things(task.completed, unit) if task.completed else "")


class _RateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        counting = task.total is not None or task.completed
        speed = task.speed if counting else None
        if task.total is None and speed is None:
            return Text("")
        return Text(f"{speed or 0:>5,.0f}/s")


class _LeftColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        return Text("" if task.total is None else f"{task.remaining or 0:>6,.0f} left")


class _RemainingColumn(TimeRemainingColumn):
    def render(self, task: Task) -> Text:
        return Text("") if task.total is None else super().render(task)


def progress_bars(console: Console) -> Progress:
    """Bars with what is done, how many a second and the time taken; and a line for each
    repository in flight, with its phase. On a terminal of 100 columns or more, also what is
    left and the time remaining."""
    kept = Column(no_wrap=True)  # a narrow terminal shortens the bar, never wraps a row
    wide: list[ProgressColumn] = []
    if console.width >= _WIDE:
        wide = [_LeftColumn(table_column=kept), _RemainingColumn(table_column=kept)]
    return _Bars(
        TextColumn("{task.description}", table_column=kept),
        _PhaseColumn(table_column=kept),
        BarColumn(bar_width=None, table_column=Column(ratio=1)),
        _CountColumn(table_column=kept),
        *wide[:1],
        _RateColumn(table_column=kept),
        TimeElapsedColumn(table_column=kept),
        *wide[1:],
        console=console,
        expand=True,
    )


_WIDE = 100
