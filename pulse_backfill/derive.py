"""Which tags are deployments, in which order, and which commits each one shipped first.

Pure logic over `history` data: no git, no I/O.
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from pulse_backfill.first_reach import first_reach
from pulse_backfill.gitwalk import NO_DATE, RevListNot, has_clock_skew
from pulse_backfill.history import Change, CommitGraph, TagRef
from pulse_backfill.semver import Version, parse_version


class DeployTime(StrEnum):
    TAG = "tag"
    COMMIT = "commit"


class ChangeTime(StrEnum):
    AUTHOR = "author"
    COMMIT = "commit"


class Status(StrEnum):
    SEND = "send"
    BASELINE = "baseline"  # bounds later deployments, is not sent
    EMPTY = "empty"  # shipped nothing new (e.g. a second tag on a commit already shipped)


@dataclass(frozen=True, kw_only=True)
class ReleaseRules:
    """Rule 1: which tag names are releases."""

    prefix: str = ""
    pattern: re.Pattern[str] | None = None
    include_prereleases: bool = False

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


@dataclass(frozen=True, kw_only=True)
class DerivationOptions:
    rules: ReleaseRules = ReleaseRules()
    since: int | None = None  # inclusive, epoch seconds
    until: int | None = None  # exclusive, epoch seconds
    deploy_time: DeployTime = DeployTime.TAG
    change_time: ChangeTime = ChangeTime.AUTHOR
    include_first: bool = False
    no_merges: bool = False


@dataclass(frozen=True)
class Release:
    tag: TagRef
    commit: str
    version: Version | None


@dataclass(frozen=True)
class Deployment:
    tag: str
    commit: str
    time: int
    status: Status
    changes: tuple[Change, ...] = ()


@dataclass(frozen=True)
class Derivation:
    deployments: tuple[Deployment, ...]
    warnings: tuple[str, ...] = ()
    # Whether the history read has commits dated before a parent (see `derive`).
    skewed: bool = field(default=False, compare=False)

    @property
    def sent(self) -> tuple[Deployment, ...]:
        return tuple(d for d in self.deployments if d.status is Status.SEND)

    def count(self, status: Status) -> int:
        return sum(1 for d in self.deployments if d.status is status)


def select_releases(tags: Iterable[TagRef], rules: ReleaseRules) -> tuple[list[Release], list[str]]:
    """Rules 1 and 2: the release tags, peeled to commits, and a warning for each that is not."""
    releases: list[Release] = []
    warnings: list[str] = []
    for tag in tags:
        is_release, version = rules.match(tag.name)
        if not is_release:
            continue
        if tag.commit is None:
            warnings.append(f"tag {tag.name} points at a {tag.target_type}, not a commit: skipped")
            continue
        releases.append(Release(tag=tag, commit=tag.commit, version=version))
    return releases, warnings


def suggest_rules(tag_names: Iterable[str]) -> list[str]:
    """Options that would make some of these tags releases, most fitting first."""
    prefixes: dict[str, int] = {}
    prereleases = 0
    for name in tag_names:
        for cut in range(len(name)):
            version = parse_version(name[cut:])
            if version is None:
                continue
            if cut:
                prefixes[name[:cut]] = prefixes.get(name[:cut], 0) + 1
            elif version.is_prerelease:
                prereleases += 1
            break
    ranked = sorted(prefixes.items(), key=lambda item: (-item[1], item[0]))
    suggestions = [f"--tag-prefix {prefix!r}" for prefix, _ in ranked[:3]]
    if prereleases:
        suggestions.insert(0, "--include-prereleases")
    return suggestions


def deployment_time(release: Release, mode: DeployTime) -> int:
    """Rule 3: the tagger date of an annotated tag, else the commit's committer date."""
    if mode is DeployTime.TAG and release.tag.tagger_time is not None:
        return release.tag.tagger_time
    assert release.tag.commit_time is not None, "a release's tag points at a commit"
    return release.tag.commit_time


def order_releases(
    releases: Sequence[Release], options: DerivationOptions
) -> list[tuple[Release, int]]:
    """Rule 4 and --until: the deployments in order, with their times."""
    timed = [(release, deployment_time(release, options.deploy_time)) for release in releases]
    timed.sort(key=lambda pair: _order_key(*pair))
    if options.until is not None:
        timed = [(release, time) for release, time in timed if time < options.until]
    return timed


def _order_key(release: Release, time: int) -> tuple[int, tuple[object, ...], str]:
    # Rule 4: time, then semver precedence, then name. Without versions (--tag-pattern),
    # every precedence is the same empty tuple, so ties fall to the name.
    precedence: tuple[object, ...] = release.version.precedence() if release.version else ()
    return (time, precedence, release.tag.name)


