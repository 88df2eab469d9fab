"""The command line: parses options into settings, runs the core, turns errors into exit codes."""

from __future__ import annotations

import os
import re
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Annotated, Any, NoReturn

import typer
from typer._click import exceptions as click_exceptions  # typer 0.29 vendors click
from typer._click.core import ParameterSource
from typer.core import TyperGroup

from pulse_backfill import __version__
from pulse_backfill.backfill import GitBackfillSettings, run_git_backfill
from pulse_backfill.client import DEFAULT_BASE_URL, DEFAULT_TIMEOUT, check_base_url
from pulse_backfill.dates import parse_date
from pulse_backfill.derive import ChangeTime, DeployTime, DerivationOptions, ReleaseRules
from pulse_backfill.errors import PulseBackfillError, UsageError
from pulse_backfill.policy import RetryPolicy
from pulse_backfill.remote import default_cache_dir
from pulse_backfill.repo_list import RepoSpec, parse_repo_list
from pulse_backfill.sending import DEFAULT_CONCURRENCY
from pulse_backfill.store import default_store_path
from pulse_backfill.ui import Display, print_json


class _Group(TyperGroup):
    """Every expected failure becomes one line on stderr and an exit code, never a traceback."""

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click_exceptions.UsageError as error:
            hint = f" (see '{error.ctx.command_path} --help')" if error.ctx else ""
            _fail(f"{error.format_message()}{hint}", 2)
        except click_exceptions.ClickException as error:
            _fail(error.format_message(), error.exit_code)
        except typer.Abort:
            _fail("aborted", 130)
        except PulseBackfillError as error:
            _fail(str(error), error.exit_code)
        code = code if isinstance(code, int) else 0
        if standalone_mode:
            sys.exit(code)
        return code


def _fail(message: str, code: int) -> NoReturn:
    typer.echo(f"Error: {message}", err=True)
    sys.exit(code)


