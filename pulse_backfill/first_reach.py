"""Which deployment reaches each commit first, in one pass over git's log as it streams.

git lists a history newest first by committer date; without clock skew every commit comes after
all of its children. The first deployment (in deployment order) to reach a commit is then the
earliest of its own tag and its children's first deployments, all known when its line arrives:
one pass, and the only commits held are those a child named but git has not listed yet.

When the order shows that a commit came before one of its children (a date later than the one
before it, or a parent listed before a child, as equal dates can do), git's walk for a deployment
may print more than plain reachability (see gitwalk), and the caller needs the whole graph to
check. The rest of the log then goes into a graph as it streams, and the pass goes on with it:
as long as each commit's first deployment is known when its line arrives (a parent listed before
a child is then one an earlier deployment reached anyway), it finds what plain reachability gives
each deployment, and what that check asks, while git still streams.

Either way, it counts for each tip the commits named so far that it reaches first and git has
yet to list. Once a tip's own line is read and its count is 0, no line to come can add to its
changes: the caller is told, and can build on them while git still streams.
Pure: it reads lines of `LOG_FORMAT`, wherever they come from.
"""

from __future__ import annotations

import itertools
from array import array
from collections.abc import Callable, Container, Iterable, Iterator, Sequence
from dataclasses import dataclass

from pulse_backfill.gitwalk import NO_DATE
from pulse_backfill.history import Change, CommitGraph

_LATEST = 2**63 - 1  # after any commit

# Each line: commit, author date, committer date, parents (the last field may be empty).
LOG_FORMAT = "%H %at %ct %P"

# Told a tip's position and its changes, once they are final.
OnFinal = Callable[[int, list[Change]], object]


def first_reach(
    log: Iterable[bytes],
    tips: Sequence[bytes],
    *,
    change_time: int = 1,
    merges: bool = True,
    on_final: OnFinal | None = None,
    unwanted: Container[int] = frozenset(),
) -> list[list[Change]] | GraphReach:
    """Split `log` (git's date-ordered `LOG_FORMAT` lines of everything `tips` reach) by the
    first of `tips`, in order, to reach each commit: for each tip, the changes it reaches
    first, in git's order. When git's order shows clock skew, the graph of the whole log too.

    A change's time is the line's field `change_time` (1: author date, 2: committer date);
    without `merges`, merge commits bound deployments but are not changes.

    `on_final(position, changes)` is told, while git still streams, as soon as no line to come
    can add to a tip's changes. They are final if the result holds that very list for the tip
    (with as many changes); a pass that gives way to another makes new lists. Under clock
    skew, the changes of `unwanted` tips (--since's baselines) are never made.
    """
    stream = iter(log)  # read on into the graph where the one pass stops
    first_tip: dict[bytes, int] = {}
    for position, tip in enumerate(tips):
        first_tip.setdefault(tip, position)
    shipped: list[list[Change]] = [[] for _ in tips]
    lines: list[bytes] = []
    # The first deployment of each commit listed as a parent but not read yet.
    pending: dict[bytes, int] = {}
    unreached = len(tips)  # a position after every deployment's
    # Per tip: how many of the pending commits it reaches first. Once its own line is read, a
    # tip whose count is 0 gets no more changes.
    waiting = [0] * len(tips)
    final = on_final or _told_no_one
    newest = None
    in_order = True
    # The loop runs once per commit while git streams: names bound locally, and changes built
    # as plain tuples (NamedTuple's own constructor is a Python call).
    keep = lines.append
    pop = pending.pop
    get = pending.get
    tip_of = first_tip.get
    new = tuple.__new__
    for line in stream:
        keep(line)
        fields = line.split()
        commit, date = fields[0], fields[2]
        if newest is not None and date != newest and int(date) > int(newest):
            in_order = False  # a commit dated after one listed before it: clock skew
            break
        newest = date
        by_children = pop(commit, unreached)
        own = tip_of(commit, unreached)
        first = own if own < by_children else by_children
        if first == unreached:
            in_order = False  # listed before the child that names it
            break
        if by_children != unreached:
            waiting[by_children] -= 1
            if by_children != first and not waiting[by_children]:
                final(by_children, shipped[by_children])
        for parent in fields[3:]:
            earlier = get(parent, unreached)
            if first < earlier:
                pending[parent] = first
                waiting[first] += 1
                if earlier != unreached:
                    waiting[earlier] -= 1
                    if not waiting[earlier]:
                        final(earlier, shipped[earlier])
        if merges or len(fields) < 5:
            shipped[first].append(new(Change, (int(fields[change_time]), commit.decode())))
        if not waiting[first]:
            final(first, shipped[first])
    # A parent still pending was listed before a child named it.
    if in_order and not pending:
        return shipped
    shipped.clear()  # let these go before the graph grows
    # Built while git still streams the rest, this costs little more than reading it.
    return _graph_reach(
        itertools.chain(_letting_go(lines), stream),
        tips,
        _Finals(change_time, merges, final, unwanted, len(tips)),
    )


