"""`pulse-backfill git`: its options, parsed into settings for `commands.backfill`."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Annotated

import typer
from typer._click.core import ParameterSource  # typer 0.28 vendors click

from pulse_backfill.cli.declare import takes_groups
from pulse_backfill.cli.display import Display, failure_lines, summary_lines
from pulse_backfill.cli.options import (
    DEPLOYMENTS,
    EVENTS,
    FAILURES,
    READ,
    TEXT,
    GitTimeout,
    Number,
    Recording,
    Reporting,
    Sending,
    interruptible,
    parse_date_option,
    parse_paths,
    parse_teams,
    say_dates,
)
from pulse_backfill.cli.platforms import GitHubOptions, GitLabOptions, platform_access
from pulse_backfill.commands.backfill import run_git_backfill
from pulse_backfill.commands.runs import GitBackfillSettings
from pulse_backfill.derive.derivation import ChangeTime, DerivationOptions
from pulse_backfill.derive.releases import DeployTime, TagRules
from pulse_backfill.derive.sources import ExportFields
from pulse_backfill.errors import UsageError, read_user_file
from pulse_backfill.git import process
from pulse_backfill.git.manifest import LINE_FORMAT, RepoSpec, Shard, parse_repo_list
from pulse_backfill.git.remote import DEFAULT_GIT_TIMEOUT, default_cache_dir

# Beside the clones in --cache-dir: GitHub's and GitLab's answers and their ETags.
API_ANSWERS = "api-answers"


@dataclass(frozen=True)
class ReleaseTags:
    """Which tags are releases, and when each was deployed (--deployments-from tags)."""

    tag_prefix: Annotated[
        str | None,
        typer.Option(
            metavar="PREFIX",
            show_default=False,
            rich_help_panel=DEPLOYMENTS,
            help="tags: release tags are this prefix plus a version, e.g. 'service-a/'.",
        ),
    ] = None
    tag_pattern: Annotated[
        str | None,
        typer.Option(
            metavar="REGEX",
            show_default=False,
            rich_help_panel=DEPLOYMENTS,
            help="tags: release tags are those whose whole name matches this regex.",
        ),
    ] = None
    include_prereleases: Annotated[
        bool,
        typer.Option(
            "--include-prereleases",
            rich_help_panel=DEPLOYMENTS,
            help="tags: count prerelease versions (1.2.0-rc.1) as deployments.",
        ),
    ] = False
    deploy_time: Annotated[
        DeployTime,
        typer.Option(
            metavar="tag|commit",
            rich_help_panel=DEPLOYMENTS,
            help="tags: a deployment's time is the tagger date (the commit date for lightweight "
            "tags), or always the commit date.",
        ),
    ] = DeployTime.TAG

    def rules(self) -> TagRules:
        if self.tag_prefix is not None and self.tag_pattern is not None:
            raise UsageError("--tag-prefix and --tag-pattern exclude each other: pass only one")
        if self.tag_pattern is None:
            return TagRules(
                prefix=self.tag_prefix or "",
                include_prereleases=self.include_prereleases,
                deploy_time=self.deploy_time,
            )
        try:
            pattern = re.compile(self.tag_pattern)
        except re.error as error:
            raise UsageError(
                f"--tag-pattern {self.tag_pattern!r} is not a valid regular expression ({error})"
            ) from None
        return TagRules(pattern=pattern, deploy_time=self.deploy_time)


@dataclass(frozen=True)
class ExportColumns:
    """The fields of a CD system's export (--deployments-from file:PATH)."""

    id_field: Annotated[
        str,
        typer.Option(
            metavar="NAME",
            rich_help_panel=DEPLOYMENTS,
            help="file: the field of a deployment's id.",
        ),
    ] = "id"
    commit_field: Annotated[
        str,
        typer.Option(
            metavar="NAME",
            rich_help_panel=DEPLOYMENTS,
            help="file: the field of its commit (an id, a tag, a branch).",
        ),
    ] = "commit"
    time_field: Annotated[
        str,
        typer.Option(
            metavar="NAME", rich_help_panel=DEPLOYMENTS, help="file: the field of its time."
        ),
    ] = "time"
    status_field: Annotated[
        str,
        typer.Option(
            metavar="NAME",
            rich_help_panel=DEPLOYMENTS,
            help="file: the field of its status; a row with one counts only with --success-status.",
        ),
    ] = "status"
    success_status: Annotated[
        str,
        typer.Option(
            metavar="TEXT",
            rich_help_panel=DEPLOYMENTS,
            help="file: the status of a deployment that succeeded.",
        ),
    ] = "success"

    def fields(self) -> ExportFields:
        return ExportFields(
            identifier=self.id_field,
            commit=self.commit_field,
            time=self.time_field,
            status=self.status_field,
            success=self.success_status,
        )


