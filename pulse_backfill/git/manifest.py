"""The repositories of a run: REPO arguments, and the lines of a `--repos FILE`."""

from __future__ import annotations

import hashlib
import shlex
from dataclasses import dataclass

from pulse_backfill.errors import UsageError
from pulse_backfill.urls import shown_location

LINE_FORMAT = (
    "REPO [--system S] [--deployments-from SOURCE] [--tag-prefix P] [--infer-failures RULES] "
    "[--path P]..."
)
_OPTIONS = ("--system", "--deployments-from", "--tag-prefix", "--infer-failures", "--path")


@dataclass(frozen=True, kw_only=True)
class RepoSpec:
    """One repository to backfill, with what it sets for itself."""

    location: str  # a path or a URL, as the user gave it
    system: str | None = None  # None: the run's --system, else the repository's name
    deployments_from: str | None = None  # None: the run's --deployments-from
    tag_prefix: str | None = None  # None: the run's release rules
    infer_failures: str | None = None  # None: the run's failure rules
    paths: tuple[str, ...] = ()  # (): the run's --path
    where: str | None = None  # "--repos FILE line 3", for messages; None for a REPO argument


def parse_repo_list(text: str, source: str) -> list[RepoSpec]:
    """One repository a line, shell-quoted; blank lines and `#` comments are skipped."""
    specs: list[RepoSpec] = []
    for number, line in enumerate(text.splitlines(), start=1):
        try:
            words = shlex.split(line, comments=True)
        except ValueError as error:
            raise _bad_line(source, number, str(error)) from None
        if words:
            specs.append(_spec(words, source, number))
    if not specs:
        raise UsageError(f"--repos {source} lists no repository: write one a line, {LINE_FORMAT}")
    return specs


def _spec(words: list[str], source: str, number: int) -> RepoSpec:
    location, *rest = words
    if location.startswith("-"):
        raise _bad_line(source, number, f"it starts with the option {location}, not a repository")
    values: dict[str, str] = {}
    paths: list[str] = []
    while rest:
        option, *rest = rest
        if option not in _OPTIONS:
            raise _bad_line(source, number, f"unknown option {option!r}")
        if not rest:
            raise _bad_line(source, number, f"{option} needs a value")
        value, *rest = rest
        if option == "--path":
            if not value:
                raise _bad_line(source, number, "--path '' names no path")
            paths.append(value)
        elif option in values:
            raise _bad_line(source, number, f"{option} is given twice")
        else:
            values[option] = value
    return RepoSpec(
        location=location,
        system=values.get("--system"),
        deployments_from=values.get("--deployments-from"),
        tag_prefix=values.get("--tag-prefix"),
        infer_failures=values.get("--infer-failures"),
        paths=tuple(paths),
        where=f"--repos {source} line {number}",
    )


def _bad_line(source: str, number: int, why: str) -> UsageError:
    return UsageError(f"--repos {source} line {number}: {why}; write each line as {LINE_FORMAT}")


@dataclass(frozen=True)
class Shard:
    """`--shard K/N`: the repositories of a run that shard K of N takes, by a hash of each
    one's location (without credentials) and system, so that adding or removing a line moves
    no other repository to another shard."""

    index: int  # 1 to count
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        index, slash, count = text.partition("/")
        if slash and index.isdecimal() and count.isdecimal() and 1 <= int(index) <= int(count):
            return cls(int(index), int(count))
        raise UsageError(f"--shard {text!r} is not K/N with 1 <= K <= N: pass, say, --shard 1/4")

    def takes(self, spec: RepoSpec, system: str | None) -> bool:
        """Whether this shard runs `spec`, whose system is the line's, else the run's."""
        key = f"{shown_location(spec.location)}\n{system or ''}".encode()
        number = int.from_bytes(hashlib.sha256(key).digest()[:8], "big")
        return number % self.count == self.index - 1

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"
