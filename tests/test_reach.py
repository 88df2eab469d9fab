"""The one pass (`reach`) on graphs of any shape, its lines in any order: no git here.

Whatever order the lines come in (git's date order, a shuffle, dates that lie), each commit goes
to the first deployment that reaches it, as the plain model says.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from pulse_backfill.derive.reach import Reach
from tests.reachability import first_reach


def line(commit: str, time: int, *parents: str) -> bytes:
    return " ".join([commit, str(time), *parents]).encode()


def split(reach: Reach) -> list[set[str]]:
    return [{reach.ids[slot] for slot in slots} for slots in reach.shipped]


def run(lines: Sequence[bytes], tips: Sequence[str], **kwargs: object) -> Reach:
    return Reach(tips, **kwargs).run(lines)  # type: ignore[arg-type]


def test_a_line_of_commits_split_by_tags_in_gits_order() -> None:
    log = [line("c4", 40, "c3"), line("c3", 30, "c2"), line("c2", 20, "c1"), line("c1", 10)]
    reach = run(log, ["c1", "c3", "c4"])
    assert split(reach) == [{"c1"}, {"c2", "c3"}, {"c4"}]
    assert sorted(reach.changes[slot].time for slot in reach.shipped[1]) == [20, 30]


def test_a_commit_listed_before_its_child_goes_to_the_childs_deployment() -> None:
    # c2 is dated before its parent c1 (clock skew): git lists c1 first. c1 is then taken for
    # v2 (c3's), until c2 comes and shows that v1 reaches it.
    log = [line("c3", 50, "c1"), line("c1", 40, "c0"), line("c2", 10, "c1"), line("c0", 5)]
    reach = run(log, ["c2", "c3"])
    assert split(reach) == [{"c2", "c1", "c0"}, {"c3"}]


def test_a_second_deployment_of_a_shipped_commit_ships_nothing() -> None:
    reach = run([line("c2", 20, "c1"), line("c1", 10)], ["c1", "c2", "c1"])
    assert split(reach) == [{"c1"}, {"c2"}, set()]


def test_commits_known_from_earlier_deployments_are_left_out() -> None:
    # A re-sync: c1 and c0 are reached by a deployment before these; git listed c1 anyway.
    log = [line("c3", 30, "c2"), line("c2", 20, "c1"), line("c1", 10, "c0")]
    reach = run(log, ["c3"], known=frozenset({"c1", "c0"}))
    assert split(reach) == [{"c3", "c2"}]
    assert reach.boundary() == ["c1"]
    assert sorted(reach.read_ids()) == ["c2", "c3"]


@st.composite
def graphs(draw: st.DrawFn) -> tuple[dict[str, list[str]], list[str], random.Random]:
    """A history of any shape: branches, merges (octopus too), roots; and tips in any order."""
    rng = random.Random(draw(st.integers(0, 2**32)))
    count = rng.randint(1, 60)
    parents: dict[str, list[str]] = {}
    for commit in range(count):
        chosen = []
        if commit and rng.random() > 0.05:
            chosen.append(commit - 1 if rng.random() < 0.7 else rng.randrange(commit))
            while rng.random() < 0.25:
                chosen.append(rng.randrange(commit))
        parents[f"c{commit}"] = [f"c{p}" for p in dict.fromkeys(chosen)]
    tips = [f"c{rng.randrange(count)}" for _ in range(rng.randint(1, 12))]
    return parents, tips, rng


def log_of(
    parents: dict[str, list[str]], tips: list[str], order: str, rng: random.Random
) -> list[bytes]:
    reachable = set().union(*first_reach(parents, tips))
    commits = [c for c in parents if c in reachable]
    if order == "children first":
        commits.reverse()
    elif order == "dates that lie":  # git's date order, under a clock that is often wrong
        dates = {c: n * 10 + (rng.randint(-400, 400) if rng.random() < 0.2 else 0) for n, c in
                 enumerate(parents)}  # fmt: skip
        commits.sort(key=lambda c: -dates[c])
    else:
        rng.shuffle(commits)
    return [line(c, int(c[1:]), *parents[c]) for c in commits]


@settings(deadline=None)
@given(graphs(), st.sampled_from(["children first", "dates that lie", "any order"]))
def test_in_any_order_each_commit_goes_to_the_first_deployment_to_reach_it(
    graph: tuple[dict[str, list[str]], list[str], random.Random], order: str
) -> None:
    parents, tips, rng = graph
    reach = run(log_of(parents, tips, order, rng), tips)

    assert split(reach) == first_reach(parents, tips)


@settings(deadline=None)
@given(graphs(), st.floats(0, 1))
def test_a_resync_leaves_out_exactly_what_earlier_deployments_reach(
    graph: tuple[dict[str, list[str]], list[str], random.Random], cut: float
) -> None:
    parents, tips, rng = graph
    known = max(1, round(cut * len(tips)))
    whole = first_reach(parents, tips)
    old = set().union(*whole[:known])
    # As git's `NEW --not KNOWN` lists it under skew: what is new, and some of the old.
    new_tips = tips[known:]
    listed = set().union(set(), *first_reach(parents, new_tips)) - {
        c for c in old if rng.random() < 0.5
    }
    log = [line(c, 0, *parents[c]) for c in parents if c in listed]
    rng.shuffle(log)

    reach = run(log, new_tips, known=frozenset(old))

    assert split(reach) == whole[known:]
    assert set(reach.boundary()) <= old
