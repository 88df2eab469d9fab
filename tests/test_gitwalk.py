"""The derivation under clock skew against the model of git's walk, on any graph (no git here).

Under clock skew the derivation walks as git does only where git's answer may differ from
plain reachability (`RevListNot.may_differ`); everywhere it must equal the walk itself. From
git's log as it streams, what the pass finds must give the same answer as the graph.
"""

from __future__ import annotations

import heapq
import itertools
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from pulse_backfill.derive import Deployment, DerivationOptions, Release, Status, derive, derive_log
from pulse_backfill.first_reach import GraphReach, first_reach
from pulse_backfill.gitwalk import RevListNot
from pulse_backfill.history import CommitGraph, TagRef
from tests.test_first_reach import Told


@st.composite
def skewed_graphs(draw: st.DrawFn) -> tuple[CommitGraph, list[int]]:
    """Mostly a line with branches and merges, dated mostly in order, some commits far off."""
    # Drawn from a seeded generator: git's walk differs from reachability only on long enough
    # runs of commits, which hypothesis's own draws (shrinking towards small values) rarely make.
    rng = random.Random(draw(st.integers(0, 2**32)))
    count = rng.randint(10, 80)
    graph = CommitGraph()
    date = 0
    for commit in range(count):
        parents: list[int] = []
        if commit:
            parents.append(
                max(0, commit - 1 - rng.randint(0, 3)) if rng.random() < 0.3 else commit - 1
            )
            if rng.random() < 0.2:
                parents.append(rng.randint(0, commit - 1))
        date += rng.randint(0, 3)
        committed = date - rng.randint(1, 40) if rng.random() < 0.15 else date
        graph.add(f"c{commit}", [f"c{p}" for p in dict.fromkeys(parents)], committed, committed)
    tips = [rng.randrange(count) for _ in range(rng.randint(2, 12))]
    return graph, tips


@settings(deadline=None)
@given(skewed_graphs())
def test_each_deployment_ships_what_the_walk_of_git_prints(
    history: tuple[CommitGraph, list[int]],
) -> None:
    graph, tips = history
    ids = graph.ids
    timed = [
        (Release(TagRef(f"v{n}.0.0", ids[tip], "commit", None, 0), ids[tip], None), n)
        for n, tip in enumerate(tips)
    ]

    derivation = derive(timed, graph, DerivationOptions(include_first=True))

    walk = RevListNot(graph)
    for tip, deployment in zip(tips, derivation.deployments, strict=True):
        printed = walk.run(graph.index[ids[tip]])
        walk.add_negative(graph.index[ids[tip]])
        assert {change.id for change in deployment.changes} == {ids[c] for c in printed}


def git_log(graph: CommitGraph, tips: list[int]) -> list[bytes]:
    """`git rev-list --format='%H %at %ct %P' TIPS`: what the tips reach, newest first by
    committer date, ties in the order git queued them (the tips first, in order)."""
    order = itertools.count()
    queue = [(-graph.commit_time[tip], next(order), tip) for tip in dict.fromkeys(tips)]
    heapq.heapify(queue)
    queued = set(tips)
    lines = []
    while queue:
        _, _, commit = heapq.heappop(queue)
        parents = graph.parents[commit]
        names = " ".join(graph.ids[parent] for parent in parents)
        date = graph.commit_time[commit]
        lines.append(f"{graph.ids[commit]} {graph.author_time[commit]} {date} {names}\n".encode())
        for parent in parents:
            if parent not in queued:
                queued.add(parent)
                heapq.heappush(queue, (-graph.commit_time[parent], next(order), parent))
    return lines


def releases(graph: CommitGraph, tips: list[int]) -> list[tuple[Release, int]]:
    ids = graph.ids
    return [
        (Release(TagRef(f"v{n}.0.0", ids[tip], "commit", None, 0), ids[tip], None), n)
        for n, tip in enumerate(tips)
    ]


@settings(deadline=None)
@given(skewed_graphs(), st.booleans())
def test_from_git_log_as_it_streams_as_from_the_graph(
    history: tuple[CommitGraph, list[int]], no_merges: bool
) -> None:
    graph, tips = history
    timed = releases(graph, tips)
    log = git_log(graph, tips)
    options = DerivationOptions(include_first=True, no_merges=no_merges)
    shown: list[Deployment] = []

    streamed = derive_log(timed, log, options, on_deployment=shown.append)

    assert streamed == derive(timed, CommitGraph.from_log(log), options)
    # Shown while git streamed: deployments to send, each of them as the pass then found it.
    assert all(deployment.status is Status.SEND for deployment in shown)


@settings(deadline=None)
@given(skewed_graphs(), st.booleans(), st.randoms(use_true_random=False))
def test_what_the_pass_tells_final_is_final(
    history: tuple[CommitGraph, list[int]], shuffled: bool, rng: random.Random
) -> None:
    graph, tips = history
    log = git_log(graph, tips)
    if shuffled:
        i, j = rng.randrange(len(log)), rng.randrange(len(log))
        log[i], log[j] = log[j], log[i]
    told = Told()

    reach = first_reach(log, [graph.ids[tip].encode() for tip in tips], on_final=told)

    if isinstance(reach, list):
        told.assert_final(reach)
        return
    if reach.facts is None:  # the pass gave way to the graph: nothing it told stands
        return
    facts, ids = reach.facts, reach.graph.ids
    told.assert_final(facts.changes)
    for commits, changes in zip(facts.shipped, facts.changes, strict=True):
        if changes is not None:  # what reachability gives, as changes
            assert [change.id for change in changes] == [ids[c] for c in commits]


@settings(deadline=None)
@given(skewed_graphs(), st.randoms(use_true_random=False))
def test_from_a_log_in_any_order_as_from_the_graph(
    history: tuple[CommitGraph, list[int]], rng: random.Random
) -> None:
    # Lines out of git's order: a parent before its child, a commit before all that reach it.
    graph, tips = history
    timed = releases(graph, tips)
    log = git_log(graph, tips)
    for _ in range(rng.randint(1, 5)):
        i, j = rng.randrange(len(log)), rng.randrange(len(log))
        log[i], log[j] = log[j], log[i]
    options = DerivationOptions(include_first=True)

    assert derive_log(timed, log, options) == derive(timed, CommitGraph.from_log(log), options)


def test_under_skew_the_pass_finds_each_deployment_while_git_streams() -> None:
    # c2 is dated before its parent c1, which git lists first (a tip, and newer): the pass
    # still knows each commit's first deployment when its line arrives.
    graph = CommitGraph()
    for commit, parents, date in [(0, [], 10), (1, [0], 50), (2, [1], 40), (3, [2], 60)]:
        graph.add(f"c{commit}", [f"c{p}" for p in parents], date, date)

    reach = first_reach(git_log(graph, [1, 3]), [b"c1", b"c3"])

    assert isinstance(reach, GraphReach)
    assert reach.facts is not None
    assert reach.facts.skewed
    assert [[reach.graph.ids[c] for c in s] for s in reach.facts.shipped] == [
        ["c1", "c0"],
        ["c3", "c2"],
    ]
    assert reach.facts.stops == [[], [reach.graph.index["c1"]]]
