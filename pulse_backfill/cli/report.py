"""`pulse-backfill report`: the four keys of what the store (or an export) holds."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
import typer.main

from pulse_backfill.cli.display import print_json
from pulse_backfill.cli.options import (
    StorePath,
    parse_date_option,
)
from pulse_backfill.errors import UsageError
from pulse_backfill.store import default_store_path


def report_command(
    system: Annotated[
        list[str] | None,
        typer.Option(help="Only this system (repeatable). \\[default: every system]"),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(help="Start of the period (inclusive). \\[default: the first event's day]"),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(help="End of the period (exclusive). \\[default: the day after the last]"),
    ] = None,
    store: StorePath = None,
    from_file: Annotated[
        Path | None,
        typer.Option("--from", metavar="FILE", help="Read an NDJSON export instead of the store."),
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the figures as one JSON object on stdout.")
    ] = False,
    html_file: Annotated[
        Path | None,
        typer.Option("--html", metavar="FILE", help="Write a self-contained HTML page too."),
    ] = None,
) -> None:
    """The four keys of what the store (or an export) holds, as Pulse computes them."""
    # Imported here: the other commands, whose start-up a nightly re-sync pays, never need them.
    from rich.console import Console

    from pulse_backfill.report.build import build_report, history_from_file, history_from_store
    from pulse_backfill.report.view import html_page, show

    if store is not None and from_file is not None:
        raise UsageError("--store and --from exclude each other: pass only one")
    history = (
        history_from_file(from_file)
        if from_file is not None
        else history_from_store(store or default_store_path())
    )
    report = build_report(
        history,
        systems=system or [],
        since=parse_date_option(since, "--since"),
        until=parse_date_option(until, "--until"),
    )
    if html_file is not None:
        try:
            html_file.write_text(html_page(report), encoding="utf-8")
        except OSError as error:
            raise UsageError(
                f"cannot write --html {html_file} ({error.strerror}): pass a writable path"
            ) from None
    if json_output:
        print_json(report.to_json())
    else:
        show(report, Console(highlight=False, soft_wrap=True))
