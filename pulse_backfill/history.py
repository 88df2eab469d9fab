"""Plain data read from a repository: what the git layer returns and the derivation consumes."""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple


class Change(NamedTuple):
    """A commit as a change. A tuple, not a dataclass: a large history has hundreds of thousands,
    and its natural order, time then id, is the order a deployment's changes are sent in."""

    time: int
    id: str


@dataclass(frozen=True)
class TagRef:
    """A tag, peeled to what it finally points at."""

    name: str
    # Full id of the peeled object, and its type (commit, tree or blob).
    target: str
    target_type: str
    # Tagger date of the outermost tag object; None for a lightweight tag or a tag with no tagger.
    tagger_time: int | None = None
    # Committer date of the commit it points at; None when it points at no commit.
    commit_time: int | None = None

    @property
    def commit(self) -> str | None:
        return self.target if self.target_type == "commit" else None


@dataclass
class CommitGraph:
    """Commits with their parents and dates, indexed by position to keep large histories small."""

    ids: list[str] = field(default_factory=list)
    index: dict[str, int] = field(default_factory=dict)
    parents: list[tuple[int, ...]] = field(default_factory=list)
    author_time: array[int] = field(default_factory=lambda: array("q"))
    commit_time: array[int] = field(default_factory=lambda: array("q"))
    # 1 for a commit that was read, 0 for a parent known only by id (outside a limited read).
    read: bytearray = field(default_factory=bytearray)

    def __len__(self) -> int:
        return len(self.ids)

    def add(
        self, commit_id: str, parent_ids: list[str], author_time: int, commit_time: int
    ) -> None:
        """Add a commit; parents not yet seen get a placeholder slot filled in when they arrive."""
        # Called once per commit of the history: lookups are inlined, slots made only when new.
        index = self.index
        position = index.get(commit_id)
        if position is None:
            position = self.slot(commit_id)
        self.parents[position] = tuple(
            [
                known if (known := index.get(parent)) is not None else self.slot(parent)
                for parent in parent_ids
            ]
        )
        self.author_time[position] = author_time
        self.commit_time[position] = commit_time
        self.read[position] = 1

    @classmethod
    def from_log(cls, lines: Iterable[bytes]) -> CommitGraph:
        """The graph of git's `first_reach.LOG_FORMAT` lines."""
        graph = cls()
        graph.add_log(lines)
        return graph

    def add_log(self, lines: Iterable[bytes]) -> None:
        """Add each commit of git's `first_reach.LOG_FORMAT` lines."""
        add = self.add
        for line in lines:
            commit_id, author_time, commit_time, *parents = line.decode().split()
            add(commit_id, parents, int(author_time), int(commit_time))

    def add_boundary(self, commit_id: str, author_time: int, commit_time: int) -> None:
        """The dates of a commit a limited read stopped at; it stays unread."""
        position = self.slot(commit_id)
        self.author_time[position] = author_time
        self.commit_time[position] = commit_time

    def boundary(self) -> list[int]:
        """Parents known only by id: what a limited read (`A --not B`) stopped at."""
        # Searched for, not looped over: a whole history's read has none.
        positions = []
        position = self.read.find(0)
        while position != -1:
            positions.append(position)
            position = self.read.find(0, position + 1)
        return positions

    def slot(self, commit_id: str) -> int:
        """The position of `commit_id`, made (unread, with no parents) if it has none."""
        position = self.index.get(commit_id)
        if position is None:
            position = len(self.ids)
            self.index[commit_id] = position
            self.ids.append(commit_id)
            self.parents.append(())
            self.author_time.append(0)
            self.commit_time.append(0)
            self.read.append(0)
        return position