def _told_no_one(position: int, changes: list[Change]) -> None:
    pass


@dataclass
class ReachFacts:
    """For each tip, in order: what plain reachability ships, and what `RevListNot.may_differ`
    asks of it."""

    shipped: list[list[int]]  # the commits it reaches first, in git's order
    stops: list[list[int]]  # where its reach stops: commits an earlier tip reached first
    oldest: array[int]  # the oldest committer date among the commits it reaches first
    # The newest date of a parent dated after its child, over those commits (or over a later
    # tip's: what may_differ asks is a running maximum, and a larger one only costs a walk).
    skewed_parent: array[int]
    skewed: bool  # whether any commit is dated before one of its parents
    # The changes of each tip the pass found final while git streamed; None for the others.
    changes: list[list[Change] | None]


@dataclass
class GraphReach:
    """The graph of the whole log; and what plain reachability gives each tip, when git's order
    let the pass find it (a commit's first tip known when its line arrived)."""

    graph: CommitGraph
    facts: ReachFacts | None


class _Finals:
    """The graph pass's tips found final: their changes made, and told."""

    def __init__(
        self, change_time: int, merges: bool, told: OnFinal, unwanted: Container[int], count: int
    ) -> None:
        self.change_time = change_time
        self.merges = merges
        self.told = told
        self.unwanted = unwanted
        self.changes: list[list[Change] | None] = [None] * count

    def make(self, graph: CommitGraph, position: int, commits: list[int]) -> None:
        if position in self.unwanted:
            return
        times = graph.author_time if self.change_time == 1 else graph.commit_time
        ids, parents, new = graph.ids, graph.parents, tuple.__new__
        if not self.merges:
            commits = [commit for commit in commits if len(parents[commit]) <= 1]
        changes = self.changes[position] = [new(Change, (times[c], ids[c])) for c in commits]
        self.told(position, changes)