app = typer.Typer(
    cls=_Group,
    name="pulse-backfill",
    help="Backfill Pulse with a repository's history of deployments and changes.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"pulse-backfill {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_show_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """Backfill Pulse with a repository's history of deployments and changes."""


def _date(value: str | None, option: str) -> int | None:
    if value is None:
        return None
    try:
        return parse_date(value)
    except ValueError as error:
        raise UsageError(f"{option}: {error}") from None


def _release_rules(
    tag_prefix: str | None, tag_pattern: str | None, include_prereleases: bool
) -> ReleaseRules:
    if tag_prefix is not None and tag_pattern is not None:
        raise UsageError("--tag-prefix and --tag-pattern exclude each other: pass only one")
    if tag_pattern is None:
        return ReleaseRules(prefix=tag_prefix or "", include_prereleases=include_prereleases)
    try:
        pattern = re.compile(tag_pattern)
    except re.error as error:
        raise UsageError(
            f"--tag-pattern {tag_pattern!r} is not a valid regular expression ({error})"
        ) from None
    return ReleaseRules(pattern=pattern)


def _api_key(
    ctx: typer.Context, api_key: str | None, api_key_file: Path | None
) -> tuple[str | None, str]:
    """The key, and where it came from (for messages that must never show the key itself)."""
    from_environment = ctx.get_parameter_source("api_key") is ParameterSource.ENVIRONMENT
    if api_key_file is None:
        return api_key or None, "PULSE_API_KEY" if from_environment else "--api-key"
    if api_key and not from_environment:
        raise UsageError("--api-key and --api-key-file exclude each other: pass only one")
    try:
        key = api_key_file.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
        raise UsageError(
            f"cannot read --api-key-file {api_key_file} ({reason}): pass a readable file "
            "that holds the key"
        ) from None
    if not key or len(key.splitlines()) != 1:
        raise UsageError(f"--api-key-file {api_key_file} must hold the key alone on one line")
    return key, f"--api-key-file {api_key_file}"


@contextmanager
def interruptible() -> Iterator[threading.Event]:
    """Ctrl-C sets the event: no new requests start, those in flight finish. A second one aborts."""
    cancel = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield cancel
        return

    def first_interrupt(signum: int, frame: FrameType | None) -> None:
        cancel.set()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    previous = signal.signal(signal.SIGINT, first_interrupt)
    try:
        yield cancel
    finally:
        signal.signal(signal.SIGINT, previous)


def _repositories(locations: list[str], repos_file: Path | None) -> tuple[RepoSpec, ...]:
    specs = [RepoSpec(location=location) for location in locations]
    if repos_file is not None:
        try:
            text = repos_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
            raise UsageError(
                f"cannot read --repos {repos_file} ({reason}): pass a readable text file"
            ) from None
        specs.extend(parse_repo_list(text, str(repos_file)))
    if not specs:
        raise UsageError("pass a repository, or --repos FILE with one a line")
    return tuple(specs)


def _teams(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    return tuple(team.strip() for team in value.split(",") if team.strip())


@app.command("git")
def git_command(
    ctx: typer.Context,
    repo: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="REPO...",
            show_default=False,
            help="Git repositories: local folders (with a work tree or bare) or URLs "
            "(https://, ssh://, git@host:org/repo, file://), cloned into --cache-dir.",
        ),
    ] = None,
    repos_file: Annotated[
        Path | None,
        typer.Option(
            "--repos",
            metavar="FILE",
            show_default=False,
            help="Read more repositories from FILE, one a line: "
            "REPO [--system S] [--tag-prefix P] [--path P]...",
        ),
    ] = None,
    path: Annotated[
        list[str] | None,
        typer.Option(
            "--path",
            metavar="PATH",
            show_default=False,
            help="Only commits that change this path are changes (repeatable; for monorepos).",
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            help="Send deployments from this date on (inclusive): YYYY-MM-DD (UTC), "
            "ISO 8601 date-time or epoch seconds. Earlier ones only bound what later ones shipped."
        ),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(help="Leave out deployments at or after this date (exclusive)."),
    ] = None,
    tag_prefix: Annotated[
        str | None,
        typer.Option(help="Release tags are this prefix plus a version, e.g. 'service-a/'."),
    ] = None,
    tag_pattern: Annotated[
        str | None,
        typer.Option(help="Release tags are those whose whole name matches this regex."),
    ] = None,
    include_prereleases: Annotated[
        bool,
        typer.Option(
            "--include-prereleases", help="Count prerelease versions (1.2.0-rc.1) as deployments."
        ),
    ] = False,
    deploy_time: Annotated[
        DeployTime,
        typer.Option(
            help="Deployment time: the tagger date (commit date for lightweight "
            "tags), or always the commit date."
        ),
    ] = DeployTime.TAG,
    change_time: Annotated[
        ChangeTime, typer.Option(help="Change time: the commit's author or committer date.")
    ] = ChangeTime.AUTHOR,
    include_first: Annotated[
        bool,
        typer.Option(
            "--include-first",
            help="Send the first deployment too, with all its history as changes.",
        ),
    ] = False,
    no_merges: Annotated[
        bool, typer.Option("--no-merges", help="Leave merge commits out of the changes.")
    ] = False,
    system: Annotated[
        str | None,
        typer.Option(help="Pulse system of every event. [default: the repository's name]"),
    ] = None,
    teams: Annotated[
        str | None, typer.Option(help="Comma-separated teams for every deployment.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Derive and report; send and record nothing.")
    ] = False,
    output: Annotated[
        str | None,
        typer.Option(
            metavar="FILE|-", help="Write every event as NDJSON to FILE, or - for stdout."
        ),
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option(
            envvar="PULSE_API_KEY",
            show_default=False,
            help="Pulse API key. Without one, events are only recorded in the store. "
            "Prefer the environment variable or --api-key-file: a command line is visible "
            "to other users.",
        ),
    ] = None,
    api_key_file: Annotated[
        Path | None,
        typer.Option(help="Read the Pulse API key from this file.", show_default=False),
    ] = None,
    base_url: Annotated[
        str, typer.Option(envvar="PULSE_BASE_URL", help="Pulse ingestion base URL.")
    ] = DEFAULT_BASE_URL,
    insecure: Annotated[
        bool,
        typer.Option("--insecure", help="Allow a plain http:// base URL that is not loopback."),
    ] = False,
    store: Annotated[
        Path | None,
        typer.Option(
            envvar="PULSE_BACKFILL_STORE",
            help="The local store (SQLite). [default: store.sqlite3 in the user's state folder]",
        ),
    ] = None,
    cache_dir: Annotated[
        Path | None,
        typer.Option(
            envvar="PULSE_BACKFILL_CACHE_DIR",
            show_default=False,
            help="Where clones of repository URLs are kept between runs. "
            "[default: the user's cache folder]",
        ),
    ] = None,
    wait: Annotated[
        bool, typer.Option("--wait", help="Wait for another run using the store to finish.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Send again what the target already acknowledged.")
    ] = False,
    concurrency: Annotated[
        int, typer.Option(min=1, max=256, help="Requests in flight at once.")
    ] = DEFAULT_CONCURRENCY,
    max_retries: Annotated[
        int, typer.Option(min=0, help="Retries of one event after a failure that may pass.")
    ] = RetryPolicy.max_retries,
    retry_max_time: Annotated[
        float,
        typer.Option(min=0, help="Seconds one event may take, all retries and waits included."),
    ] = RetryPolicy.max_time,
    timeout: Annotated[
        float,
        typer.Option(min=0.1, help="Seconds to wait for the server to connect or answer."),
    ] = DEFAULT_TIMEOUT,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress and no summary.")
    ] = False,
    json_summary: Annotated[
        bool, typer.Option("--json", help="Print the summary as one JSON object on stdout.")
    ] = False,
) -> None:
    """Derive deployments and changes from repositories' semver tags, and send them."""
    key, key_source = _api_key(ctx, api_key, api_key_file)
    if json_summary and output == "-":
        raise UsageError("--json and --output - both write to stdout: write the events to a file")
    settings = GitBackfillSettings(
        repositories=_repositories(repo or [], repos_file),
        paths=tuple(path or ()),
        cache_dir=cache_dir or default_cache_dir(),
        derivation=DerivationOptions(
            rules=_release_rules(tag_prefix, tag_pattern, include_prereleases),
            since=_date(since, "--since"),
            until=_date(until, "--until"),
            deploy_time=deploy_time,
            change_time=change_time,
            include_first=include_first,
            no_merges=no_merges,
        ),
        system=system,
        teams=_teams(teams),
        dry_run=dry_run,
        output=output,
        api_key=key,
        key_source=key_source,
        base_url=check_base_url(base_url, insecure=insecure or key is None),
        store_path=store or default_store_path(),
        wait_for_store=wait,
        force=force,
        concurrency=concurrency,
        retry=RetryPolicy(max_retries=max_retries, max_time=retry_max_time),
        timeout=timeout,
        environment=dict(os.environ),
    )
    options = settings.derivation
    if options.since is not None and options.until is not None and options.since >= options.until:
        raise UsageError("--since must be before --until")
    display = Display(quiet=quiet)
    with interruptible() as cancel:
        summary = run_git_backfill(settings, display, cancel)
    if json_summary:
        print_json(summary)
    else:
        display.summary(summary)
    raise typer.Exit(summary.exit_code)


def main() -> None:
    app()
