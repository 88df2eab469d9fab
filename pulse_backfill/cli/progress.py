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


class _RateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        return Text(f"{task.speed or 0:>5.0f}/s")


class _LeftColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        return Text(f"{task.remaining or 0:>6.0f} left")


def progress_bars(console: Console) -> Progress:
    """Bars with what is done, what is left, events a second and the time remaining."""
    return Progress(
        TextColumn("{task.description:<12}"),
        BarColumn(),
        MofNCompleteColumn(),
        _LeftColumn(),
        _RateColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
    )
