"""The options that say which GitHub or GitLab to ask, about which repository, as whom: declared
once, taken by `git` (for its github:/gitlab: sources) and `incidents github|gitlab`. Tokens
come from the environment or a file, never a command line."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from pulse_backfill.errors import UsageError, read_user_file
from pulse_backfill.platforms.access import PlatformAccess
from pulse_backfill.platforms.client import Token
from pulse_backfill.platforms.github import GITHUB_URL
from pulse_backfill.platforms.gitlab import GITLAB_URL

PLATFORM = "Platform"
# gh's order: GH_TOKEN first, then GITHUB_TOKEN (what a GitHub Actions job sets).
GITHUB_VARIABLES = ("GH_TOKEN", "GITHUB_TOKEN")
GITLAB_VARIABLES = ("GITLAB_TOKEN",)


@dataclass(frozen=True)
class GitHubOptions:
    """Which GitHub, which repository, and the token's file (else GH_TOKEN or GITHUB_TOKEN)."""

    github_repo: Annotated[
        str | None,
        typer.Option(
            metavar="OWNER/NAME",
            show_default=False,
            rich_help_panel=PLATFORM,
            help="The GitHub repository. \\[default: from the clone's origin]",
        ),
    ] = None
    github_url: Annotated[
        str,
        typer.Option(
            metavar="URL",
            envvar="GITHUB_SERVER_URL",
            rich_help_panel=PLATFORM,
            help="GitHub, or a GitHub Enterprise Server (https://github.example.com).",
        ),
    ] = GITHUB_URL
    github_token_file: Annotated[
        Path | None,
        typer.Option(
            metavar="PATH",
            show_default=False,
            rich_help_panel=PLATFORM,
            help="Read the GitHub token from this file. \\[default: GH_TOKEN or GITHUB_TOKEN]",
        ),
    ] = None

    def token(self) -> Token | None:
        return _token(self.github_token_file, "--github-token-file", GITHUB_VARIABLES)


@dataclass(frozen=True)
class GitLabOptions:
    """Which GitLab, which project, and the token's file (else GITLAB_TOKEN)."""

    gitlab_project: Annotated[
        str | None,
        typer.Option(
            metavar="GROUP/NAME",
            show_default=False,
            rich_help_panel=PLATFORM,
            help="The GitLab project's path. \\[default: from the clone's origin]",
        ),
    ] = None
    gitlab_url: Annotated[
        str,
        typer.Option(
            metavar="URL",
            rich_help_panel=PLATFORM,
            help="GitLab, or a self-managed GitLab (https://gitlab.example.com).",
        ),
    ] = GITLAB_URL
    gitlab_token_file: Annotated[
        Path | None,
        typer.Option(
            metavar="PATH",
            show_default=False,
            rich_help_panel=PLATFORM,
            help="Read the GitLab token from this file. \\[default: GITLAB_TOKEN]",
        ),
    ] = None

    def token(self) -> Token | None:
        return _token(self.gitlab_token_file, "--gitlab-token-file", GITLAB_VARIABLES)


def _token(file: Path | None, option: str, variables: tuple[str, ...]) -> Token | None:
    """The token, from the file if one is named, else the first variable that is set. Set but
    empty is what a CI secret that is missing gives: a mistake, not "no token"."""
    if file is not None:
        named = f"{option} {file}"
        value = read_user_file(file, named, "pass a readable file that holds the token").strip()
        if not value:
            raise UsageError(f"{named} is empty: write the token in it")
        if len(value.splitlines()) != 1:
            raise UsageError(f"{named} must hold the token alone on one line")
        return Token(value, named)
    for variable in variables:
        given = os.environ.get(variable)
        if given is None:
            continue
        if not given.strip():
            raise UsageError(
                f"{variable} is set but empty: set it to a token, or unset it to ask without one"
            )
        return Token(given.strip(), variable)
    return None


def platform_access(
    *,
    github: GitHubOptions | None,
    gitlab: GitLabOptions | None,
    cache_dir: Path | None,
    budget: float,
    timeout: float,
) -> PlatformAccess:
    """The access a run that asks GitHub (with `github`) or GitLab (with `gitlab`) needs; the
    tokens are read only for the platforms asked."""
    say = lambda line: typer.echo(f"warning: {line}", err=True)  # noqa: E731
    return PlatformAccess(
        github_url=github.github_url if github else GITHUB_URL,
        github_repo=github.github_repo if github else None,
        github_token=github.token() if github else None,
        gitlab_url=gitlab.gitlab_url if gitlab else GITLAB_URL,
        gitlab_project=gitlab.gitlab_project if gitlab else None,
        gitlab_token=gitlab.token() if gitlab else None,
        cache_dir=cache_dir,
        budget=budget,
        timeout=timeout,
        say=say,
    )
