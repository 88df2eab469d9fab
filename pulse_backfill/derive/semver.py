"""Semantic Versioning 2.0 names and precedence (https://semver.org), ASCII only."""

from __future__ import annotations

import re
from dataclasses import dataclass

# re.ASCII keeps \w-free classes honest; [0-9] is spelled out so no Unicode digit sneaks in.
_NUMBER = r"(?:0|[1-9][0-9]*)"
_PRERELEASE_ID = r"(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)"
_BUILD_ID = r"[0-9A-Za-z-]+"
_SEMVER = re.compile(
    rf"(?P<major>{_NUMBER})\.(?P<minor>{_NUMBER})\.(?P<patch>{_NUMBER})"
    rf"(?:-(?P<prerelease>{_PRERELEASE_ID}(?:\.{_PRERELEASE_ID})*))?"
    rf"(?:\+(?P<build>{_BUILD_ID}(?:\.{_BUILD_ID})*))?",
    re.ASCII,
)

# A prerelease identifier sorts numerically when numeric, and numeric ones before alphanumeric.
PrereleaseKey = tuple[tuple[int, int, str], ...]


@dataclass(frozen=True, order=False)
class Version:
    major: int
    minor: int
    patch: int
    prerelease: tuple[str, ...] = ()
    build: tuple[str, ...] = ()

    @property
    def is_prerelease(self) -> bool:
        return bool(self.prerelease)

    def precedence(self) -> tuple[int, int, int, int, PrereleaseKey]:
        """A sort key for semver precedence; build metadata does not count."""
        # A release sorts after all its prereleases: flag 1 for none, 0 for some.
        ids: PrereleaseKey = tuple(
            (0, int(part), "") if part.isdigit() else (1, 0, part) for part in self.prerelease
        )
        return (self.major, self.minor, self.patch, 0 if self.prerelease else 1, ids)


def parse_version(text: str) -> Version | None:
    """The version that `text` is in full, with an optional leading `v`; None if it is not one."""
    match = _SEMVER.fullmatch(text[1:] if text.startswith("v") else text)
    if match is None:
        return None
    prerelease = match["prerelease"]
    build = match["build"]
    return Version(
        major=int(match["major"]),
        minor=int(match["minor"]),
        patch=int(match["patch"]),
        prerelease=tuple(prerelease.split(".")) if prerelease else (),
        build=tuple(build.split(".")) if build else (),
    )
