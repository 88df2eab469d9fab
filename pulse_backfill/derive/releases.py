"""Release tags as deployments: which tags are releases, when each was deployed, in what order.

Rules 1 to 4 of the README. Pure: it reads `history.TagRef`s.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from pulse_backfill.derive.history import DeployedCommit, TagRef
from pulse_backfill.derive.semver import Version, parse_version


class DeployTime(StrEnum):
    TAG = "tag"
    COMMIT = "commit"


@dataclass(frozen=True, kw_only=True)
class TagRules:
    """Rules 1 and 3: which tag names are releases, and which date is a release's."""

    prefix: str = ""
    pattern: re.Pattern[str] | None = None
    include_prereleases: bool = False
    deploy_time: DeployTime = DeployTime.TAG

    def match(self, name: str) -> tuple[bool, Version | None]:
        """Whether `name` is a release, and its version when semver decides the order."""
        if self.pattern is not None:
            return self.pattern.fullmatch(name) is not None, None
        if not name.startswith(self.prefix):
            return False, None
        version = parse_version(name[len(self.prefix) :])
        if version is None or (version.is_prerelease and not self.include_prereleases):
            return False, None
        return True, version


def tag_deployments(
    tags: Iterable[TagRef], rules: TagRules
) -> tuple[list[DeployedCommit], list[str]]:
    """The release tags as deployments, in order (rules 1 to 4), and a warning for each release
    tag that points at no commit."""
    releases: list[tuple[int, tuple[object, ...], str, str]] = []
    warnings: list[str] = []
    for tag in tags:
        is_release, version = rules.match(tag.name)
        if not is_release:
            continue
        if tag.commit is None or tag.commit_time is None:
            warnings.append(f"tag {tag.name} points at a {tag.target_type}, not a commit: skipped")
            continue
        # Rule 3: the tagger date of an annotated tag, else the commit's committer date.
        time = tag.commit_time
        if rules.deploy_time is DeployTime.TAG and tag.tagger_time is not None:
            time = tag.tagger_time
        # Rule 4: time, then semver precedence, then name. Without versions (--tag-pattern),
        # every precedence is the same empty tuple, so ties fall to the name.
        precedence: tuple[object, ...] = version.precedence() if version else ()
        releases.append((time, precedence, tag.name, tag.commit))
    releases.sort()
    deployments = [DeployedCommit(name, commit, time) for time, _, name, commit in releases]
    return deployments, warnings


def suggest_rules(tag_names: Iterable[str], given: TagRules | None = None) -> list[str]:
    """Options that would make some of these tags releases, most fitting first; none that
    `given` (the rules in use) already has."""
    names = list(tag_names)
    prereleases = sum(
        1 for name in names if (v := parse_version(name)) is not None and v.is_prerelease
    )
    suggestions = [f"--tag-prefix {p.prefix!r}" for p in prefixed_versions(names, given)[:3]]
    if prereleases and not (given and given.include_prereleases):
        suggestions.insert(0, "--include-prereleases")
    return suggestions


@dataclass(frozen=True)
class PrefixedVersions:
    """Tags that are a version after a prefix (`svelte@5.0.0`, `service-a/v1.2.3`)."""

    prefix: str
    count: int
    latest: str  # the tag of the highest version


def prefixed_versions(
    tag_names: Iterable[str], given: TagRules | None = None
) -> list[PrefixedVersions]:
    """The prefixes before a version among these tags, the most tags first (then by name),
    other than `given`'s prefix."""
    found: dict[str, tuple[int, tuple[object, ...], str]] = {}
    for name in tag_names:
        for cut in range(len(name)):
            version = parse_version(name[cut:])
            if version is None:
                continue
            prefix = name[:cut]
            if cut and (given is None or prefix != given.prefix):
                count, highest, latest = found.get(prefix, (0, (), ""))
                precedence: tuple[object, ...] = version.precedence()
                if not latest or precedence > highest:
                    highest, latest = precedence, name
                found[prefix] = (count + 1, highest, latest)
            break
    ranked = sorted(found.items(), key=lambda item: (-item[1][0], item[0]))
    return [PrefixedVersions(prefix, count, latest) for prefix, (count, _, latest) in ranked]
