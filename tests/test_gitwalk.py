"""The derivation under clock skew against the model of git's walk, on any graph (no git here).

Under clock skew the derivation walks as git does only where git's answer may differ from
plain reachability (`RevListNot.may_differ`); everywhere it must equal the walk itself.
"""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from pulse_backfill.derive import DerivationOptions, Release, derive
from pulse_backfill.gitwalk import RevListNot
from pulse_backfill.history import CommitGraph, TagRef


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
