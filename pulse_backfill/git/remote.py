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
from contextlib import suppress
from pathlib import Path
from urllib.parse import unquote, urlsplit

import platformdirs
from git.exc import GitCommandError

from pulse_backfill.errors import FetchError, RepositoryError, UsageError
from pulse_backfill.git import process
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


# How long a clone or fetch may go without progress. A hosted service (GitHub, GitLab,
# Bitbucket) that works reports progress while it counts and compresses objects, before it
# sends any, and then each object as it arrives: five silent minutes is far beyond that, and a
# stalled server or network, which a nightly job should notice the same night rather than
# wait on for ever. It bounds silence, not the whole clone: a slow link is not cut off.
DEFAULT_GIT_TIMEOUT = 300.0


def mirror(url: str, cache_dir: Path, *, timeout: float = DEFAULT_GIT_TIMEOUT) -> Path:
    """A local, up-to-date bare partial clone of `url`: cloned the first time, then fetched.
    Each clone or fetch ends when it makes no progress for `timeout` seconds."""
    path = cache_path(cache_dir, url)
    if path.exists():
        if display_url(url) != url:
            # A clone made by an older version kept the credentials in its config.
            with suppress(GitCommandError):
                process.run(["git", "-C", str(path), "config", "--unset-all", "remote.origin.url"])
        fetch = [
            "fetch",
            "--progress",
            "--prune",
            "--prune-tags",
            "--force",
            "--no-write-fetch-head",
        ]
        _run_git(url, ["-C", str(path), *fetch, "origin"], timeout)
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
        _refuse_shallow(url, timeout)
        # Cloned aside and moved into place: an interrupted clone leaves no half-made cache.
        clone = ["clone", "--bare", "--filter=blob:none", "--progress"]
        _run_git(url, [*clone, "--", url, str(staging)], timeout)
        configure = ["git", "-C", str(staging), "config"]
        if display_url(url) != url:
            # The clone's config would keep the credentials: each fetch is given them instead
            # (through its environment, which other users cannot read).
            process.run([*configure, "--unset-all", "remote.origin.url"])
        for refspec in _FETCH_REFSPECS:
            process.run([*configure, "--add", "remote.origin.fetch", refspec])
        os.replace(staging, path)
    except GitCommandError as error:
        shutil.rmtree(staging, ignore_errors=True)
        raise _cannot_fetch(url, process.reason(error)) from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return path


def _refuse_shallow(url: str, timeout: float) -> None:
    """A shallow repository cannot be cloned partially (git fetches the missing history again
    and again, a process each time, for ever), and its history would be wrong anyway. git's
    first protocol names a shallow source's boundary commits in its first answer, which
    `ls-remote` asks for; the later protocol says nothing of them until the clone."""
    with tempfile.TemporaryDirectory(prefix="pulse-backfill-") as folder:
        trace = Path(folder) / "packets"
        environment = {"GIT_TRACE_PACKET": str(trace)}
        _run_git(url, ["-c", "protocol.version=0", "ls-remote", "--", url], timeout, environment)
        with trace.open("rb") as lines:
            shallow = any(b"< shallow " in line for line in lines)
    if not shallow:
        return
    parts = urlsplit(url)
    if parts.scheme.lower() == "file":
        where = unquote(parts.path)
        fix = f"'git -C {where} fetch --unshallow --tags'"
    else:
        fix = "'git fetch --unshallow --tags' where it is kept, or name a full clone"
    raise RepositoryError(
        f"{display_url(url)} is a shallow clone, so the changes of its deployments would be "
        f"wrong: fetch its full history with {fix}"
    )


def _run_git(
    url: str, args: list[str], timeout: float, environment: dict[str, str] | None = None
) -> None:
    # The URL, credentials and all, for the fetches of a clone whose config has none of them:
    # not on the command line, where other users of the machine would see it. Added to the
    # settings a CI job may give git the same way (an authorization header, say).
    given = os.environ.get("GIT_CONFIG_COUNT", "0")
    number = int(given) if given.isdigit() else 0
    environment = {
        **(environment or {}),
        "GIT_TERMINAL_PROMPT": "0",  # a cron job cannot type a password
        "GIT_CONFIG_COUNT": str(number + 1),
        f"GIT_CONFIG_KEY_{number}": "remote.origin.url",
        f"GIT_CONFIG_VALUE_{number}": url,
    }
    options: list[str] = []
    limit = timeout
    if urlsplit(url).scheme.lower() in ("http", "https"):
        # curl's own bound on a transfer that stalls, which ends it first, git saying why.
        seconds = max(1, round(timeout))
        options = ["-c", "http.lowSpeedLimit=1", "-c", f"http.lowSpeedTime={seconds}"]
        limit += _MARGIN
    command = ["git", *options, *args]
    try:
        process.run_bounded(command, timeout=limit, env=environment)
    except process.NoProgress:
        raise _no_progress(url, timeout) from None
    except GitCommandError as error:
        said = process.reason(error)
        if "Operation too slow" in said or "Operation timed out" in said:
            raise _no_progress(url, timeout) from None
        raise _cannot_fetch(url, said) from None


# Beyond curl's bound, for what it does not see (a server that never accepts, say).
_MARGIN = 2.0


def _no_progress(url: str, timeout: float) -> FetchError:
    return FetchError(
        f"cannot fetch {display_url(url)}: no progress for {timeout:g} s; check the server and "
        "the network, or raise --git-timeout"
    )


def _cannot_fetch(url: str, said: str) -> FetchError:
    # The command line holds the URL as given: the message is built from git's stderr alone.
    return FetchError(
        f"cannot fetch {display_url(url)} ({_scrub(said, url)}): "
        "check the URL and your access to it, then run again"
    )


def _scrub(text: str, url: str) -> str:
    """`text` without the URL's credentials, however git quoted the URL."""
    text = text.replace(url, display_url(url))
    parts = urlsplit(url) if "://" in url else None
    if parts is not None:
        for secret in (parts.password, parts.username if parts.scheme != "ssh" else None):
            if secret:
                text = text.replace(secret, "***")
    return text
