"""Which deployment reaches each commit first, in one pass over git's log as it streams.

git lists a history newest first by committer date; without clock skew every commit comes after
all of its children. The first deployment (in deployment order) to reach a commit is then the
earliest of its own tag and its children's first deployments, all known when its line arrives:
one pass, and the only commits held are those a child named but git has not listed yet.

When the order shows that a commit came before one of its children (a date later than the one
before it, or a parent listed before a child, as equal dates can do), the answer is None and
the caller derives from the whole graph.
Pure: it reads lines of `LOG_FORMAT`, wherever they come from.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pulse_backfill.history import Change

# Each line: commit, author date, committer date, parents (the last field may be empty).
LOG_FORMAT = "%H %at %ct %P"


@dataclass
class FirstReach:
    lines: list[bytes]  # every line read, in git's order
    # For each deployment, the changes it reaches first, in git's order; None when git's order
    # does not allow the one-pass answer.
    shipped: list[list[Change]] | None


def first_reach(
    log: Iterable[bytes], tips: Sequence[bytes], *, change_time: int = 1, merges: bool = True
) -> FirstReach:
    """Split `log` (git's date-ordered `LOG_FORMAT` lines of everything `tips` reach) by the
    first of `tips`, in order, to reach each commit.

    A change's time is the line's field `change_time` (1: author date, 2: committer date);
    without `merges`, merge commits bound deployments but are not changes.
    """
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
    for line in log:
        keep(line)
        if not in_order:
            continue
        fields = line.split()
        commit, date = fields[0], fields[2]
        if newest is not None and date != newest and int(date) > int(newest):
            in_order = False  # a commit dated after one listed before it: clock skew
            shipped.clear()  # the caller builds the graph: let these go now
            continue
        newest = date
        first = min(pop(commit, unreached), tip_of(commit, unreached))
        if first == unreached:
            in_order = False  # listed before the child that names it
            shipped.clear()
            continue
        for parent in fields[3:]:
            if first < get(parent, unreached):
                pending[parent] = first
        if merges or len(fields) < 5:
            shipped[first].append(new(Change, (int(fields[change_time]), commit.decode())))
    # A parent still pending was listed before a child named it.
    return FirstReach(lines, shipped if in_order and not pending else None)