def _graph_reach(log: Iterable[bytes], tips: Sequence[bytes], finals: _Finals) -> GraphReach:
    """The graph of `log`, and, as it is built, each commit's first tip and what it tells."""
    graph = CommitGraph()
    ids, index, parents_of = graph.ids, graph.index, graph.parents
    author_times, commit_times, read = graph.author_time, graph.commit_time, graph.read
    tip_of: dict[str, int] = {}
    for number, tip_id in enumerate(tips):
        tip_of.setdefault(tip_id.decode(), number)
    unreached = len(tips)  # a position after every tip's
    # Per commit: its first tip once read; until then, the first tip of its children so far,
    # and the oldest date among them.
    first = array("q")
    child_date = array("q")
    # A commit has a slot once it is a tip or a child named it: one without, when its line
    # comes, has no first tip yet.
    for name in tip_of:
        graph.slot(name)
        first.append(unreached)
        child_date.append(_LATEST)
    forks: dict[int, set[int]] = {}  # unread commits whose children have different first tips
    shipped: list[list[int]] = [[] for _ in tips]
    stops: list[list[int]] = [[] for _ in tips]
    oldest = array("q", [_LATEST]) * len(tips)
    skewed_parent = array("q", [NO_DATE]) * len(tips)
    # Per tip: how many unread commits it reaches first so far (see first_reach).
    waiting = [0] * len(tips)
    make = finals.make
    skewed = False
    in_order = True
    capacity = len(ids)  # slots made in each per-commit container, from the first unused
    unread: list[bytes] = []  # what the graph still has to take when the pass stops
    stream = iter(log)
    # Once per commit while git streams: helpers inlined, names bound locally.
    for line in stream:
        commit_id, author_time, commit_time, *parent_ids = line.decode().split()
        position = index.get(commit_id)
        if position is None:  # listed before every child that reaches it
            in_order = False
            unread.append(line)
            break
        date = int(commit_time)
        by_children = first[position]
        tip = tip_of.get(commit_id, unreached)
        reached = tip if tip < by_children else by_children
        if by_children != unreached:
            waiting[by_children] -= 1
            if by_children != reached and not waiting[by_children]:
                make(graph, by_children, shipped[by_children])
            # Children whose tip came after this commit's own stop their reach here.
            if position in forks:
                for later in forks.pop(position):
                    if later > reached:
                        stops[later].append(position)
            elif by_children > reached:
                stops[by_children].append(position)
            if date > child_date[position]:
                skewed = True
                if date > skewed_parent[by_children]:
                    skewed_parent[by_children] = date
        first[position] = reached
        if date < oldest[reached]:
            oldest[reached] = date
        shipped[reached].append(position)
        parent_positions = []
        for parent_id in parent_ids:
            parent = index.get(parent_id)
            if parent is None:
                parent = len(ids)
                index[parent_id] = parent
                ids.append(parent_id)
                if parent == capacity:
                    capacity = _grow(graph, first, child_date)
                first[parent] = reached
                child_date[parent] = date
                waiting[reached] += 1
            elif read[parent]:  # listed before this child
                if reached < first[parent]:
                    in_order = False  # its first tip was not known when it was listed
                elif first[parent] < reached:
                    stops[reached].append(parent)
                if commit_times[parent] > date:
                    skewed = True
                    if commit_times[parent] > skewed_parent[reached]:
                        skewed_parent[reached] = commit_times[parent]
            else:
                earlier = first[parent]
                if earlier != reached:
                    if earlier != unreached:
                        forks.setdefault(parent, {earlier}).add(reached)
                    if reached < earlier:
                        first[parent] = reached
                        waiting[reached] += 1
                        if earlier != unreached:
                            waiting[earlier] -= 1
                            if not waiting[earlier]:
                                make(graph, earlier, shipped[earlier])
                if date < child_date[parent]:
                    child_date[parent] = date
            parent_positions.append(parent)
        parents_of[position] = tuple(parent_positions)
        author_times[position] = int(author_time)
        commit_times[position] = date
        read[position] = 1
        if not waiting[reached]:
            make(graph, reached, shipped[reached])
        if not in_order:
            break
    _trim(graph)
    if not in_order:
        shipped.clear()  # let these go before the graph grows
        graph.add_log(itertools.chain(unread, stream))
        return GraphReach(graph, None)
    facts = ReachFacts(shipped, stops, oldest, skewed_parent, skewed, finals.changes)
    return GraphReach(graph, facts)


# Slots are made this many at a time: appending to each per-commit container for every new
# commit costs a tenth of the pass.
_CHUNK = 4096


def _grow(graph: CommitGraph, first: array[int], child_date: array[int]) -> int:
    """Room for `_CHUNK` more commits in the graph's containers and the pass's; the new count."""
    zeros = array("q", bytes(8 * _CHUNK))
    graph.parents.extend([()] * _CHUNK)
    graph.author_time.extend(zeros)
    graph.commit_time.extend(zeros)
    graph.read.extend(bytes(_CHUNK))
    first.extend(zeros)
    child_date.extend(zeros)
    return len(graph.parents)


def _trim(graph: CommitGraph) -> None:
    """Let go of the room `_grow` made past the last commit."""
    count = len(graph.ids)
    del graph.parents[count:], graph.author_time[count:], graph.commit_time[count:]
    del graph.read[count:]


def _letting_go(lines: list[bytes]) -> Iterator[bytes]:
    """Each line, let go of once read: the log and the graph built of it are never both whole."""
    for index, line in enumerate(lines):
        lines[index] = b""
        yield line
