"""Every git process this tool starts, each in a process group of its own.

A group holds git and whatever it starts (remote helpers, ssh, index-pack, the fetches a partial
clone makes), so stopping the run ends them all: `stop_all` (Ctrl-C, SIGTERM) ends every group
and starts no more. A clone or fetch is also bounded by how long it may go without progress.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from typing import IO, BinaryIO, cast

import git
from git.exc import GitCommandError

from pulse_backfill.errors import PulseBackfillError

# What a killed group is given to clean up (git removes its temporary packs and lock files on
# SIGTERM) before it is killed outright.
_GRACE = 2.0
_POLL = 0.2  # how often a bounded process is looked at
_KEPT_STDERR = 64 * 1024  # the end of a chatty process's stderr, where git says why it failed

_lock = threading.RLock()  # re-entered by a signal handler in the thread that holds it
_running: set[subprocess.Popen[bytes]] = set()
_stopped = threading.Event()
_signalled: list[int] = []  # the groups `stop_all` ended


class GitStopped(PulseBackfillError):
    """A git process was ended because the run was stopped (Ctrl-C, SIGTERM)."""

    exit_code = 130


class NoProgress(Exception):
    """A bounded git process showed no progress for its time and was ended."""


@contextmanager
def stoppable() -> Iterator[None]:
    """A run whose git processes `stop_all` may end: git may run again after it (a process, such
    as a test's, may hold several runs)."""
    _stopped.clear()
    try:
        yield
    finally:
        _finish_stopped()
        _stopped.clear()


def stop_all() -> None:
    """End every git process started, and start no more: first with SIGTERM, then, for those
    still there after a short grace, SIGKILL. Safe to call from a signal handler."""
    _stopped.set()
    with _lock:
        groups = [process.pid for process in _running]
        _signalled.extend(groups)
    for group in groups:
        _signal_group(group, signal.SIGTERM)


def _finish_stopped() -> None:
    """Before the run ends: the groups `stop_all` ended, killed outright if still there after
    their grace (nothing of them may outlive the run)."""
    with _lock:
        groups = list(_signalled)
        _signalled.clear()
    deadline = time.monotonic() + _GRACE
    while groups and time.monotonic() < deadline:
        groups = [group for group in groups if _signal_group(group, 0)]
        if groups:
            time.sleep(0.05)
    for group in groups:
        _signal_group(group, signal.SIGKILL)


def _signal_group(group: int, number: int) -> bool:
    """Whether the group was still there to take the signal (0: only asks)."""
    try:
        os.killpg(group, number)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _start(
    command: Sequence[str],
    *,
    stdin: BinaryIO | None = None,
    env: Mapping[str, str] | None = None,
    stdout: bool = True,
) -> subprocess.Popen[bytes]:
    with _lock:  # so that `stop_all` sees every process started before it, or stops this one
        if _stopped.is_set():
            raise GitStopped("stopped before git ran")
        # GitPython runs it with English messages (LC_ALL=C), which `reason` reads.
        handle = git.Git().execute(
            list(command),
            as_process=True,
            istream=stdin,
            env=dict(env or {}),
            with_stdout=stdout,
            process_group=0,  # a group of its own, led by git
        )
        assert isinstance(handle, git.Git.AutoInterrupt)
        process = cast("subprocess.Popen[bytes]", handle.proc)
        handle.proc = None  # ours to wait for and forget, not GitPython's to kill when collected
        _running.add(process)
    return process


def _forget(process: subprocess.Popen[bytes]) -> None:
    with _lock:
        _running.discard(process)


def _failed(command: Sequence[str], process: subprocess.Popen[bytes], stderr: bytes) -> Exception:
    if _stopped.is_set():
        return GitStopped("git was stopped")
    return GitCommandError(list(command), process.returncode, stderr)


def run(
    command: Sequence[str], *, stdin: BinaryIO | None = None, env: Mapping[str, str] | None = None
) -> bytes:
    """Run git to its end: its stdout; GitCommandError (or GitStopped) if it failed."""
    process = _start(command, stdin=stdin, env=env)
    try:
        output, stderr = process.communicate()
    finally:
        _forget(process)
    if process.returncode != 0:
        raise _failed(command, process, stderr)
    return output


@contextmanager
def streaming(
    command: Sequence[str], *, stdin: BinaryIO | None = None, env: Mapping[str, str] | None = None
) -> Iterator[IO[bytes]]:
    """git's stdout as it writes it; GitCommandError (or GitStopped) once read, if it failed.
    Left early, git is ended."""
    process = _start(command, stdin=stdin, env=env)
    assert process.stdout is not None
    assert process.stderr is not None
    stderr = _Tail(process.stderr)
    try:
        yield process.stdout
        process.stdout.read()  # what the reader left, so that git can end
        process.wait()
    finally:
        _end(process)
        process.stdout.close()
        stderr.join()
    if process.returncode != 0:
        raise _failed(command, process, stderr.text)


def _end(process: subprocess.Popen[bytes]) -> None:
    """`process`'s group killed if git is still there (its reader left early), and forgotten."""
    if process.poll() is None:
        _signal_group(process.pid, signal.SIGKILL)
        process.wait()
    _forget(process)


def run_bounded(
    command: Sequence[str], *, timeout: float, env: Mapping[str, str] | None = None
) -> None:
    """A clone or fetch, run with `--progress`: ended (NoProgress) once its stderr, where git
    shows each step's progress, has been silent for `timeout` seconds. GitCommandError (or
    GitStopped) if it failed."""
    process = _start(command, env=env, stdout=False)
    assert process.stderr is not None
    stderr = _Tail(process.stderr)
    silent = False
    try:
        while process.poll() is None:
            with suppress(subprocess.TimeoutExpired):
                process.wait(_POLL)
            if process.poll() is None and time.monotonic() - stderr.last_heard > timeout:
                silent = True
                _signal_group(process.pid, signal.SIGKILL)
                process.wait()
    finally:
        _end(process)
        # The group's other members may still hold stderr open until the SIGKILL reaches them.
        stderr.join()
    if silent and not _stopped.is_set():
        raise NoProgress()
    if process.returncode != 0:
        raise _failed(command, process, stderr.text)


class _Tail:
    """A pipe read to its end by a thread of its own (so that git never blocks on it): when it
    last said anything, and the end of what it said."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self._kept = bytearray()
        self.last_heard = time.monotonic()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        read = getattr(self._stream, "read1", self._stream.read)
        while chunk := read(65536):
            self.last_heard = time.monotonic()
            self._kept += chunk
            del self._kept[:-_KEPT_STDERR]

    def join(self) -> None:
        self._thread.join()
        self._stream.close()

    @property
    def text(self) -> bytes:
        return bytes(self._kept)


def reason(error: GitCommandError) -> str:
    """git's own words for why it failed, in a line: its `fatal:` or `error:` line (not a line
    of progress), without the prefix."""
    stderr = error.stderr
    text = stderr.decode(errors="replace") if isinstance(stderr, bytes) else str(stderr or "")
    text = text.strip().removeprefix("stderr:").strip().strip("'")
    lines = [line.strip() for line in text.replace("\r", "\n").splitlines() if line.strip()]
    for line in lines:
        for prefix in ("fatal: ", "error: "):
            if line.startswith(prefix):
                return line.removeprefix(prefix)
    return lines[-1] if lines else f"git exit code {error.status}"
