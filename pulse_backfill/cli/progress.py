"""The live progress display on a terminal: one set of bars for the whole run."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

# A repository being fetched and derived is a line with no total: it shows its elapsed time
# and a pulsing bar, none of the counts.


class _RateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        return Text("" if task.total is None else f"{task.speed or 0:>5.0f}/s")


class _LeftColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        return Text("" if task.total is None else f"{task.remaining or 0:>6.0f} left")


class _DoneColumn(MofNCompleteColumn):
    def render(self, task: Task) -> Text:
        return Text("") if task.total is None else super().render(task)


class _RemainingColumn(TimeRemainingColumn):
    def render(self, task: Task) -> Text:
        return Text("") if task.total is None else super().render(task)


def progress_bars(console: Console) -> Progress:
    """Bars with what is done, what is left, events a second and the time remaining; and a
    line for each repository in flight."""
    return Progress(
        TextColumn("{task.description:<12}"),
        BarColumn(),
        _DoneColumn(),
        _LeftColumn(),
        _RateColumn(),
        TimeElapsedColumn(),
        _RemainingColumn(),
        console=console,
    )
