"""The one-pass split of git's log by first deployment, against plain reachability."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from hypothesis import given
from hypothesis import strategies as st

from pulse_backfill.first_reach import GraphReach, first_reach
from pulse_backfill.history import Change


def log_line(commit: int, date: int, parents: tuple[int, ...]) -> bytes:
    names = " ".join(f"c{p}" for p in parents)
    return f"c{commit} {date} {date} {names}\n".encode()


def reachable(start: int, parents: list[tuple[int, ...]]) -> set[int]:
    seen = {start}
    stack = [start]
    while stack:
        for parent in parents[stack.pop()]:
            if parent not in seen:
                seen.add(parent)
                stack.append(parent)
    return seen


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[tuple[int, ...]], list[int]]:
    """Commits 0..n-1, each with earlier parents (so each dated after them), and tips."""
    count = draw(st.integers(1, 40))
    parents: list[tuple[int, ...]] = [()]
    for commit in range(1, count):
        parents.append(tuple(draw(st.sets(st.integers(0, commit - 1), max_size=3))))
    tips = draw(st.lists(st.integers(0, count - 1), min_size=1, max_size=8))
    return parents, tips


@given(histories())
def test_split_by_first_deployment_without_skew(
    history: tuple[list[tuple[int, ...]], list[int]],
) -> None:
    parents, tips = history
    # git's order without skew or equal dates: everything the tips reach, newest first.
    everything = set().union(*(reachable(tip, parents) for tip in tips))
    log = [log_line(c, 1000 + c, parents[c]) for c in sorted(everything, reverse=True)]

    told = Told()
    reach = first_reach(log, [f"c{tip}".encode() for tip in tips], on_final=told)

    assert isinstance(reach, list)
    claimed: set[int] = set()
    for position, tip in enumerate(tips):
        expected = reachable(tip, parents) - claimed
        claimed |= expected
        got = {int(change.id[1:]) for change in reach[position]}
        assert got == expected  # each commit in exactly one deployment, the first to reach it
    # Without skew, every tip that ships a change is told so, once, while the log streams.
    assert sorted(told.changes) == [position for position, found in enumerate(reach) if found]
    told.assert_final(reach)


class Told:
    """What `first_reach` tells final, as it was then."""

    def __init__(self) -> None:
        self.changes: dict[int, tuple[list[Change], list[Change]]] = {}

    def __call__(self, position: int, changes: list[Change]) -> None:
        assert position not in self.changes or self.changes[position][0] is not changes
        self.changes[position] = (changes, list(changes))

    def assert_final(self, found: Sequence[list[Change] | None]) -> None:
        """Each list told that the result holds is as it was when told."""
        for position, (changes, then) in self.changes.items():
            if found[position] is changes:
                assert changes == then


def test_each_tip_is_told_final_as_soon_as_no_line_can_add_to_it() -> None:
    # c3 (the later tip) ships c3 and c2: final once c1 shows the earlier tip reaches it.
    log = [log_line(3, 40, (2,)), log_line(2, 30, (1,)), log_line(1, 20, (0,)), log_line(0, 10, ())]
    read: list[int] = []

    def counted() -> Iterator[bytes]:
        for number, line in enumerate(log, start=1):
            read.append(number)
            yield line

    told: list[tuple[int, list[str], int]] = []
    reach = first_reach(
        counted(),
        [b"c1", b"c3"],
        on_final=lambda position, changes: told.append(
            (position, [change.id for change in changes], read[-1])
        ),
    )

    assert reach == [[(20, "c1"), (10, "c0")], [(40, "c3"), (30, "c2")]]
    assert told == [(1, ["c3", "c2"], 3), (0, ["c1", "c0"], 4)]


def test_a_date_later_than_the_one_before_means_skew() -> None:
    # A parent dated after its child, then the rest of the log.
    log = [
        log_line(3, 100, (2,)),
        log_line(2, 50, (1,)),
        log_line(1, 200, (0,)),
        log_line(0, 10, ()),
    ]

    reach = first_reach(log, [b"c3"])

    assert isinstance(reach, GraphReach)
    graph = reach.graph  # all of it, read on past the skew
    assert graph.ids == ["c3", "c2", "c1", "c0"]
    assert [graph.ids[p] for p in graph.parents[1]] == ["c1"]
    assert list(graph.read) == [1, 1, 1, 1]
    assert reach.facts is not None
    assert reach.facts.skewed
    assert reach.facts.shipped == [[0, 1, 2, 3]]
    assert list(reach.facts.skewed_parent) == [200]


def test_a_parent_listed_before_its_child_that_an_earlier_tip_reached() -> None:
    # Equal dates: git may list a parent before a child it reaches by another path.
    log = [log_line(3, 100, (1,)), log_line(1, 100, ()), log_line(2, 100, (1,))]

    reach = first_reach(log, [b"c3", b"c2"])

    assert isinstance(reach, GraphReach)
    assert reach.facts is not None
    assert not reach.facts.skewed  # no commit is dated before a parent
    ids = reach.graph.ids
    assert [[ids[c] for c in shipped] for shipped in reach.facts.shipped] == [["c3", "c1"], ["c2"]]
    assert [[ids[c] for c in stops] for stops in reach.facts.stops] == [[], ["c1"]]


def test_a_commit_listed_before_the_first_tip_to_reach_it_leaves_the_graph_alone() -> None:
    # c1 comes before c2, which reaches it from the first tip: its first tip is not known yet.
    log = [log_line(3, 100, (1,)), log_line(1, 100, ()), log_line(2, 100, (1,))]

    reach = first_reach(log, [b"c2", b"c3"])

    assert isinstance(reach, GraphReach)
    assert reach.facts is None
    assert sorted(reach.graph.ids) == ["c1", "c2", "c3"]  # every line, read on
    assert list(reach.graph.read) == [1, 1, 1]


def test_a_second_tag_on_a_shipped_commit_ships_nothing() -> None:
    log = [log_line(2, 200, (1,)), log_line(1, 100, ())]

    reach = first_reach(log, [b"c1", b"c2", b"c1"])

    assert reach == [[(100, "c1")], [(200, "c2")], []]
