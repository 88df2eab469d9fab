"""Plain data read from a repository: what the git layer returns and the derivation consumes."""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field


@dataclass(frozen=True)
class TagRef:
    """A tag, peeled to what it finally points at."""

    name: str
    # Full id of the peeled object, and its type (commit, tree or blob).
    target: str
    target_type: str
    # Tagger date of the outermost tag object; None for a lightweight tag or a tag with no tagger.
    tagger_time: int | None = None

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

    def __len__(self) -> int:
        return len(self.ids)

    def add(
        self, commit_id: str, parent_ids: list[str], author_time: int, commit_time: int
    ) -> None:
        """Add a commit; parents not yet seen get a placeholder slot filled in when they arrive."""
        position = self._slot(commit_id)
        self.parents[position] = tuple(self._slot(parent) for parent in parent_ids)
        self.author_time[position] = author_time
        self.commit_time[position] = commit_time

    def _slot(self, commit_id: str) -> int:
        position = self.index.get(commit_id)
        if position is None:
            position = len(self.ids)
            self.index[commit_id] = position
            self.ids.append(commit_id)
            self.parents.append(())
            self.author_time.append(0)
            self.commit_time.append(0)
        return position
