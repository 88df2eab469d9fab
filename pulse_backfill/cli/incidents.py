"""`pulse-backfill incidents ...`: incidents from a status page, PagerDuty or a file."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Annotated

import typer

from pulse_backfill.cli.display import (
    Display,
    counted,
    delivery_lines,
    done_line,
    failure_lines,
)
from pulse_backfill.cli.options import (
    DEFAULTS,
    ApiKey,
    ApiKeyFile,
    BaseUrl,
    Concurrency,
    DryRun,
    Force,
    Insecure,
    JsonSummary,
    MaxRetries,
    Output,
    PersistentOptionsGroup,
    Quiet,
    RetryMaxTime,
    SendOptions,
    StorePath,
    Timeout,
    Wait,
    interruptible,
    parse_date_option,
    send_options,
)
from pulse_backfill.commands.sending import DEFAULT_CONCURRENCY, SendSettings, send_events
from pulse_backfill.errors import UsageError
from pulse_backfill.incidents.records import FileFields, select_incidents
from pulse_backfill.incidents.sources import (
    PAGERDUTY_API,
    Fetched,
    incident_file,
    pagerduty,
    statuspage,
)
from pulse_backfill.urls import shown_location

incidents_app = typer.Typer(
    cls=PersistentOptionsGroup,
    no_args_is_help=True,
    add_completion=False,  # as the root's: it is built on its own (cli._LAZY_GROUPS)
    help="Backfill incidents from a status page, PagerDuty or a file; only resolved ones are sent.",
)


@dataclass(frozen=True)
class _Options:
    send: SendOptions
    since: int | None
    until: int | None

    @staticmethod
    def of(ctx: typer.Context) -> _Options:
        options = ctx.obj  # click hands a group's object down to its subcommands
        assert isinstance(options, _Options)
        return options


@incidents_app.callback()
def _incidents(
    ctx: typer.Context,
    since: Annotated[
        str | None, typer.Option(help="Incidents created from this date on (inclusive).")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="Incidents created before this date (exclusive).")
    ] = None,
    system: Annotated[
        str | None, typer.Option(help="Pulse system of the incidents (left out when not given).")
    ] = None,
    dry_run: DryRun = False,
    output: Output = None,
    api_key: ApiKey = None,
    api_key_file: ApiKeyFile = None,
    base_url: BaseUrl = DEFAULTS["base_url"],
    insecure: Insecure = False,
    store: StorePath = None,
    wait: Wait = False,
    force: Force = False,
    concurrency: Concurrency = DEFAULT_CONCURRENCY,
    max_retries: MaxRetries = DEFAULTS["max_retries"],
    retry_max_time: RetryMaxTime = DEFAULTS["retry_max_time"],
    timeout: Timeout = DEFAULTS["timeout"],
    quiet: Quiet = False,
    json_summary: JsonSummary = False,
) -> None:
    """Options here may also follow the source."""
    if json_summary and output == "-":
        raise UsageError("--json and --output - both write to stdout: write the events to a file")
    start, end = parse_date_option(since, "--since"), parse_date_option(until, "--until")
    if start is not None and end is not None and start >= end:
        raise UsageError("--since must be before --until")
    settings = SendSettings(**send_options(ctx))  # the options above, from ctx.params
    ctx.obj = _Options(SendOptions(settings, quiet, json_summary, system or None), start, end)


@incidents_app.command("statuspage")
def statuspage_command(
    ctx: typer.Context,
    url: Annotated[
        str,
        typer.Argument(
            help="The status page (https://status.example.com) or its /api/v2/incidents.json."
        ),
    ],
) -> None:
    """Incidents of an Atlassian Statuspage page (its public API: the latest ones only)."""
    fetched = statuspage(url, timeout=_Options.of(ctx).send.settings.timeout)
    _send(ctx, fetched, source="statuspage", where=shown_location(url))


@incidents_app.command("pagerduty")
def pagerduty_command(
    ctx: typer.Context,
    token: Annotated[
        str | None,
        typer.Option(envvar="PAGERDUTY_TOKEN", show_default=False, help="PagerDuty API token."),
    ] = None,
    service: Annotated[
        list[str] | None,
        typer.Option(help="Only incidents of this service id (repeatable).", show_default=False),
    ] = None,
    api_url: Annotated[str, typer.Option(help="PagerDuty's REST API.")] = PAGERDUTY_API,
) -> None:
    """Incidents of PagerDuty's REST API, six months per query, all pages."""
    options = _Options.of(ctx)
    if not token:
        raise UsageError("PagerDuty needs a token: set PAGERDUTY_TOKEN or pass --token")
    if options.since is None:
        raise UsageError("PagerDuty needs --since: pass the date to backfill incidents from")
    fetched = pagerduty(
        token=token,
        since=options.since,
        until=options.until if options.until is not None else int(time.time()),
        services=service or [],
        api=api_url,
        timeout=options.send.settings.timeout,
    )
    _send(ctx, fetched, source="pagerduty", where="PagerDuty")


