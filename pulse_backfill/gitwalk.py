"""A model of git's limited revision walk: what `git rev-list POS --not NEG...` prints.

git walks commits newest first by committer date and stops once nothing interesting is left to
walk (after a few more steps, its "slop"). When a parent is dated after its child (clock skew),
it can stop before it learns that a commit is reachable from the negative side, and so prints
commits that plain reachability would not. Matching git means walking as it does; this module
follows revision.c (prepare_revision_walk, limit_list, process_parents, still_interesting,
mark_parents_uninteresting) step for step. Pure: it reads a CommitGraph only.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Sequence

from pulse_backfill.history import CommitGraph

_UNINTERESTING = 1
_SEEN = 2
_SLOP = 5  # revision.c: how many uninteresting commits git walks past the last interesting date


def has_clock_skew(graph: CommitGraph) -> bool:
    """Whether any commit is dated (committer date) before one of its parents."""
    dates = graph.commit_time
    return any(
        dates[parent] > dates[child]
        for child, parents in enumerate(graph.parents)
        for parent in parents
    )


def rev_list_not(graph: CommitGraph, positive: int, negatives: Sequence[int]) -> set[int]:
    """The commits `git rev-list POSITIVE --not NEGATIVES...` prints, as graph positions."""
    return _Walk(graph).run(positive, negatives)


class _Walk:
    def __init__(self, graph: CommitGraph) -> None:
        self.parents = graph.parents
        self.dates = graph.commit_time
        self.flags: dict[int, int] = {}
        # git knows a commit's parents only once it has parsed it; marking spreads through those.
        self.parsed: set[int] = set()
        self.queue: list[tuple[int, int, int]] = []  # (-date, insertion order, commit)
        self.order = itertools.count()
        self.queued_interesting: set[int] = set()

    def run(self, positive: int, negatives: Sequence[int]) -> set[int]:
        flags = self.flags
        starts = [positive, *negatives]
        # The command line sets each object's flags, and git parses every starting commit.
        flags[positive] = 0
        for commit in negatives:
            flags[commit] = _UNINTERESTING
        self.parsed.update(starts)
        # prepare_revision_walk: handle each pending commit in order, then sort by date (stable).
        initial: list[int] = []
        for commit in starts:
            if flags[commit] & _UNINTERESTING:
                self._mark_parents_uninteresting(commit)
            if not flags[commit] & _SEEN:
                flags[commit] |= _SEEN
                initial.append(commit)
        initial.sort(key=self.dates.__getitem__, reverse=True)  # stable, as git's sort is
        for commit in initial:
            self._insert(commit)
        # Without a negative, git's walk is not limited: everything reachable is printed.
        return self._limit_list() if negatives else self._walk_everything()

    def _limit_list(self) -> set[int]:
        flags, parents, dates = self.flags, self.parents, self.dates
        shown: list[int] = []
        date = None  # the date of the last interesting commit; git starts at TIME_MAX
        slop = _SLOP
        while self.queue:
            commit = self._pop()
            if flags[commit] & _UNINTERESTING:
                for parent in parents[commit]:
                    self._set_uninteresting(parent)
                    self.parsed.add(parent)
                    if parents[parent]:
                        self._mark_parents_uninteresting(parent)
                    if flags[parent] & _SEEN:
                        continue
                    flags[parent] |= _SEEN
                    self._insert(parent)
                self._mark_parents_uninteresting(commit)
                slop = self._still_interesting(date, slop)
                if slop:
                    continue
                break
            for parent in parents[commit]:
                self.parsed.add(parent)
                if not flags.get(parent, 0) & _SEEN:
                    flags[parent] = flags.get(parent, 0) | _SEEN
                    self._insert(parent)
            date = dates[commit]
            shown.append(commit)
        # Commits found uninteresting after they were listed are not printed.
        return {commit for commit in shown if not flags[commit] & _UNINTERESTING}

    def _walk_everything(self) -> set[int]:
        seen = {c for _, _, c in self.queue}
        stack = list(seen)
        while stack:
            for parent in self.parents[stack.pop()]:
                if parent not in seen:
                    seen.add(parent)
                    stack.append(parent)
        return seen

    def _still_interesting(self, date: int | None, slop: int) -> int:
        if not self.queue:
            return 0
        if date is not None and date <= -self.queue[0][0]:
            return _SLOP
        if self.queued_interesting:
            return _SLOP
        return slop - 1

    def _insert(self, commit: int) -> None:
        # commit_list_insert_by_date: after every commit of the same date already queued.
        heapq.heappush(self.queue, (-self.dates[commit], next(self.order), commit))
        if not self.flags[commit] & _UNINTERESTING:
            self.queued_interesting.add(commit)

    def _pop(self) -> int:
        commit = heapq.heappop(self.queue)[2]
        self.queued_interesting.discard(commit)
        return commit

    def _set_uninteresting(self, commit: int) -> None:
        self.flags[commit] = self.flags.get(commit, 0) | _UNINTERESTING
        self.queued_interesting.discard(commit)

    def _mark_parents_uninteresting(self, commit: int) -> None:
        pending: list[int] = []
        for parent in self.parents[commit]:
            self._mark_one(parent, pending)
        while pending:
            self._mark_one(pending.pop(), pending)

    def _mark_one(self, commit: int, pending: list[int]) -> None:
        if self.flags.get(commit, 0) & _UNINTERESTING:
            return
        self._set_uninteresting(commit)
        if commit in self.parsed:
            pending.extend(self.parents[commit])
