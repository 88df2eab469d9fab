"""git's own answers, asked with the git command line: what the derivation must match."""

from __future__ import annotations

import subprocess
from pathlib import Path


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    ).stdout


def shipped(repo: Path, commit: str, earlier: list[str]) -> set[str]:
    """`git rev-list <commit> --not <every earlier deployment>`."""
    return set(git(repo, "rev-list", commit, "--not", *earlier, "--").split())


def commit_of(repo: Path, message: str) -> str:
    """The one commit whose subject is `message`."""
    found = git(repo, "log", "--all", "--format=%H %s").splitlines()
    matches = [line.split(" ", 1)[0] for line in found if line.split(" ", 1)[1] == message]
    assert len(matches) == 1, (message, matches)
    return matches[0]


def subjects(repo: Path, commits: list[str] | tuple[str, ...]) -> list[str]:
    return [git(repo, "log", "-1", "--format=%s", c).strip() for c in commits]
