"""Plain data read from a repository: what the git layer returns and the derivation consumes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple


class Change(NamedTuple):
    """A commit as a change. A tuple, not a dataclass: a large history has hundreds of thousands,
    and its natural order, time then id, is the order a deployment's changes are sent in."""

    time: int
    id: str


class DeployedCommit(NamedTuple):
    """One deployment as a source knows it: its identifier, the commit it deployed, and when."""

    id: str
    commit: str
    time: int


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