def derive_log(
    timed: Sequence[tuple[Release, int]],
    log: Iterable[bytes],
    options: DerivationOptions,
    *,
    touching: frozenset[str] | None = None,
    on_deployment: Callable[[Deployment], object] | None = None,
) -> Derivation:
    """`derive` for a whole history, from git's log of it (`first_reach.LOG_FORMAT` lines).

    One pass as the log streams. Under clock skew the pass also builds the graph, for git's
    walk where its answer may differ; only when git's order left a commit's first deployment
    unknown as its line came is the whole derivation done from the graph.

    `on_deployment` is shown each deployment to be sent as soon as the pass has it, while git
    still streams: most, in a large history. The derivation holds that very object unless a
    later line or git's walk changed it.
    """
    change_time = 1 if options.change_time is ChangeTime.AUTHOR else 2
    tips = [release.commit.encode() for release, _ in timed]
    ahead = _DeploymentsAhead(timed, options, touching, on_deployment)
    reach = first_reach(
        log,
        tips,
        change_time=change_time,
        merges=not options.no_merges,
        on_final=ahead.make,
        unwanted=ahead.baselines,
    )
    if isinstance(reach, list):
        return Derivation(
            tuple(ahead.deployment(position, found) for position, found in enumerate(reach))
        )
    if reach.facts is None:
        return derive(timed, reach.graph, options, touching=touching)
    graph, facts = reach.graph, reach.facts
    # Under clock skew, git's walk where it may differ, as `derive` does, from what the pass
    # found instead of walks of the graph.
    walks = _GitWalks(graph) if facts.skewed else None
    deployments = []
    for position, ((release, _), commits) in enumerate(zip(timed, facts.shipped, strict=True)):
        printed = None
        if walks is not None:
            start = graph.index[release.commit]
            if commits:
                oldest, stopped_at = facts.oldest[position], facts.stops[position]
            else:  # an earlier deployment shipped its commit
                oldest, stopped_at = graph.commit_time[start], [start]
            printed = walks.follow(
                start,
                len(commits),
                facts.skewed_parent[position],
                oldest,
                stopped_at,
                release,
                is_baseline=position in ahead.baselines,
            )
        found = facts.changes[position]
        if position in ahead.baselines:
            found = []  # never sent: --since leaves most of a history unbuilt
        elif printed is not None or found is None:
            found = _changes(graph, commits if printed is None else printed, options)
        deployments.append(ahead.deployment(position, found))
    warnings = walks.warnings if walks is not None else ()
    return Derivation(tuple(deployments), tuple(warnings), walks is not None)


class _DeploymentsAhead:
    """Deployments made while git streams, from the changes the pass found final, and made again
    afterwards only where what it found in the end differs."""

    def __init__(
        self,
        timed: Sequence[tuple[Release, int]],
        options: DerivationOptions,
        touching: frozenset[str] | None,
        shown: Callable[[Deployment], object] | None,
    ) -> None:
        self.timed, self.touching, self.shown = timed, touching, shown
        self.baselines = frozenset(
            position
            for position, (_, time) in enumerate(timed)
            if _is_baseline(position, time, options)
        )
        # By position: the changes a deployment was made of, their number then, and it.
        self.made: dict[int, tuple[list[Change], int, Deployment]] = {}

    def make(self, position: int, changes: list[Change]) -> None:
        """`first_reach`'s on_final: the deployment at `position`, made of its final changes."""
        if position in self.baselines:
            return
        count = len(changes)
        deployment = self._made_of(position, changes)
        self.made[position] = (changes, count, deployment)
        if self.shown is not None and deployment.status is Status.SEND:
            self.shown(deployment)

    def deployment(self, position: int, changes: list[Change]) -> Deployment:
        """The deployment at `position`, shipping `changes` first."""
        made = self.made.get(position)
        if made is not None and made[0] is changes and made[1] == len(changes):
            return made[2]
        return self._made_of(position, changes)

    def _made_of(self, position: int, changes: list[Change]) -> Deployment:
        release, time = self.timed[position]
        if position in self.baselines:
            return Deployment(release.tag.name, release.commit, time, Status.BASELINE)
        if self.touching is not None:
            changes = [change for change in changes if change.id in self.touching]
        return _deployment(release, time, changes)


class _GitWalks:
    """Under clock skew, git's walk (`rev-list TIP --not EARLIER...`) for each deployment in
    turn, followed where it may print more than plain reachability; the warnings it gave."""

    def __init__(self, graph: CommitGraph) -> None:
        self.by_git = RevListNot(graph)
        self.newest_skewed_parent = NO_DATE  # of the commits shipped so far
        self.warnings: list[str] = []

    def follow(
        self,
        start: int,
        found: int,
        skewed_parent: int,
        oldest: int,
        stopped_at: list[int],
        release: Release,
        *,
        is_baseline: bool,
    ) -> list[int] | None:
        """What git prints for the next deployment, at `start`, when that is more than the
        `found` commits plain reachability gives; else None. The other arguments are what
        `RevListNot.may_differ` asks of them."""
        self.newest_skewed_parent = max(self.newest_skewed_parent, skewed_parent)
        printed = None
        if not is_baseline and self.by_git.may_differ(
            self.newest_skewed_parent, oldest, stopped_at
        ):
            printed = self.by_git.run(start)
        self.by_git.add_negative(start)
        # git prints all that reachability gives, and under skew maybe more.
        if printed is None or not (again := len(printed) - found):
            return None
        commits = "1 commit" if again == 1 else f"{again} commits"
        self.warnings.append(
            f"clock skew: git counts {commits} in {release.tag.name} that an earlier deployment "
            "already reached; following git"
        )
        return list(printed)


