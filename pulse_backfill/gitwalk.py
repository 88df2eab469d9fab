"""A model of git's limited revision walk: what `git rev-list POS --not NEG...` prints.

git walks commits newest first by committer date and stops once nothing interesting is left to
walk (after a few more steps, its "slop"). When a parent is dated after its child (clock skew),
it can stop before it learns that a commit is reachable from the negative side, and so prints
commits that plain reachability would not. Matching git means walking as it does; this module
follows revision.c (prepare_revision_walk, limit_list, process_parents, still_interesting,
mark_parents_uninteresting) step for step, for the deployments where `RevListNot.may_differ`
says skew can change git's answer. Pure: it reads a CommitGraph only.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
from collections.abc import Sequence

from pulse_backfill.history import CommitGraph

_UNINTERESTING = 1
# Queued, now or before. git parses exactly the commits it queues (starting commits, and the
# parents of each commit it walks), and knows only their parents: marks spread through these.
_SEEN = 2
_SLOP = 5  # revision.c: how many uninteresting commits git walks past the last interesting date

NO_DATE = -(2**63)  # before any commit


def has_clock_skew(graph: CommitGraph) -> bool:
    """Whether any commit is dated (committer date) before one of its parents."""
    dates = graph.commit_time
    return any(
        dates[parent] > dates[child]
        for child, parents in enumerate(graph.parents)
        for parent in parents
    )


class RevListNot:
    """`git rev-list TIP --not EARLIER...` for each deployment's tip in turn, as graph positions.

    Each walk starts from the same negatives as the one before plus one, so what git's start
    (prepare_revision_walk) makes of the negatives is kept and grown, not redone per walk: with a
    thousand deployments that start is most of the work.
    """

    def __init__(self, graph: CommitGraph) -> None:
        self.parents = graph.parents
        self.dates = graph.commit_time
        self.negatives: set[int] = set()
        # Flags the start gives: each negative is uninteresting and queued, and so, marked
        # from it, is each of its parents (spreading no further: a negative's parent is parsed
        # only when it is itself a starting commit, and negatives are already marked).
        self.start_flags: dict[int, int] = {}
        # The queue git starts with: negatives by date, newest first, ties in command-line
        # order. A sorted list is a heap.
        self.start_queue: list[tuple[int, int, int]] = []

    def add_negative(self, commit: int) -> None:
        """Put `commit` after the negatives already given, as on git's command line."""
        if commit in self.negatives:
            return  # git queues a commit once, at its first place on the command line
        self.negatives.add(commit)
        flags = self.start_flags
        flags[commit] = _UNINTERESTING | _SEEN
        for parent in self.parents[commit]:
            flags[parent] = flags.get(parent, 0) | _UNINTERESTING
        entry = (-self.dates[commit], len(self.negatives), commit)
        bisect.insort(self.start_queue, entry)

    def may_differ(self, newest_skewed_parent: int, oldest: int, stopped_at: list[int]) -> bool:
        """Whether git's walk for the next deployment may print more than plain reachability.

        Plain reachability ships the deployment's commit and the commits it reaches first,
        the oldest of them dated `oldest`, and stops at `stopped_at`, which earlier deployments
        shipped. `newest_skewed_parent` is the newest date of a parent dated after its child,
        over every commit shipped so far (all the walk can reach).

        git queues as interesting only the deployment's commit and parents of commits it walked
        as interesting. When each of `stopped_at` is uninteresting from the start (a negative,
        or a negative's parent), the only commits walked as interesting are those shipped first,
        and git prints them, whatever the dates.

        Else let `floor` be the oldest of `oldest` and the dates of the others. When
        `newest_skewed_parent` is older than `floor`, no commit the walk can reach has a parent
        dated after it and from `floor` on, so:
        - git pops every commit dated from `floor` on first, newest first, before any older;
        - every path from a negative down to such a commit runs through commits no older than
          it, all popped before the walk can stop, so each such commit reachable from a
          negative is marked uninteresting by then, and so is each parent queued from it;
        - what else is queued interesting is a parent of a commit shipped first: one of those,
          or one of `stopped_at`, dated from `floor` on or never interesting.
        No interesting commit is left for older dates, and git prints plain reachability.
        """
        uncertain = [self.dates[c] for c in stopped_at if c not in self.start_flags]
        return bool(uncertain) and newest_skewed_parent >= min(oldest, *uncertain)

    def run(self, positive: int) -> set[int]:
        """What `git rev-list POSITIVE --not <the negatives>` prints."""
        if positive in self.start_flags:
            # A negative, or marked from one: nothing interesting is ever queued.
            return set()
        if not self.negatives:
            return self._reachable(positive)  # git's walk is not limited: all of it
        flags = self.start_flags.copy()
        flags[positive] = _SEEN
        queue = self.start_queue.copy()
        # The positive comes first on the command line: first among commits of its date.
        heapq.heappush(queue, (-self.dates[positive], 0, positive))
        return _limit_list(
            self.parents,
            self.dates,
            flags,
            queue,
            {positive},
            itertools.count(len(self.negatives) + 1),
        )

    def _reachable(self, start: int) -> set[int]:
        seen = {start}
        stack = [start]
        while stack:
            for parent in self.parents[stack.pop()]:
                if parent not in seen:
                    seen.add(parent)
                    stack.append(parent)
        return seen


def _limit_list(
    parents: list[tuple[int, ...]],
    dates: Sequence[int],
    flags: dict[int, int],
    queue: list[tuple[int, int, int]],
    queued_interesting: set[int],
    order: itertools.count[int],
) -> set[int]:
    """revision.c's limit_list from a prepared start: what the walk prints."""
    # Runs once per commit walked, for every deployment: helpers are inlined, names bound locally.
    pop, push = heapq.heappop, heapq.heappush
    no_longer_queued = queued_interesting.discard
    flag_of = flags.get

    def mark_parents_uninteresting(commit: int) -> None:
        pending = list(parents[commit])
        while pending:
            ancestor = pending.pop()
            flag = flag_of(ancestor, 0)
            if flag & _UNINTERESTING:
                continue
            flags[ancestor] = flag | _UNINTERESTING
            no_longer_queued(ancestor)
            if flag & _SEEN:
                pending.extend(parents[ancestor])

    shown: list[int] = []
    date = None  # the date of the last interesting commit; git starts at TIME_MAX
    slop = _SLOP
    while queue:
        commit = pop(queue)[2]
        no_longer_queued(commit)
        if flags[commit] & _UNINTERESTING:
            for parent in parents[commit]:
                flag = flag_of(parent, 0)
                flags[parent] = flag | _UNINTERESTING | _SEEN
                no_longer_queued(parent)
                if parents[parent]:
                    mark_parents_uninteresting(parent)
                if not flag & _SEEN:
                    push(queue, (-dates[parent], next(order), parent))
            # (git then marks the commit's parents, which the loop above has just done.)
            # still_interesting, with the slop
            if not queue:
                break
            if (date is not None and date <= -queue[0][0]) or queued_interesting:
                slop = _SLOP
                continue
            slop -= 1
            if slop:
                continue
            break
        for parent in parents[commit]:
            flag = flag_of(parent, 0)
            if not flag & _SEEN:
                flags[parent] = flag | _SEEN
                push(queue, (-dates[parent], next(order), parent))
                if not flag & _UNINTERESTING:
                    queued_interesting.add(parent)
        date = dates[commit]
        shown.append(commit)
    # Commits found uninteresting after they were listed are not printed.
    return {commit for commit in shown if not flags[commit] & _UNINTERESTING}
