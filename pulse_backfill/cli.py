"""The command line: parses options into settings, runs the core, turns errors into exit codes."""

from __future__ import annotations

import importlib
import re
import sys
from collections.abc import Iterator, MutableMapping, Sequence
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
import typer.main
from typer._click import core as click_core  # typer 0.28 vendors click
from typer._click import exceptions as click_exceptions
from typer.core import TyperGroup

from pulse_backfill import __version__
from pulse_backfill.backfill import GitBackfillSettings, run_git_backfill
from pulse_backfill.cli_common import (
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
    Quiet,
    RetryMaxTime,
    StorePath,
    Timeout,
    Wait,
    interruptible,
    parse_date_option,
    parse_paths,
    parse_teams,
    send_options,
)
from pulse_backfill.derive import ChangeTime, DerivationOptions
from pulse_backfill.errors import PulseBackfillError, UsageError
from pulse_backfill.ingestion import DEFAULT_BASE_URL, DEFAULT_TIMEOUT
from pulse_backfill.policy import RetryPolicy
from pulse_backfill.releases import DeployTime, TagRules
from pulse_backfill.remote import default_cache_dir
from pulse_backfill.repo_list import RepoSpec, parse_repo_list
from pulse_backfill.sending import DEFAULT_CONCURRENCY
from pulse_backfill.store import default_store_path
from pulse_backfill.ui import Display, print_json

# Command groups whose modules are imported, and whose commands are built, only when the command
# line names them (or help lists them): a nightly `git` run does not pay for them.
_LAZY_GROUPS = {
    "push": ("pulse_backfill.cli_push", "push_app"),
    "incidents": ("pulse_backfill.cli_incidents", "incidents_app"),
}


class _Commands(MutableMapping[str, click_core.Command]):
    """The root's subcommands: those built, and the lazy groups, built when first looked up."""

    def __init__(self, built: MutableMapping[str, click_core.Command]) -> None:
        self._built = built
        self._lazy = dict(_LAZY_GROUPS)
        self._names = [*built, *self._lazy]  # help lists them in this order

    def __getitem__(self, name: str) -> click_core.Command:
        if name in self._lazy:
            module, attribute = self._lazy.pop(name)
            command = typer.main.get_command(getattr(importlib.import_module(module), attribute))
            command.name = name
            self._built[name] = command
        return self._built[name]

    def __setitem__(self, name: str, command: click_core.Command) -> None:
        if name not in self:
            self._names.append(name)
        self._lazy.pop(name, None)
        self._built[name] = command

    def __delitem__(self, name: str) -> None:
        self._names.remove(name)
        self._lazy.pop(name, None)
        self._built.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._names))

    def __len__(self) -> int:
        return len(self._names)


class _Group(TyperGroup):
    """Every expected failure becomes one line on stderr and an exit code, never a traceback."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.commands = _Commands(self.commands)

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
    help="Backfill Pulse with your history of deployments, changes and incidents, keep it in "
    "sync, and see its four keys.",
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
    """Backfill Pulse with your history of deployments, changes and incidents, keep it in sync,
    and see its four keys."""


def _tag_rules(
    tag_prefix: str | None,
    tag_pattern: str | None,
    include_prereleases: bool,
    deploy_time: DeployTime,
) -> TagRules:
    if tag_prefix is not None and tag_pattern is not None:
        raise UsageError("--tag-prefix and --tag-pattern exclude each other: pass only one")
    if tag_pattern is None:
        return TagRules(
            prefix=tag_prefix or "",
            include_prereleases=include_prereleases,
            deploy_time=deploy_time,
        )
    try:
        pattern = re.compile(tag_pattern)
    except re.error as error:
        raise UsageError(
            f"--tag-pattern {tag_pattern!r} is not a valid regular expression ({error})"
        ) from None
    return TagRules(pattern=pattern, deploy_time=deploy_time)


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
    dry_run: DryRun = False,
    output: Output = None,
    api_key: ApiKey = None,
    api_key_file: ApiKeyFile = None,
    base_url: BaseUrl = DEFAULT_BASE_URL,
    insecure: Insecure = False,
    store: StorePath = None,
    cache_dir: Annotated[
        Path | None,
        typer.Option(
            envvar="PULSE_BACKFILL_CACHE_DIR",
            show_default=False,
            help="Where clones of repository URLs are kept between runs. "
            "[default: the user's cache folder]",
        ),
    ] = None,
    wait: Wait = False,
    force: Force = False,
    concurrency: Concurrency = DEFAULT_CONCURRENCY,
    max_retries: MaxRetries = RetryPolicy.max_retries,
    retry_max_time: RetryMaxTime = RetryPolicy.max_time,
    timeout: Timeout = DEFAULT_TIMEOUT,
    quiet: Quiet = False,
    json_summary: JsonSummary = False,
) -> None:
    """Derive deployments and changes from repositories' semver tags, and send them."""
    if json_summary and output == "-":
        raise UsageError("--json and --output - both write to stdout: write the events to a file")
    settings = GitBackfillSettings(
        repositories=_repositories(repo or [], repos_file),
        paths=parse_paths(path, "--path"),
        cache_dir=cache_dir or default_cache_dir(),
        tag_rules=_tag_rules(tag_prefix, tag_pattern, include_prereleases, deploy_time),
        derivation=DerivationOptions(
            since=parse_date_option(since, "--since"),
            until=parse_date_option(until, "--until"),
            change_time=change_time,
            include_first=include_first,
            no_merges=no_merges,
        ),
        system=system,
        teams=parse_teams(teams),
        **send_options(ctx),
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


@app.command("report")
def report_command(
    system: Annotated[
        list[str] | None,
        typer.Option(help="Only this system (repeatable). [default: every system]"),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(help="Start of the period (inclusive). [default: the first event's day]"),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(help="End of the period (exclusive). [default: the day after the last]"),
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

    from pulse_backfill.report import build_report, history_from_file, history_from_store
    from pulse_backfill.report_view import html_page, show

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


def main() -> None:
    app()
