"""`pulse-backfill incidents ...`: incidents from a status page, PagerDuty or a file."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import typer

from pulse_backfill.cli.declare import takes_groups
from pulse_backfill.cli.display import (
    Display,
    counted,
    delivery_lines,
    done_line,
    failure_lines,
)
from pulse_backfill.cli.help import Command, examples
from pulse_backfill.cli.options import (
    TEXT,
    PersistentOptionsGroup,
    Recording,
    Reporting,
    Sending,
    SendOptions,
    interruptible,
    parse_date_option,
    say_dates,
)
from pulse_backfill.cli.platforms import (
    PLATFORM,
    GitHubOptions,
    GitLabOptions,
    platform_access,
)
from pulse_backfill.commands.sending import send_events
from pulse_backfill.errors import PulseBackfillError, UsageError
from pulse_backfill.git.remote import default_cache_dir
from pulse_backfill.git.repository import Repository
from pulse_backfill.incidents.records import FileFields, Incident, select_incidents
from pulse_backfill.incidents.sources import (
    PAGERDUTY_API,
    Fetched,
    incident_file,
    pagerduty,
    statuspage,
)
from pulse_backfill.platforms.access import incidents as platform_incidents
from pulse_backfill.urls import shown_location

API_ANSWERS = "api-answers"  # as `git` keeps them, in its --cache-dir

incidents_app = typer.Typer(
    cls=PersistentOptionsGroup,
    no_args_is_help=True,
    epilog="""Examples:
  PAGERDUTY_TOKEN=... pulse-backfill incidents pagerduty --since "1 year ago" --service PIJ90N7
  pulse-backfill incidents file incidents.csv --created-field opened --resolved-field closed
  GITHUB_TOKEN=... pulse-backfill incidents github --label incident --system shop
  GITLAB_TOKEN=... pulse-backfill incidents gitlab --gitlab-project acme/shop""",
    add_completion=False,  # as the root's: it is built on its own (cli._LAZY_GROUPS)
    help="Backfill incidents from a status page, PagerDuty, GitHub or GitLab issues, or a file; "
    "only resolved ones are sent.",
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
@takes_groups
def _incidents(
    ctx: typer.Context,
    since: Annotated[
        str | None,
        typer.Option(
            metavar="DATE",
            show_default=False,
            help="Incidents created from this date on (inclusive); as git takes dates too "
            "('90 days ago'), in UTC.",
        ),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(
            metavar="DATE",
            show_default=False,
            help="Incidents created before this date (exclusive).",
        ),
    ] = None,
    system: Annotated[
        str | None,
        typer.Option(
            metavar="NAME",
            show_default=False,
            help="Pulse system of the incidents (left out when not given).",
        ),
    ] = None,
    sending: Sending = Sending(),  # noqa: B008 (a group of options, read by takes_groups)
    recording: Recording = Recording(),  # noqa: B008
    reporting: Reporting = Reporting(),  # noqa: B008
) -> None:
    """Options here may also follow the source."""
    reporting.check(recording)
    start, end = parse_date_option(since, "--since"), parse_date_option(until, "--until")
    if start is not None and end is not None and start >= end:
        raise UsageError("--since must be before --until")
    say_dates({"--since": (since, start), "--until": (until, end)}, quiet=reporting.quiet)
    settings = sending.settings(ctx, recording)
    ctx.obj = _Options(SendOptions(settings, reporting, system or None), start, end)


@incidents_app.command(
    "statuspage",
    cls=Command,
    epilog=examples(
        "pulse-backfill incidents statuspage https://status.example.com --system api",
        "pulse-backfill incidents statuspage https://status.example.com --dry-run --output -",
    ),
)
def statuspage_command(
    ctx: typer.Context,
    url: Annotated[
        str,
        typer.Argument(
            metavar="URL",
            click_type=TEXT,
            help="The status page (https://status.example.com) or its /api/v2/incidents.json.",
        ),
    ],
) -> None:
    """Incidents of an Atlassian Statuspage page (its public API: the latest ones only)."""
    fetched = statuspage(url, timeout=_Options.of(ctx).send.settings.timeout)
    _send(ctx, fetched, source="statuspage", where=shown_location(url))


@incidents_app.command(
    "pagerduty",
    cls=Command,
    epilog=examples(
        'PAGERDUTY_TOKEN=... pulse-backfill incidents pagerduty --since "1 year ago"',
        "pulse-backfill incidents pagerduty --since 2024-01-01 --service PIJ90N7",
    ),
)
def pagerduty_command(
    ctx: typer.Context,
    token: Annotated[
        str | None,
        typer.Option(
            envvar="PAGERDUTY_TOKEN",
            metavar="TOKEN",
            show_default=False,
            help="PagerDuty API token.",
        ),
    ] = None,
    service: Annotated[
        list[str] | None,
        typer.Option(
            metavar="ID", help="Only incidents of this service id (repeatable).", show_default=False
        ),
    ] = None,
    api_url: Annotated[
        str, typer.Option(metavar="URL", help="PagerDuty's REST API.")
    ] = PAGERDUTY_API,
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


CacheDir = Annotated[
    Path | None,
    typer.Option(
        envvar="PULSE_BACKFILL_CACHE_DIR",
        metavar="PATH",
        show_default=False,
        rich_help_panel=PLATFORM,
        help="Where the platform's answers and their ETags are kept between runs, so that "
        "asking again costs 304s. \\[default: the user's cache folder]",
    ),
]


@incidents_app.command(
    "github",
    cls=Command,
    epilog=examples(
        "GITHUB_TOKEN=... pulse-backfill incidents github --label incident --github-repo acme/shop",
        'pulse-backfill incidents github --label sev1 --since "90 days ago" --dry-run --output -',
    ),
)
@takes_groups
def github_command(
    ctx: typer.Context,
    label: Annotated[
        str,
        typer.Option(
            metavar="LABEL",
            rich_help_panel=PLATFORM,
            help="Issues with this label are incidents.",
        ),
    ] = "incident",
    cache_dir: CacheDir = None,
    github: GitHubOptions = GitHubOptions(),  # noqa: B008
) -> None:
    """Issues with a label (not pull requests): opened at their creation, resolved when
    closed. The repository is the working folder's origin unless --github-repo names it."""
    _issues(ctx, "github", github.github_repo, cache_dir, label, github=github)


