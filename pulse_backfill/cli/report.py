"""`pulse-backfill report`: the four keys of what the store (or an export) holds."""

from __future__ import annotations

import os
import time
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer
import typer.main

from pulse_backfill.cli.display import print_json
from pulse_backfill.cli.help import Command
from pulse_backfill.cli.options import OUTPUT, READ, parse_date_option
from pulse_backfill.errors import UsageError
from pulse_backfill.report.trends import Granularity
from pulse_backfill.store import default_store_path

EXAMPLES = """Examples:
  pulse-backfill report
  pulse-backfill report --system api --since "90 days ago" --html four-keys.html
  pulse-backfill report --from events.ndjson --by month --json"""


def report_command(
    system: Annotated[
        list[str] | None,
        typer.Option(
            metavar="NAME",
            show_default=False,
            rich_help_panel=READ,
            help="Only this system (repeatable). \\[default: every system]",
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            metavar="DATE",
            show_default=False,
            rich_help_panel=READ,
            help="Start of the period (inclusive); as git takes dates too ('90 days ago'), in "
            "UTC. \\[default: 90 days before --until]",
        ),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(
            metavar="DATE",
            show_default=False,
            rich_help_panel=READ,
            help="End of the period (exclusive). \\[default: tomorrow, UTC: today included]",
        ),
    ] = None,
    by: Annotated[
        Granularity | None,
        typer.Option(
            metavar="week|month|quarter",
            show_default=False,
            rich_help_panel=OUTPUT,
            help="Also the four keys of each calendar week (ISO, Monday first), month or "
            "quarter (UTC), as trends. \\[default: the whole period only; the page's trends by "
            "week, month or quarter as the period's length asks]",
            case_sensitive=False,
        ),
    ] = None,
    store: Annotated[
        list[Path] | None,
        typer.Option(
            envvar="PULSE_BACKFILL_STORE",
            metavar="PATH",
            show_default=False,
            rich_help_panel=READ,
            help="A local store (SQLite; repeatable: shards' stores report as one, an event "
            "several hold counting once). \\[default: store.sqlite3 in the user's state folder]",
        ),
    ] = None,
    from_file: Annotated[
        list[Path] | None,
        typer.Option(
            "--from",
            metavar="FILE",
            show_default=False,
            rich_help_panel=READ,
            help="An NDJSON export to read (repeatable; with --store, beside the stores).",
        ),
    ] = None,
    json_output: Annotated[
        bool,
        typer.Option(
            "--json", rich_help_panel=OUTPUT, help="Print the figures as one JSON object on stdout."
        ),
    ] = False,
    html_file: Annotated[
        Path | None,
        typer.Option(
            "--html",
            metavar="FILE",
            show_default=False,
            rich_help_panel=OUTPUT,
            help="Write a self-contained HTML page too: a tile per key, a system selector, "
            "trend charts, and the deployments, changes and failures behind them.",
        ),
    ] = None,
) -> None:
    """The four keys of what the store (or an export) holds, as Pulse computes them."""
    # Imported here: the other commands, whose start-up a nightly re-sync pays, never need them.
    from rich.console import Console

    from pulse_backfill.commands.subjects import subjects
    from pulse_backfill.git.remote import default_cache_dir
    from pulse_backfill.report.build import build_report, read_history
    from pulse_backfill.report.page import html_page
    from pulse_backfill.report.view import show

    exports = from_file or []
    stores = store or ([] if exports else [default_store_path()])
    report = build_report(
        read_history(stores, exports),
        systems=system or [],
        since=parse_date_option(since, "--since"),
        until=parse_date_option(until, "--until"),
        now=int(time.time()),
        by=by,
    )
    cache = os.environ.get("PULSE_BACKFILL_CACHE_DIR")  # where `git` keeps URLs' clones
    wanted = [(c.system, c.change) for c in report.slowest]
    named = subjects(stores, wanted, Path(cache) if cache else default_cache_dir())
    report = replace(
        report,
        slowest=[replace(c, subject=named.get((c.system, c.change))) for c in report.slowest],
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


# A single command, built on its own when the command line names it (cli.app._LAZY_GROUPS).
report_app = typer.Typer(add_completion=False)
report_app.command("report", cls=Command, epilog=EXAMPLES)(report_command)
