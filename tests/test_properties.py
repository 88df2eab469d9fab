"""Invariants that hold for any history, checked on generated repositories against a plain model.

Histories have long-lived branches merged now and then, new roots, files in a few folders, and,
in half of them, clock skew: runs of commits dated decades before their parents or after their
children, as a machine with a wrong clock makes them.
Each deployment must ship exactly what the reachability model (`tests.reachability`) gives it,
whatever the dates say.
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fixtures.fast_import import CommitSpec, TagSpec, build
from pulse_backfill.commands.sync import derive_repository
from pulse_backfill.derive.derivation import ChangeTime, Derivation, DerivationOptions, Status
from pulse_backfill.derive.releases import TagRules
from pulse_backfill.derive.semver import parse_version
from pulse_backfill.derive.sources import TagSource
from pulse_backfill.git.repository import Repository
from pulse_backfill.pulse.events import NdjsonLines, events_in_order
from tests.reachability import first_reach

BASE = 1_600_000_000
YEAR = 365 * 86_400
# Few distinct times, so that ties in deployment time (and their tie-breaks) are common.
times = st.integers(min_value=0, max_value=6).map(lambda t: BASE + t * 3600)
FILES = ("a/one", "a/two", "b/one", "c")
PATHS: tuple[tuple[str, ...], ...] = ((), ("a",), ("b", "c"))


@dataclass(frozen=True)
class History:
    commits: list[CommitSpec]
    tags: list[TagSpec]


@st.composite
def histories(draw: st.DrawFn, max_commits: int = 30) -> History:
    count = draw(st.integers(min_value=1, max_value=max_commits))
    skewed = draw(st.booleans())
    commits: list[CommitSpec] = []
    heads = [0]  # heads[0] is main; the others are long-lived branches
    offset = 0  # of the committer's clock
    for index in range(count):
        parents: tuple[int, ...] = ()
        if index:
            move = draw(st.integers(0, 19))
            if move == 0:  # now and then a new root, as an imported history has
                heads.append(index)
            elif move < 4:  # a new long-lived branch, from anywhere before
                parents = (draw(st.integers(0, index - 1)),)
                heads.append(index)
            elif move < 8 and len(heads) > 1:  # work on a branch
                branch = draw(st.integers(1, len(heads) - 1))
                parents = (heads[branch],)
                heads[branch] = index
            elif move < 11 and len(heads) > 1:  # a branch merged into another, and kept
                into = draw(st.sampled_from([0, 0, *range(len(heads))]))
                other = heads[draw(st.integers(0, len(heads) - 1))]
                parents = (heads[into], other) if other != heads[into] else (heads[into],)
                heads[into] = index
            else:
                parents = (heads[0],)
                heads[0] = index
        if skewed and draw(st.integers(0, 4)) == 0:
            # A bad clock, for a while: decades before the parents, or after the children.
            offset = draw(st.sampled_from([0, -49 * YEAR, -YEAR, -7200, YEAR, 79 * YEAR]))
        committed = BASE + index * 3600 + offset
        files = tuple(draw(st.lists(st.sampled_from(FILES), max_size=2, unique=True)))
        commits.append(CommitSpec(parents, draw(times), committed, files))
    names = draw(
        st.lists(
            st.builds(
                lambda v, major, minor, pre: f"{v}{major}.{minor}.0{pre}",
                st.sampled_from(["", "v"]),
                st.integers(0, 2),
                st.integers(0, 2),
                st.sampled_from(["", "", "-rc.1", "-beta"]),
            ),
            min_size=1,
            max_size=10,
            unique=True,
        )
    )
    tags = [
        TagSpec(name, draw(st.integers(0, count - 1)), draw(st.none() | times)) for name in names
    ]
    return History(commits, tags)


@st.composite
def trapped_histories(draw: st.DrawFn) -> History:
    """A random history with one of the shapes where git's answer for a range (`LATER --not
    EARLIER`) is not the whole history's, for a re-sync to meet."""
    prefix = draw(histories(max_commits=10))
    commits = list(prefix.commits)
    fork = draw(st.integers(0, len(commits) - 1))
    latest = BASE + (len(commits) + 10) * 3600
    if draw(st.booleans()):
        # An earlier release stands on a run of commits dated decades back, on top of history
        # that a later release reaches by recent commits. git's walk queues the old run last,
        # stops after a few (its "slop"), and lists again what the earlier release reached.
        start = BASE - 49 * YEAR
        for step in range(draw(st.integers(6, 9))):
            parent = fork if step == 0 else len(commits) - 1
            commits.append(CommitSpec((parent,), start + step, start + step))
        earlier = len(commits) - 1
        commits.append(CommitSpec((fork,), latest, latest))
        merge = CommitSpec((len(commits) - 1, earlier), latest + 60, latest + 60)
    else:
        # A release made on a commit after the fork; later, a side branch that changed a path
        # merged onto the fork itself, taking nothing of it there. git's history simplification
        # prunes the side branch; for the range, the fork is an uninteresting parent it does
        # not compare with, and the side branch shows.
        commits.append(CommitSpec((fork,), latest, latest, ("b/one",)))
        earlier = len(commits) - 1
        commits.append(CommitSpec((fork,), latest + 30, latest + 30, ("a/two", "c")))
        merge = CommitSpec((fork, len(commits) - 1), latest + 60, latest + 60)
    commits.append(merge)
    for step in range(draw(st.integers(0, 3))):
        commits.append(CommitSpec((len(commits) - 1,), latest + 120 + step, latest + 120 + step))
    tags = [
        *prefix.tags,
        TagSpec("v7.0.0", earlier, None),
        TagSpec("v8.0.0", len(commits) - 1, draw(st.none() | st.just(latest + 3600))),
    ]
    return History(commits, tags)


any_history = st.one_of(histories(), trapped_histories())


def touching(path: Path, commits: list[str], paths: tuple[str, ...]) -> set[str] | None:
    """The rule for --path: what `git log -- PATH` lists of the whole history."""
    if not paths or not commits:
        return None if not paths else set()
    return set(
        subprocess.run(
            ["git", "-C", str(path), "rev-list", *commits, "--", *paths],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
    )


def expected(
    history: History, ids: list[str], derivation: Derivation, options: DerivationOptions
) -> list[tuple[Status, list[tuple[int, str]]]]:
    """Each deployment's status and changes, by the rules and the model alone."""
    parents = {ids[n]: [ids[p] for p in c.parents] for n, c in enumerate(history.commits)}
    spec = {ids[n]: c for n, c in enumerate(history.commits)}
    commits = [d.commit for d in derivation.deployments]
    return [
        _expected(position, d.time, shipped, spec, options)
        for position, (d, shipped) in enumerate(
            zip(derivation.deployments, first_reach(parents, commits), strict=True)
        )
    ]


def _expected(
    position: int,
    time: int,
    shipped: set[str],
    spec: dict[str, CommitSpec],
    options: DerivationOptions,
) -> tuple[Status, list[tuple[int, str]]]:
    if (position == 0 and not options.include_first) or (
        options.since is not None and time < options.since
    ):
        return Status.BASELINE, []
    changes = sorted(
        (
            spec[c].author_time
            if options.change_time is ChangeTime.AUTHOR
            else spec[c].commit_time,
            c,
        )
        for c in shipped
        if not (options.no_merges and len(spec[c].parents) > 1)
    )
    return (Status.SEND if changes else Status.EMPTY), changes


@settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    history=any_history,
    include_first=st.booleans(),
    include_prereleases=st.booleans(),
    since=st.none() | times,
    no_merges=st.booleans(),
    change_time=st.sampled_from(ChangeTime),
    paths=st.sampled_from(PATHS),
)
def test_each_deployment_ships_what_reachability_gives_it(
    history: History,
    include_first: bool,
    include_prereleases: bool,
    since: int | None,
    no_merges: bool,
    change_time: ChangeTime,
    paths: tuple[str, ...],
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "repo.git"
        ids = build(path, history.commits, history.tags)
        options = DerivationOptions(
            include_first=include_first,
            since=since,
            no_merges=no_merges,
            change_time=change_time,
        )
        rules = TagRules(include_prereleases=include_prereleases)
        derived = derive_repository(Repository(path), TagSource(rules), options, paths=paths)
        derivation = derived.derivation
        deployments = derivation.deployments

        # Exactly the tags the rules name are deployments, in (time, precedence, name) order.
        expected_names = {
            t.name
            for t in history.tags
            if (v := parse_version(t.name)) is not None
            and (include_prereleases or not v.is_prerelease)
        }
        assert {d.id for d in deployments} == expected_names
        keys = []
        for d in deployments:
            version = parse_version(d.id)
            assert version is not None
            keys.append((d.time, version.precedence(), d.id))
        assert keys == sorted(keys)

        # Each ships what the model gives it, of the commits that change the paths.
        changing = touching(path, [d.commit for d in deployments], paths)
        for d, (status, changes) in zip(
            deployments, expected(history, ids, derivation, options), strict=True
        ):
            if changing is not None:
                changes = [change for change in changes if change[1] in changing]
                if status is Status.SEND and not changes:
                    status = Status.EMPTY
            assert (d.status, [(c.time, c.id) for c in d.changes]) == (status, changes), d.id

        # What the deployments reach is what the store is told they reach.
        parents = {ids[n]: [ids[p] for p in c.parents] for n, c in enumerate(history.commits)}
        reached = set().union(*first_reach(parents, [d.commit for d in deployments]))
        assert set(derived.reached) == reached

        # Every change in one sent deployment only; each deployment after all its changes.
        sent: set[str] = set()
        for event in events_in_order(derivation, system="s"):
            if event.kind == "change":
                assert event.identifier not in sent
                sent.add(event.identifier)
            else:
                assert event.requires
                assert set(event.requires) <= sent

        # A dry run's --output lines are the events', byte for byte (a system needing escapes).
        odd = 'api %s <&> "é" {x}'
        lines = NdjsonLines(system=odd, teams=["t"])
        assert b"".join(lines.in_order(derivation)) == b"".join(
            event.ndjson_line() for event in events_in_order(derivation, system=odd, teams=["t"])
        )
