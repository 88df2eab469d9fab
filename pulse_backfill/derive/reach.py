"""Which deployment reaches each commit first (rule 5), in one pass over git's log of a history.

A commit belongs to the first deployment, in deployment order, from whose commit it is
reachable: the least of its own deployment's position (when one points at it) and the first
deployments of its children. The pass computes that as the log streams. git lists commits
newest first, so a commit nearly always comes after its children and its first deployment is
known when its line arrives. When a line comes before one of its children (clock skew), the child
lowers it later and the lower value is passed down to the ancestors already read. The answer is
the same for the lines in any order: dates decide nothing.

The deployments are made once git's last line is read. Telling each one final while git still
streams, so that a dry run formats its --output lines meanwhile, was tried and left out: on a
quiet machine it took 7 to 9% off a dry run of git's or Rails' history, under this project's
usual load 0 to 10%, and as a layer of its own over this pass it cost more than it saved (3 to
6% more CPU).

Pure: it reads log lines, wherever they come from. Each line is a commit id, its change time
(epoch seconds) and its parents' ids, separated by spaces.
"""

from __future__ import annotations

from array import array
from collections.abc import Container, Iterable, Sequence

from pulse_backfill.derive.history import Change

UNREAD = Change(-1, "")  # the change of a slot whose line was not read (see `Reach.changes`)


class Reach:
    """The pass, and what it found: the commits read, by slot, and each one's first deployment.

    A slot is a commit's place in the parallel arrays below: given when its id is first met,
    as a tip, a line's commit or a parent.
    """

    def __init__(self, tips: Sequence[str], *, known: Container[str] = frozenset()) -> None:
        """Ready to split the commits of a log of everything `tips` reach by the first tip, in
        order, that reaches each. Commits in `known` (reached by deployments before these) are
        left out; so are the commits only they reach, which are known too."""
        self.tips = tips
        self.known = known
        self.ids: list[str] = []
        # Each commit read as a change (its time and id), made while git streams: a deployment's
        # changes are then picked, not made, once the log is read. `UNREAD` for a parent named
        # but never read.
        self.changes: list[Change] = []
        self.merges = bytearray()  # 1 for a commit with more than one parent
        self.read = bytearray()  # 0 for a parent named but never read (see `boundary`)
        self.first = array("q")  # the first deployment known to reach it, so far
        self.parents: list[tuple[int, ...]] = []  # the slots of its parents, once read
        self.slots: dict[str, int] = {}
        # For each deployment position, the slots of the commits read that it reaches first:
        # filled once the log is read.
        self.shipped: list[list[int]] = [[] for _ in tips]

    def boundary(self) -> list[str]:
        """Parents named but not read: in a re-sync, the old history the new commits stand on."""
        pairs = zip(self.ids, self.read, strict=True)
        return [commit for commit, was_read in pairs if not was_read]

    def read_ids(self) -> list[str]:
        return [commit for commit, was_read in zip(self.ids, self.read, strict=True) if was_read]

    def run(self, log: Iterable[bytes]) -> Reach:
        """Read `log`; `shipped` then holds the answer."""
        for position, tip in enumerate(self.tips):
            if tip not in self.slots:  # a second deployment of a commit reaches nothing first
                self._slot(tip, position)
        unreached = len(self.tips)  # after every deployment, until a child lowers it
        # Once per commit while git streams: look-ups bound locally.
        known, any_known = self.known, bool(self.known)
        get, slot, lower = self.slots.get, self._slot, self._lower
        ids, first, parents, changes, merges, read = (
            self.ids, self.first, self.parents, self.changes, self.merges, self.read
        )  # fmt: skip
        new = tuple.__new__  # NamedTuple's own constructor is a Python call, per commit
        for line in log:
            # Decoded once, then split: cheaper than decoding each field.
            commit, time, *parent_ids = line.decode().split()
            if any_known and commit in known:
                continue
            found = get(commit)
            # None: listed before every child and tip that reaches it.
            position = slot(commit, unreached) if found is None else found
            reached = first[position]
            own_parents = []
            for parent_id in parent_ids:
                parent = get(parent_id)
                if parent is None:
                    parent = slot(parent_id, reached)
                elif reached < first[parent]:
                    lower(parent, reached)
                own_parents.append(parent)
            parents[position] = tuple(own_parents)
            changes[position] = new(Change, (int(time), ids[position]))  # one id str, shared
            merges[position] = len(own_parents) > 1
            read[position] = 1

        shipped: list[list[int]] = [[] for _ in range(unreached + 1)]
        for position, was_read in enumerate(read):
            if was_read:
                shipped[first[position]].append(position)
        # A commit no tip reaches is not in git's log of what they reach.
        assert not shipped.pop(), "every commit read is reached by a tip"
        self.shipped = shipped
        return self

    def _slot(self, commit: str, reached: int) -> int:
        """A slot for `commit`, first reached by deployment `reached` so far."""
        position = len(self.ids)
        self.slots[commit] = position
        self.ids.append(commit)
        self.first.append(reached)
        self.parents.append(())
        self.changes.append(UNREAD)
        self.merges.append(0)
        self.read.append(0)
        return position

    def _lower(self, position: int, reached: int) -> None:
        """Lower a commit's first deployment to `reached`, and its ancestors' already read (a
        line that came before a child's: clock skew)."""
        first, read, parents = self.first, self.read, self.parents
        pending = [position]
        while pending:
            position = pending.pop()
            if reached < first[position]:
                first[position] = reached
                if read[position]:
                    pending.extend(parents[position])
