"""`pulse-backfill git`: its options, parsed into settings for `commands.backfill`."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer
import typer.main
from typer._click.core import ParameterSource  # typer 0.28 vendors click

from pulse_backfill.cli.display import Display, failure_lines, summary_lines
from pulse_backfill.cli.options import (
    ApiKey,
    ApiKeyFile,
    BaseUrl,
    Concurrency,
    DryRun,
    Force,
    GitTimeout,
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
from pulse_backfill.commands.backfill import run_git_backfill
from pulse_backfill.commands.runs import GitBackfillSettings
from pulse_backfill.commands.sending import DEFAULT_CONCURRENCY
from pulse_backfill.delivery.policy import RetryPolicy
from pulse_backfill.derive.derivation import ChangeTime, DerivationOptions
from pulse_backfill.derive.releases import DeployTime, TagRules
from pulse_backfill.derive.sources import ExportFields
from pulse_backfill.errors import UsageError, read_user_file
from pulse_backfill.git import process
from pulse_backfill.git.manifest import LINE_FORMAT, RepoSpec, Shard, parse_repo_list
from pulse_backfill.git.remote import DEFAULT_GIT_TIMEOUT, default_cache_dir
from pulse_backfill.pulse.endpoint import DEFAULT_BASE_URL, DEFAULT_TIMEOUT


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
        text = read_user_file(repos_file, f"--repos {repos_file}", "pass a readable text file")
        specs.extend(parse_repo_list(text, str(repos_file)))
    if not specs:
        raise UsageError("pass a repository, or --repos FILE with one a line")
    return tuple(specs)


_TAG_OPTIONS = {
    "tag_prefix": "--tag-prefix",
    "tag_pattern": "--tag-pattern",
    "include_prereleases": "--include-prereleases",
    "deploy_time": "--deploy-time",
}
_EXPORT_OPTIONS = {
    "id_field": "--id-field",
    "commit_field": "--commit-field",
    "time_field": "--time-field",
    "status_field": "--status-field",
    "success_status": "--success-status",
}


def _check_source_options(
    ctx: typer.Context, deployments_from: str, repositories: Sequence[RepoSpec]
) -> None:
    """Options that belong to one source are a mistake where no repository uses it."""
    kinds = {(spec.deployments_from or deployments_from).partition(":")[0] for spec in repositories}
    for options, kind, source in (
        (_TAG_OPTIONS, "tags", "tags"),
        (_EXPORT_OPTIONS, "file", "file:PATH"),
    ):
        if kind in kinds:
            continue
        for name, option in options.items():
            if ctx.get_parameter_source(name) in _GIVEN:
                raise UsageError(
                    f"{option} belongs to --deployments-from {source}, not {deployments_from}: "
                    "leave it out"
                )


_GIVEN = (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)


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
            help=f"Read more repositories from FILE, one a line: {LINE_FORMAT}",
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
    deployments_from: Annotated[
        str,
        typer.Option(
            metavar="SOURCE",
            help="Where deployments come from: tags (release tags), branch:NAME (each commit "
            "on its first-parent line), or file:PATH|URL (a CD system's export).",
        ),
    ] = "tags",
    infer_failures: Annotated[
        str,
        typer.Option(
            metavar="RULES",
            help="Find failed deployments in the history, and send an incident for each: "
            "reverts (a commit reverted by a later deployment), rollbacks (a deployment back "
            "to an ancestor of the one before), hotfix:REGEX (a deployment shipping a commit "
            "whose subject matches recovers the one before); comma-separated. \\[default: none]",
            show_default=False,
        ),
    ] = "",
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
    id_field: Annotated[str, typer.Option(help="file: the field of a deployment's id.")] = "id",
    commit_field: Annotated[
        str, typer.Option(help="file: the field of its commit (an id, a tag, a branch).")
    ] = "commit",
    time_field: Annotated[str, typer.Option(help="file: the field of its time.")] = "time",
    status_field: Annotated[
        str,
        typer.Option(
            help="file: the field of its status; a row with one counts only with --success-status."
        ),
    ] = "status",
    success_status: Annotated[
        str, typer.Option(help="file: the status of a deployment that succeeded.")
    ] = "success",
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
        typer.Option(help="Pulse system of every event. \\[default: the repository's name]"),
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
            "\\[default: the user's cache folder]",
        ),
    ] = None,
    git_timeout: GitTimeout = DEFAULT_GIT_TIMEOUT,
    jobs: Annotated[
        int,
        typer.Option(
            min=1,
            envvar="PULSE_BACKFILL_JOBS",
            help="Repositories fetched and derived at once, while those before them are "
            "delivered (1: one after another).",
        ),
    ] = 4,
    shard: Annotated[
        str | None,
        typer.Option(
            metavar="K/N",
            envvar="PULSE_BACKFILL_SHARD",
            show_default=False,
            help="Take only shard K of N of the repositories (a stable hash of each one's "
            "location and system): N machines, one store each, share an organisation.",
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
    """Derive deployments and changes from repositories' tags, deploy branch or CD history,
    and send them."""
    if json_summary and output == "-":
        raise UsageError("--json and --output - both write to stdout: write the events to a file")
    repositories = _repositories(repo or [], repos_file)
    _check_source_options(ctx, deployments_from, repositories)
    settings = GitBackfillSettings(
        repositories=repositories,
        deployments_from=deployments_from,
        infer_failures=infer_failures,
        export_fields=ExportFields(
            identifier=id_field,
            commit=commit_field,
            time=time_field,
            status=status_field,
            success=success_status,
        ),
        paths=parse_paths(path, "--path"),
        cache_dir=cache_dir or default_cache_dir(),
        git_timeout=git_timeout,
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
        jobs=jobs,
        shard=None if shard is None else Shard.parse(shard),
        **send_options(ctx),
    )
    options = settings.derivation
    if options.since is not None and options.until is not None and options.since >= options.until:
        raise UsageError("--since must be before --until")
    for spec in repositories:  # each repository's source, and its mistakes, before any work
        settings.source_of(spec)
        settings.rules_of(spec)
    display = Display(quiet=quiet)
    with interruptible(on_stop=process.stop_all) as cancel, process.stoppable():
        summary = run_git_backfill(settings, display, cancel)
    display.conclude(
        summary_lines(summary),
        failure_lines(summary),
        summary.to_json() if json_summary else None,
    )
    raise typer.Exit(cancel.exit_code(summary.exit_code))
