"""Which deployment reaches each commit first, in one pass over git's log as it streams.

git lists a history newest first by committer date; without clock skew every commit comes after
all of its children. The first deployment (in deployment order) to reach a commit is then the
earliest of its own tag and its children's first deployments, all known when its line arrives:
one pass, and the only commits held are those a child named but git has not listed yet.

When the order shows that a commit came before one of its children (a date later than the one
before it, or a parent listed before a child, as equal dates can do), there is no one-pass
answer: the rest of the log goes into a graph as it streams, for the caller to derive from.
Pure: it reads lines of `LOG_FORMAT`, wherever they come from.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence

from pulse_backfill.history import Change, CommitGraph

# Each line: commit, author date, committer date, parents (the last field may be empty).
LOG_FORMAT = "%H %at %ct %P"


def first_reach(
    log: Iterable[bytes], tips: Sequence[bytes], *, change_time: int = 1, merges: bool = True
) -> list[list[Change]] | CommitGraph:
    """Split `log` (git's date-ordered `LOG_FORMAT` lines of everything `tips` reach) by the
    first of `tips`, in order, to reach each commit: for each tip, the changes it reaches
    first, in git's order. When git's order does not allow that, the graph of the whole log.

    A change's time is the line's field `change_time` (1: author date, 2: committer date);
    without `merges`, merge commits bound deployments but are not changes.
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
        first = min(pop(commit, unreached), tip_of(commit, unreached))
        if first == unreached:
            in_order = False  # listed before the child that names it
            break
        for parent in fields[3:]:
            if first < get(parent, unreached):
                pending[parent] = first
        if merges or len(fields) < 5:
            shipped[first].append(new(Change, (int(fields[change_time]), commit.decode())))
    # A parent still pending was listed before a child named it.
    if in_order and not pending:
        return shipped
    shipped.clear()  # let these go before the graph grows
    # Built while git still streams the rest, this costs little more than reading it.
    return CommitGraph.from_log(itertools.chain(_letting_go(lines), stream))


def _letting_go(lines: list[bytes]) -> Iterator[bytes]:
    """Each line, let go of once read: the log and the graph built of it are never both whole."""
    for index, line in enumerate(lines):
        lines[index] = b""
        yield line