def _repositories(locations: list[str], repos_file: Path | None) -> tuple[RepoSpec, ...]:
    specs = [RepoSpec(location=location) for location in locations]
    if repos_file is not None:
        text = read_user_file(repos_file, f"--repos {repos_file}", "pass a readable text file")
        specs.extend(parse_repo_list(text, str(repos_file)))
    if not specs:
        raise UsageError("pass a repository, or --repos FILE with one a line")
    return tuple(specs)


def _check_source_options(
    ctx: typer.Context, deployments_from: str, repositories: Sequence[RepoSpec]
) -> None:
    """Options that belong to one source are a mistake where no repository uses it."""
    kinds = _kinds(deployments_from, repositories)
    for group, kind, source in (
        (ReleaseTags, "tags", "tags"),
        (ExportColumns, "file", "file:PATH"),
        (GitHubOptions, "github", "github:..."),
        (GitLabOptions, "gitlab", "gitlab:..."),
    ):
        if kind in kinds:
            continue
        for field in fields(group):
            if field.name == "include_prereleases" and "github:releases" in kinds:
                continue  # which releases count, as for tags
            given = ctx.get_parameter_source(field.name)
            # GITHUB_SERVER_URL is set in every GitHub Actions job, whatever it asks.
            if given in _GIVEN and not (kind == "github" and given is _ENVIRONMENT):
                option = "--" + field.name.replace("_", "-")
                raise UsageError(
                    f"{option} belongs to --deployments-from {source}, not {deployments_from}: "
                    "leave it out"
                )


def _kinds(deployments_from: str, repositories: Sequence[RepoSpec]) -> set[str]:
    """The kinds of source the repositories use (`tags`, `file`, `github`...), and
    `github:releases` when one does."""
    sources = {spec.deployments_from or deployments_from for spec in repositories}
    kinds = {source.partition(":")[0] for source in sources}
    return kinds | ({"github:releases"} & sources)


_ENVIRONMENT = ParameterSource.ENVIRONMENT
_GIVEN = (ParameterSource.COMMANDLINE, _ENVIRONMENT)


EXAMPLES = """Examples:
  pulse-backfill git ~/src/api --since 2024-01-01 --dry-run
  PULSE_API_KEY=... pulse-backfill git ~/src/api --since "90 days ago" --infer-failures reverts
  pulse-backfill git --repos repos.txt --jobs 8 --quiet --json
  GITHUB_TOKEN=... pulse-backfill git . --deployments-from github:actions:deploy.yml"""


