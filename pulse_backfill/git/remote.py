"""Repositories given as URLs: a bare partial clone in a cache folder, fetched on every run.

The clone holds commits, trees and tags but no file contents (`--filter=blob:none`): all a
derivation reads. Credentials in a URL are used by git and never shown: every message names the
URL without them.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import git
import platformdirs
from git.exc import GitCommandError

from pulse_backfill.errors import FetchError, UsageError
from pulse_backfill.urls import SCP_LIKE, display_url

_SCHEMES = ("https://", "http://", "ssh://", "git://", "file://")
_FETCH_REFSPECS = ("+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*")


def is_remote(location: str) -> bool:
    return location.lower().startswith(_SCHEMES) or SCP_LIKE.match(location) is not None


def repository_name(url: str) -> str:
    """The last part of the URL's path, without `.git`: the default system."""
    match = SCP_LIKE.match(url)
    path = match["path"] if match else urlsplit(url).path
    return path.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git") or "repository"


def default_cache_dir() -> Path:
    return platformdirs.user_cache_path("pulse-backfill") / "repositories"


def cache_path(cache_dir: Path, url: str) -> Path:
    """One folder per URL (credentials left out), named so a person can tell which is which."""
    shown = display_url(url)
    digest = hashlib.sha256(shown.encode()).hexdigest()[:12]
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", shown.split("://", 1)[-1]).strip("-.")[:60]
    return cache_dir / f"{slug}-{digest}.git"


def mirror(url: str, cache_dir: Path) -> Path:
    """A local, up-to-date bare partial clone of `url`: cloned the first time, then fetched."""
    path = cache_path(cache_dir, url)
    if path.exists():
        _run_git(url, ["-C", str(path), "fetch", "--prune", "--prune-tags", "--force", "origin"])
        return path
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=cache_dir))
    except OSError as error:
        raise UsageError(
            f"cannot write the cache folder {cache_dir} ({error.strerror}): "
            "pass --cache-dir a writable folder"
        ) from None
    try:
        # Cloned aside and moved into place: an interrupted clone leaves no half-made cache.
        _run_git(
            url,
            ["clone", "--bare", "--filter=blob:none", "--quiet", "--", url, str(staging)],
        )
        for refspec in _FETCH_REFSPECS:
            _run_git(url, ["-C", str(staging), "config", "--add", "remote.origin.fetch", refspec])
        os.replace(staging, path)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return path


def _run_git(url: str, args: list[str]) -> None:
    environment = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}  # a cron job cannot type a password
    try:
        git.Git().execute(["git", *args], env=environment)
    except GitCommandError as error:
        # The command line holds the URL as given: build the message from git's stderr alone.
        raise FetchError(
            f"cannot fetch {display_url(url)} ({_scrub(_first_line(error), url)}): "
            "check the URL and your access to it, then run again"
        ) from None


def _first_line(error: GitCommandError) -> str:
    stderr = str(error.stderr or "").strip().removeprefix("stderr:").strip().strip("'")
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    line = lines[0] if lines else f"git exit code {error.status}"
    for prefix in ("fatal: ", "error: "):
        line = line.removeprefix(prefix)
    return line


def _scrub(text: str, url: str) -> str:
    """`text` without the URL's credentials, however git quoted the URL."""
    text = text.replace(url, display_url(url))
    parts = urlsplit(url) if "://" in url else None
    if parts is not None:
        for secret in (parts.password, parts.username if parts.scheme != "ssh" else None):
            if secret:
                text = text.replace(secret, "***")
    return text
