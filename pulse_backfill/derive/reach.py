"""Which deployment reaches each commit first (rule 5), in one pass over git's log of a history.

A commit belongs to the first deployment, in deployment order, from whose commit it is
reachable: the least of its own deployment's position (when one points at it) and the first
deployments of its children. The pass computes that as the log streams. git lists commits
newest first, so a commit nearly always comes after its children and its first deployment is
known when its line arrives. When a line comes before one of its children (clock skew), the child
lowers it later and the lower value is passed down to the ancestors already read. The answer is
the same for the lines in any order: dates decide nothing.

While git streams, a deployment whose own commit has been read, and whose first reach holds no
commit named but not read yet, gets no more commits, unless a line out of order moves a commit
already read into or out of it. The pass tells the caller of each such deployment as soon as it
is so (`on_final`), and says in the end which of those a later line moved (`Reach.moved`). A
commit moved before then is in the list told.

Pure: it reads log lines, wherever they come from. Each line is a commit id, its change time
(epoch seconds) and its parents' ids, separated by spaces.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Container, Iterable, Sequence

# Told a deployment's position and the slots of the commits it reaches first, once no line to
# come should add to them.
OnFinal = Callable[[int, list[int]], object]


class Reach:
    """The pass, and what it found: the commits read, by slot, and each one's first deployment."""

    def __init__(
        self,
        tips: Sequence[str],
        *,
        known: Container[str] = frozenset(),
        on_final: OnFinal | None = None,
    ) -> None:
        """Ready to split the commits of a log of everything `tips` reach by the first tip, in
        order, that reaches each. Commits in `known` (reached by deployments before these) are
        left out; so are the commits only they reach, which are known too. `on_final` may read
        `ids`, `times` and `merges` of the slots it is told."""
        self.tips = tips
        self.known = known
        self.tell = on_final or _no_one
        self.ids: list[str] = []
        self.times = array("q")
        self.merges = bytearray()  # 1 for a commit with more than one parent
        self.read = bytearray()  # 0 for a parent named but never read (see `boundary`)
        # For each deployment position, the slots of the commits read that it reaches first.
        self.shipped: list[list[int]] = [[] for _ in tips]
        # 1 for each deployment a line moved commits into or out of after it was told final:
        # what it was told is not its answer (its `shipped` list is).
        self.moved = bytearray(len(tips))

    def boundary(self) -> list[str]:
        """Parents named but not read: in a re-sync, the old history the new commits stand on."""
        positions = []
        position = self.read.find(0)
        while position != -1:
            positions.append(position)
            position = self.read.find(0, position + 1)
        return [self.ids[position] for position in positions]

    def read_ids(self) -> list[str]:
        return [commit for commit, was_read in zip(self.ids, self.read, strict=True) if was_read]

    def run(self, log: Iterable[bytes]) -> Reach:
        """Read `log`; `shipped` and `moved` then hold the answer."""
        known, tell = self.known, self.tell
        any_known = bool(known)
        ids, times, merges, read = self.ids, self.times, self.merges, self.read
        index: dict[str, int] = {}
        first = array("q")  # per slot, its first deployment so far
        parents: list[tuple[int, ...]] = []
        unreached = len(self.tips)  # after every deployment: lowered by a child
        shipped: list[list[int]] = [*self.shipped, []]
        # Per deployment: how many commits named but not read it reaches first so far (its own
        # among them until read); whether it was told final; whether a line moved a commit
        # already read into or out of it since; whether its list holds commits moved out.
        waiting = [0] * (unreached + 1)
        told = bytearray(unreached + 1)
        moved = bytearray(unreached + 1)
        stale = bytearray(unreached + 1)

        def slot(commit: str, reached: int) -> int:
            position = len(ids)
            index[commit] = position
            ids.append(commit)
            first.append(reached)
            parents.append(())
            times.append(0)
            merges.append(0)
            read.append(0)
            waiting[reached] += 1
            return position

        def settle(deployment: int) -> None:
            """One commit fewer waits for `deployment`: tell it final when none is left."""
            waiting[deployment] -= 1
            if not waiting[deployment] and not told[deployment] and deployment != unreached:
                told[deployment] = 1
                if stale[deployment]:
                    shipped[deployment] = own(deployment)
                tell(deployment, shipped[deployment])

        def own(deployment: int) -> list[int]:
            """`deployment`'s list without the commits a line moved out of it."""
            stale[deployment] = 0
            return [commit for commit in shipped[deployment] if first[commit] == deployment]

        def lower(commit: int, reached: int) -> None:
            """Lower `commit`'s first deployment to `reached`, and its ancestors' as it goes."""
            pending = [commit]
            while pending:
                commit = pending.pop()
                earlier = first[commit]
                if reached >= earlier:
                    continue
                first[commit] = reached
                if read[commit]:  # out of order: a commit already read changes deployment
                    shipped[reached].append(commit)
                    stale[earlier] = 1
                    moved[earlier] |= told[earlier]
                    moved[reached] |= told[reached]
                    pending.extend(parents[commit])
                else:
                    waiting[reached] += 1
                    settle(earlier)

        for position, tip in enumerate(self.tips):
            if tip not in index:  # a second deployment of a commit reaches nothing first
                slot(tip, position)
        for position in range(unreached):
            if not waiting[position]:
                told[position] = 1
                tell(position, shipped[position])

        # Once per commit while git streams: lookups bound locally.
        get = index.get
        for line in log:
            # Decoded whole: each change shares its id with the index.
            commit, time, *parent_ids = line.decode().split()
            if any_known and commit in known:
                continue
            found = get(commit)
            # None: listed before every child and tip that reaches it.
            position = slot(commit, unreached) if found is None else found
            reached = first[position]
            parent_positions = []
            for parent_id in parent_ids:
                parent = get(parent_id)
                if parent is None:
                    parent = slot(parent_id, reached)
                elif reached < first[parent]:
                    lower(parent, reached)
                parent_positions.append(parent)
            parents[position] = tuple(parent_positions)
            times[position] = int(time)
            merges[position] = len(parent_positions) > 1
            read[position] = 1
            shipped[reached].append(position)
            if told[reached]:
                moved[reached] = 1
            settle(reached)

        for position in range(unreached + 1):
            if stale[position]:
                shipped[position] = own(position)
        # A commit no tip reaches is not in git's log of what they reach.
        assert not shipped.pop(), "every commit read is reached by a tip"
        self.shipped = shipped
        self.moved[:] = moved[:unreached]
        return self


def _no_one(position: int, commits: list[int]) -> None:
    pass