@takes_groups
def git_command(
    ctx: typer.Context,
    repo: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="REPO...",
            click_type=TEXT,
            show_default=False,
            rich_help_panel=READ,
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
            rich_help_panel=READ,
            help=f"Read more repositories from FILE, one a line: {LINE_FORMAT}",
        ),
    ] = None,
    path: Annotated[
        list[str] | None,
        typer.Option(
            "--path",
            metavar="PATH",
            show_default=False,
            rich_help_panel=READ,
            help="Only commits that change this path are changes (repeatable; for monorepos).",
        ),
    ] = None,
    cache_dir: Annotated[
        Path | None,
        typer.Option(
            envvar="PULSE_BACKFILL_CACHE_DIR",
            metavar="PATH",
            show_default=False,
            rich_help_panel=READ,
            help="Where clones of repository URLs (and GitHub's and GitLab's answers) are kept "
            "between runs. "
            "\\[default: the user's cache folder]",
        ),
    ] = None,
    git_timeout: GitTimeout = DEFAULT_GIT_TIMEOUT,
    jobs: Annotated[
        int,
        typer.Option(
            click_type=Number(int, "N", 1),
            envvar="PULSE_BACKFILL_JOBS",
            rich_help_panel=READ,
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
            rich_help_panel=READ,
            help="Take only shard K of N of the repositories (a stable hash of each one's "
            "location and system): N machines, one store each, share an organisation.",
        ),
    ] = None,
    deployments_from: Annotated[
        str,
        typer.Option(
            metavar="SOURCE",
            rich_help_panel=DEPLOYMENTS,
            help="Where deployments come from: tags (release tags), branch:NAME (each commit "
            "on its first-parent line), file:PATH|URL (a CD system's export), "
            "github:deployments[:ENVIRONMENT], github:actions:WORKFLOW[@BRANCH], "
            "github:releases or gitlab:deployments[:ENVIRONMENT].",
        ),
    ] = "tags",
    since: Annotated[
        str | None,
        typer.Option(
            metavar="DATE",
            show_default=False,
            rich_help_panel=DEPLOYMENTS,
            help="Send deployments from this date on (inclusive): YYYY-MM-DD, an ISO 8601 "
            "date-time, epoch seconds, or as git takes it ('2 weeks ago', 'yesterday'), in UTC. "
            "Earlier ones only bound what later ones shipped.",
        ),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(
            metavar="DATE",
            show_default=False,
            rich_help_panel=DEPLOYMENTS,
            help="Leave out deployments at or after this date (exclusive).",
        ),
    ] = None,
    tags: ReleaseTags = ReleaseTags(),
    export: ExportColumns = ExportColumns(),
    github: GitHubOptions = GitHubOptions(),  # noqa: B008
    gitlab: GitLabOptions = GitLabOptions(),  # noqa: B008
    change_time: Annotated[
        ChangeTime,
        typer.Option(
            metavar="author|commit",
            rich_help_panel=DEPLOYMENTS,
            help="A change's time: its commit's author or committer date.",
        ),
    ] = ChangeTime.AUTHOR,
    include_first: Annotated[
        bool,
        typer.Option(
            "--include-first",
            rich_help_panel=DEPLOYMENTS,
            help="Send the first deployment too, with all its history as changes.",
        ),
    ] = False,
    no_merges: Annotated[
        bool,
        typer.Option(
            "--no-merges",
            rich_help_panel=DEPLOYMENTS,
            help="Leave merge commits out of the changes.",
        ),
    ] = False,
    infer_failures: Annotated[
        str,
        typer.Option(
            metavar="RULES",
            show_default=False,
            rich_help_panel=FAILURES,
            help="Find failed deployments in the history, and send an incident for each: "
            "reverts (a commit reverted by a later deployment), rollbacks (a deployment back "
            "to an ancestor of the one before), hotfix:REGEX (a deployment shipping a commit "
            "whose subject matches recovers the one before); comma-separated. \\[default: none]",
        ),
    ] = "",
    system: Annotated[
        str | None,
        typer.Option(
            metavar="NAME",
            show_default=False,
            rich_help_panel=EVENTS,
            help="Pulse system of every event. \\[default: the repository's name]",
        ),
    ] = None,
    teams: Annotated[
        str | None,
        typer.Option(
            metavar="A,B",
            show_default=False,
            rich_help_panel=EVENTS,
            help="Comma-separated teams for every deployment.",
        ),
    ] = None,
    sending: Sending = Sending(),  # noqa: B008
    recording: Recording = Recording(),  # noqa: B008
    reporting: Reporting = Reporting(),  # noqa: B008
) -> None:
    """Derive deployments and changes from repositories' tags, deploy branch or CD history,
    and send them."""
    reporting.check(recording)
    repositories = _repositories(repo or [], repos_file)
    _check_source_options(ctx, deployments_from, repositories)
    kinds = _kinds(deployments_from, repositories)
    cache = cache_dir or default_cache_dir()
    platform = platform_access(
        github=github if "github" in kinds else None,
        gitlab=gitlab if "gitlab" in kinds else None,
        cache_dir=cache / API_ANSWERS,
        budget=sending.retry_max_time,
        timeout=sending.timeout,
    )
    settings = sending.settings_of(
        GitBackfillSettings,
        ctx,
        recording,
        repositories=repositories,
        deployments_from=deployments_from,
        infer_failures=infer_failures,
        export_fields=export.fields(),
        paths=parse_paths(path, "--path"),
        cache_dir=cache,
        git_timeout=git_timeout,
        tag_rules=tags.rules(),
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
        platform=platform,
    )
    options = settings.derivation
    if options.since is not None and options.until is not None and options.since >= options.until:
        raise UsageError("--since must be before --until")
    dates = {"--since": (since, options.since), "--until": (until, options.until)}
    say_dates(dates, quiet=reporting.quiet)
    for spec in repositories:  # each repository's source, and its mistakes, before any work
        settings.source_of(spec)
        settings.rules_of(spec)
    settings.check_systems()
    display = Display(quiet=reporting.quiet)
    with interruptible(on_stop=process.stop_all) as cancel, process.stoppable():
        summary = run_git_backfill(settings, display, cancel)
    display.conclude(
        summary_lines(summary),
        failure_lines(summary),
        summary.to_json() if reporting.json_summary else None,
    )
    raise typer.Exit(cancel.exit_code(summary.exit_code))
