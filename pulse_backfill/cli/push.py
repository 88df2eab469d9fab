"""`pulse-backfill push`: the standard CLI's push commands, flag for flag, and `push events`."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from pulse_backfill.cli.declare import takes_groups
from pulse_backfill.cli.display import Display, delivery_lines, done_line, failure_lines
from pulse_backfill.cli.help import Command, Group, examples
from pulse_backfill.cli.options import (
    TEXT,
    Number,
    PersistentOptionsGroup,
    Reporting,
    Sending,
    SendOptions,
    interruptible,
    parse_paths,
    parse_teams,
)
from pulse_backfill.commands.push import (
    push_change,
    push_deployment,
    push_git_deployment,
    push_incident,
)
from pulse_backfill.commands.sending import (
    SendSummary,
    send_events,
)
from pulse_backfill.dates import LAST_SECOND
from pulse_backfill.errors import read_user_file
from pulse_backfill.git.repository import Repository
from pulse_backfill.pulse.events import CLI_SOURCE, Event, EventKind
from pulse_backfill.pulse.export import read_events

push_app = typer.Typer(
    cls=PersistentOptionsGroup,
    no_args_is_help=True,
    epilog="""Examples:
  pulse-backfill push change --identifier "$SHA" --timestamp "$(date +%s)"
  pulse-backfill push deployment --identifier 1.2.3 --timestamp 1602253523 SHA1 SHA2
  pulse-backfill push git deployment --previous-deployment-ref v1.2.2 --identifier v1.2.3 \\
      --timestamp "$(date +%s)"
  pulse-backfill push events events.ndjson""",
    add_completion=False,  # as the root's: it is built on its own (cli._LAZY_GROUPS)
    help="Push single events, as the standard CLI (pulse-event-cli) does, or a reviewed export.",
)
git_app = typer.Typer(
    cls=Group,
    no_args_is_help=True,
    help="Push events worked out from git history.",
    epilog=examples(
        "pulse-backfill push git deployment --previous-deployment-ref v1.2.2 \\",
        '    --identifier v1.2.3 --timestamp "$(date +%s)"',
    ),
)
push_app.add_typer(git_app, name="git")

System = Annotated[
    str | None,
    typer.Option(
        metavar="NAME",
        show_default=False,
        help="Pulse system of the events (left out when not given).",
    ),
]
Identifier = Annotated[
    str, typer.Option(metavar="ID", help="The event's identifier.", show_default=False)
]
EPOCH = Number(int, "EPOCH", 0, LAST_SECOND)
Timestamp = Annotated[
    int,
    typer.Option(
        click_type=EPOCH, help="UNIX epoch seconds (e.g. 1602253523).", show_default=False
    ),
]
Source = Annotated[
    str, typer.Option(metavar="NAME", help="The event's source (e.g. cli, git, GitHub).")
]
Teams = Annotated[
    str | None,
    typer.Option(
        metavar="A,B", show_default=False, help="Comma-separated teams of the deployment."
    ),
]


@push_app.callback()
@takes_groups
def _push(
    ctx: typer.Context,
    system: System = None,
    sending: Sending = Sending(),  # noqa: B008 (a group of options, read by takes_groups)
    reporting: Reporting = Reporting(),  # noqa: B008
) -> None:
    """Options here may also follow the subcommand, as with the standard CLI."""
    ctx.obj = SendOptions(sending.settings(ctx), reporting, system or None)


@push_app.command(
    "change",
    cls=Command,
    epilog=examples(
        'pulse-backfill push change --identifier "$SHA" --timestamp "$(date +%s)"',
        'pulse-backfill push change --identifier "$SHA" --timestamp 1602253523 --system api',
    ),
)
def change_command(
    ctx: typer.Context,
    identifier: Identifier,
    timestamp: Timestamp,
    source: Source = CLI_SOURCE,
    event_type: Annotated[
        str,
        typer.Option(
            "--event_type", metavar="TYPE", help="The change's type (the standard CLI's spelling)."
        ),
    ] = "commit",
) -> None:
    """Push a change (a commit).

    The options of 'pulse-backfill push' (--api-key, --base-url, --system, --store, ...) may
    come after the subcommand too, as with the standard CLI.
    """
    system = SendOptions.of(ctx).system
    _send(
        ctx,
        [push_change(identifier, timestamp, source=source, event_type=event_type, system=system)],
    )


@push_app.command(
    "deployment",
    cls=Command,
    epilog=examples(
        'pulse-backfill push deployment --identifier 1.2.3 --timestamp "$(date +%s)" SHA1 SHA2',
        "pulse-backfill push deployment --identifier 1.2.3 --timestamp 1602253523 --teams web SHA1",
    ),
)
def deployment_command(
    ctx: typer.Context,
    identifier: Identifier,
    timestamp: Timestamp,
    change_ids: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="CHANGE_ID...",
            click_type=TEXT,
            help="The changes it shipped.",
            show_default=False,
        ),
    ] = None,
    source: Source = CLI_SOURCE,
    teams: Teams = None,
) -> None:
    """Push a deployment with the ids of the changes it shipped.

    The options of 'pulse-backfill push' (--api-key, --base-url, --system, --store, ...) may
    come after the subcommand too, as with the standard CLI.
    """
    event = push_deployment(
        identifier,
        timestamp,
        change_ids or [],
        source=source,
        teams=parse_teams(teams),
        system=SendOptions.of(ctx).system,
    )
    _send(ctx, [event])


@push_app.command(
    "incident",
    cls=Command,
    epilog=examples(
        "pulse-backfill push incident --identifier INC-7 --timestampCreated 1602253523 \\",
        "    --timestampResolved 1602257123",
    ),
)
def incident_command(
    ctx: typer.Context,
    identifier: Identifier,
    timestamp_created: Annotated[
        int,
        typer.Option(
            "--timestampCreated",
            click_type=EPOCH,
            help="When it started, epoch seconds.",
            show_default=False,
        ),
    ],
    timestamp_resolved: Annotated[
        int,
        typer.Option(
            "--timestampResolved",
            click_type=EPOCH,
            help="When it was resolved, epoch seconds.",
            show_default=False,
        ),
    ],
    source: Source = CLI_SOURCE,
) -> None:
    """Push an incident, once it is resolved.

    The options of 'pulse-backfill push' (--api-key, --base-url, --system, --store, ...) may
    come after the subcommand too, as with the standard CLI.
    """
    event = push_incident(
        identifier,
        timestamp_created,
        timestamp_resolved,
        source=source,
        system=SendOptions.of(ctx).system,
    )
    _send(ctx, [event])


@push_app.command(
    "events",
    cls=Command,
    epilog=examples(
        "pulse-backfill git ~/src/api --dry-run --output events.ndjson",
        "pulse-backfill push events events.ndjson",
        "pulse-backfill push events - < events.ndjson",
    ),
)
def events_command(
    ctx: typer.Context,
    file: Annotated[
        str,
        typer.Argument(
            metavar="FILE|-", click_type=TEXT, help="NDJSON, as --output writes it; - for stdin."
        ),
    ],
) -> None:
    """Push the events of an NDJSON export (--output), after checking every line.

    The options of 'pulse-backfill push' (--api-key, --base-url, --system, --store, ...) may
    come after the subcommand too, as with the standard CLI.
    """
    if file == "-":
        text, source = sys.stdin.read(), "stdin"
    else:
        text, source = read_user_file(Path(file), file, "pass an NDJSON file"), file
    _send(ctx, read_events(text, source, SendOptions.of(ctx).system))


@git_app.command(
    "deployment",
    cls=Command,
    epilog=examples(
        "pulse-backfill push git deployment --previous-deployment-ref v1.2.2 \\",
        '    --identifier v1.2.3 --timestamp "$(date +%s)"',
        "pulse-backfill push git deployment --previous-deployment-ref v1.2.2 \\",
        "    --identifier v1.2.3 --timestamp 1602253523 --dry-run services/api",
    ),
)
def git_deployment_command(
    ctx: typer.Context,
    previous_deployment_ref: Annotated[
        str,
        typer.Option(
            metavar="REF",
            help="Git reference of the previous deployment (commit SHA or tag).",
            show_default=False,
        ),
    ],
    identifier: Identifier,
    timestamp: Timestamp,
    paths: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="[PATH]...",
            click_type=TEXT,
            help="Only commits touching these paths.",
            show_default=False,
        ),
    ] = None,
    teams: Teams = None,
    directory: Annotated[Path, typer.Option(metavar="DIR", help="The git repository.")] = Path("."),
    ref: Annotated[
        str,
        typer.Option(
            metavar="REF", help="Where the deployment ends (the standard CLI: always HEAD)."
        ),
    ] = "HEAD",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Do not push the events, only print them.")
    ] = False,
) -> None:
    """Push a deployment and its changes: the commits in PREVIOUS..HEAD.

    The options of 'pulse-backfill push' (--api-key, --base-url, --system, --store, ...) may
    come after the subcommand too, as with the standard CLI.
    """
    events = push_git_deployment(
        Repository(directory),
        previous_ref=previous_deployment_ref,
        end_ref=ref,
        paths=parse_paths(paths, "PATH"),
        identifier=identifier,
        timestamp=timestamp,
        teams=parse_teams(teams),
        system=SendOptions.of(ctx).system,
    )
    options = SendOptions.of(ctx)
    if not options.reporting.quiet and not options.reporting.json_summary:
        # The standard CLI's own lines, for scripts that read them.
        for event in events:
            prefix = "Found change" if event.kind == "change" else "Deployment"
            typer.echo(f"{prefix} {event.identifier}")
    _send(ctx, events, dry_run=dry_run)


def _send(ctx: typer.Context, events: Sequence[Event], *, dry_run: bool = False) -> None:
    options = SendOptions.of(ctx)
    settings = replace(options.settings, dry_run=dry_run)
    display = Display(quiet=options.reporting.quiet)
    with interruptible() as cancel:
        summary = send_events(settings, events, display, cancel, origin="push")
    report(summary, display, json_summary=options.reporting.json_summary)
    raise typer.Exit(cancel.exit_code(summary.exit_code))


def report(summary: SendSummary, display: Display, *, json_summary: bool) -> None:
    payload = None
    if json_summary:
        kinds: tuple[EventKind, ...] = ("change", "deployment", "incident")
        figures = {f"{kind}s": summary.figures(kind) for kind in kinds if summary.derived(kind)}
        payload = {**figures, **summary.delivery_json()}
    lines = [*delivery_lines(summary), done_line()]
    display.conclude(lines, failure_lines(summary), payload)