@incidents_app.command("file")
def file_command(
    ctx: typer.Context,
    location: Annotated[
        str, typer.Argument(metavar="PATH|URL", help="JSON (array or NDJSON) or CSV.")
    ],
    id_field: Annotated[str, typer.Option(help="Field of the incident's id.")] = "id",
    created_field: Annotated[str, typer.Option(help="Field of its creation time.")] = "created_at",
    resolved_field: Annotated[
        str, typer.Option(help="Field of its resolution time.")
    ] = "resolved_at",
    status_field: Annotated[
        str | None,
        typer.Option(help="Field of its status: resolved only with --resolved-status."),
    ] = None,
    resolved_status: Annotated[
        str, typer.Option(help="The status of a resolved incident.")
    ] = "resolved",
    source: Annotated[str, typer.Option(help="The incidents' source on the wire.")] = "cli",
) -> None:
    """Incidents of a file: times as epoch seconds or milliseconds, or ISO 8601."""
    fields = FileFields(id_field, created_field, resolved_field, status_field, resolved_status)
    fetched = incident_file(location, fields, timeout=_Options.of(ctx).send.settings.timeout)
    _send(ctx, fetched, source=source, where=shown_location(location))


def _send(ctx: typer.Context, fetched: Fetched, *, source: str, where: str) -> None:
    run = _Options.of(ctx)
    options = run.send
    selection = select_incidents(
        fetched.incidents, since=run.since, until=run.until, system=options.system, source=source
    )
    display = Display(quiet=options.quiet)
    for line in selection.rejected:
        display.warn(line)
    with interruptible() as cancel:
        summary = send_events(
            options.settings,
            selection.events,
            display,
            cancel,
            origin=f"incidents {source} {where}",
        )
    payload = None
    if options.json_summary:
        payload = {
            "source": source,
            "incidents": summary.figures("incident"),
            "unresolved": selection.unresolved,
            "rejected": selection.rejected,
            "outside_period": selection.outside,
            "notes": fetched.notes,
            **summary.delivery_json(),
        }
    lines = [
        f"{counted(len(fetched.incidents), 'incident')} from {where}: "
        f"{len(selection.events)} resolved "
        f"to send, {len(selection.unresolved)} unresolved, {len(selection.rejected)} "
        f"rejected, {selection.outside} outside the period"
    ]
    if selection.unresolved:
        shown = ", ".join(selection.unresolved[:10])
        hidden = len(selection.unresolved) - 10
        more = f" and {hidden} more" if hidden > 0 else ""
        lines.append(f"Unresolved, for a later run once resolved: {shown}{more}.")
    lines.extend(f"Note: {note}." for note in fetched.notes)
    lines.extend(delivery_lines(summary))
    lines.append(done_line())
    display.conclude(lines, failure_lines(summary), payload)
    raise typer.Exit(cancel.exit_code(summary.exit_code))