@incidents_app.command(
    "gitlab",
    cls=Command,
    epilog=examples(
        "GITLAB_TOKEN=... pulse-backfill incidents gitlab --gitlab-project acme/shop",
        "pulse-backfill incidents gitlab --gitlab-url https://gitlab.example.com",
    ),
)
@takes_groups
def gitlab_command(
    ctx: typer.Context,
    cache_dir: CacheDir = None,
    gitlab: GitLabOptions = GitLabOptions(),  # noqa: B008
) -> None:
    """Issues of type incident: opened at their creation, resolved when closed. The project is
    the working folder's origin unless --gitlab-project names it."""
    _issues(ctx, "gitlab", gitlab.gitlab_project, cache_dir, "", gitlab=gitlab)


def _issues(
    ctx: typer.Context,
    platform: Literal["github", "gitlab"],
    named: str | None,
    cache_dir: Path | None,
    label: str,
    *,
    github: GitHubOptions | None = None,
    gitlab: GitLabOptions | None = None,
) -> None:
    """A platform's issues as incidents, of the repository `named` or the working folder's."""
    options = _Options.of(ctx)
    access = platform_access(
        github=github,
        gitlab=gitlab,
        cache_dir=(cache_dir or default_cache_dir()) / API_ANSWERS,
        budget=options.send.settings.retry.max_time,
        timeout=options.send.settings.timeout,
    )
    repository = access.repository(platform, _origin(named), "the working folder")
    issues = platform_incidents(access, platform, repository, label=label, now=int(time.time()))
    fetched = Fetched([Incident(i.identifier, i.created, i.resolved) for i in issues], [])
    name = "GitHub" if platform == "github" else "GitLab"
    _send(ctx, fetched, source=platform, where=f"{name} {repository}")


def _origin(given: str | None) -> str | None:
    """The working folder's origin, when the repository is not named."""
    if given is not None:
        return None
    try:
        return Repository(Path(".")).remote_url()
    except PulseBackfillError:
        return None


@incidents_app.command(
    "file",
    cls=Command,
    epilog=examples(
        "pulse-backfill incidents file incidents.csv --created-field opened \\",
        "    --resolved-field closed",
        "pulse-backfill incidents file https://ops.example.com/incidents.json --system api",
    ),
)
def file_command(
    ctx: typer.Context,
    location: Annotated[
        str,
        typer.Argument(metavar="PATH|URL", click_type=TEXT, help="JSON (array or NDJSON) or CSV."),
    ],
    id_field: Annotated[
        str, typer.Option(metavar="NAME", help="Field of the incident's id.")
    ] = "id",
    created_field: Annotated[
        str, typer.Option(metavar="NAME", help="Field of its creation time.")
    ] = "created_at",
    resolved_field: Annotated[
        str, typer.Option(metavar="NAME", help="Field of its resolution time.")
    ] = "resolved_at",
    status_field: Annotated[
        str | None,
        typer.Option(
            metavar="NAME",
            show_default=False,
            help="Field of its status: resolved only with --resolved-status.",
        ),
    ] = None,
    resolved_status: Annotated[
        str, typer.Option(metavar="TEXT", help="The status of a resolved incident.")
    ] = "resolved",
    source: Annotated[
        str, typer.Option(metavar="NAME", help="The incidents' source on the wire.")
    ] = "cli",
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
    display = Display(quiet=options.reporting.quiet)
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
    if options.reporting.json_summary:
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