def derive(
    timed: Sequence[tuple[Release, int]],
    graph: CommitGraph,
    options: DerivationOptions,
    *,
    earlier: int = 0,
    touching: frozenset[str] | None = None,
    exact_read: bool = False,
) -> Derivation:
    """Every deployment of `timed` (from `order_releases`), with the commits it shipped first.

    `graph` holds every commit reachable from these releases, or, when `earlier` deployments
    came before them, the commits reachable from them and from none of the earlier ones (git's
    `rev-list NEW --not EARLIER`). With `exact_read`, `timed` is one release and every commit
    read is what it shipped: git's own answer, which under clock skew no walk of ours can
    reproduce from a limited read. `touching`, when given, is the set of commits that may be
    changes (--path). Rules 3 to 8.
    """
    # Under clock skew git's walk can print commits an earlier deployment already reached;
    # rule 5 is git's answer, so then we walk as git does where its answer may differ.
    skewed = has_clock_skew(graph)
    # For each commit, the number of the deployment that shipped it first (from 1), or 0.
    shipped = array("q", bytes(8 * len(graph)))
    for position in graph.boundary():
        shipped[position] = -1  # reached by an earlier deployment outside this read
    walks = _GitWalks(graph) if skewed and not earlier else None
    deployments: list[Deployment] = []
    for position, (release, time) in enumerate(timed, start=earlier):
        start = graph.index.get(release.commit)
        is_baseline = _is_baseline(position, time, options)
        if exact_read:
            new_commits = [c for c, was_read in enumerate(graph.read) if was_read]
        elif start is None:  # outside a limited read: an earlier deployment shipped it
            new_commits = []
        else:
            new_commits, skewed_parent, oldest, stopped_at = _ship(
                graph, start, shipped, position + 1
            )
            if walks is not None:
                printed = walks.follow(
                    start,
                    len(new_commits),
                    skewed_parent,
                    oldest,
                    stopped_at,
                    release,
                    is_baseline=is_baseline,
                )
                if printed is not None:
                    new_commits = printed
        if is_baseline:
            deployments.append(Deployment(release.tag.name, release.commit, time, Status.BASELINE))
            continue
        if touching is not None:
            new_commits = [c for c in new_commits if graph.ids[c] in touching]
        deployments.append(_deployment(release, time, _changes(graph, new_commits, options)))
    warnings = walks.warnings if walks is not None else ()
    return Derivation(tuple(deployments), tuple(warnings), skewed)


def _changes(graph: CommitGraph, commits: list[int], options: DerivationOptions) -> list[Change]:
    if options.no_merges:
        commits = [c for c in commits if len(graph.parents[c]) <= 1]
    times = graph.author_time if options.change_time is ChangeTime.AUTHOR else graph.commit_time
    ids = graph.ids
    new = tuple.__new__  # NamedTuple's own constructor is a Python call, per commit
    return [new(Change, (times[c], ids[c])) for c in commits]


def _is_baseline(position: int, time: int, options: DerivationOptions) -> bool:
    # Rule 6: the first deployment, and those before --since, bound later ones; none is sent.
    return (position == 0 and not options.include_first) or (
        options.since is not None and time < options.since
    )


def _deployment(release: Release, time: int, changes: list[Change]) -> Deployment:
    changes.sort()  # by time, then id
    status = Status.SEND if changes else Status.EMPTY
    return Deployment(release.tag.name, release.commit, time, status, tuple(changes))


def _ship(
    graph: CommitGraph, start: int, shipped: array[int], deployment: int
) -> tuple[list[int], int, int, list[int]]:
    """Rule 5: commits reachable from `start` that no earlier deployment reached; marks them
    as shipped by `deployment`.

    `shipped` is closed under ancestry (every earlier walk marked whole histories), so the walk
    stops at the first shipped commit on each path: each commit is visited once over all walks.
    Also what `RevListNot.may_differ` asks: the newest date of a parent dated after its child
    among the commits marked, the oldest date among them and `start`, and the shipped commits
    where the walk stopped (`start` itself, when shipped).
    """
    dates = graph.commit_time
    parents = graph.parents
    oldest = dates[start]
    skewed_parent = NO_DATE
    stopped_at: list[int] = []
    if shipped[start]:
        return [], skewed_parent, oldest, [start]
    shipped[start] = deployment
    found = [start]
    stack = [start]
    while stack:
        commit = stack.pop()
        date = dates[commit]
        if date < oldest:
            oldest = date
        for parent in parents[commit]:
            if dates[parent] > date and dates[parent] > skewed_parent:
                skewed_parent = dates[parent]
            if not shipped[parent]:
                shipped[parent] = deployment
                found.append(parent)
                stack.append(parent)
            elif shipped[parent] != deployment:
                stopped_at.append(parent)
    return found, skewed_parent, oldest, stopped_at
