"""The subjects of commits a report names, read from the repositories its stores synced: the
store keeps none (Pulse is sent none), the repositories do."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from pulse_backfill.errors import PulseBackfillError
from pulse_backfill.git.remote import cache_path, is_remote
from pulse_backfill.git.repository import Repository
from pulse_backfill.store import origin_locations


def subjects(
    stores: Sequence[Path], wanted: Iterable[tuple[str, str]], cache_dir: Path
) -> dict[tuple[str, str], str]:
    """The subject of each (system, commit) wanted, from the repositories of that system the
    stores name (a local clone, or a URL's cached clone) that are still there."""
    commits: dict[str, set[str]] = {}
    for system, commit in wanted:
        commits.setdefault(system, set()).add(commit)
    found: dict[tuple[str, str], str] = {}
    for store in stores:
        for system, location in origin_locations(store):
            asked = sorted(commits.get(system or "_unknown_", set()) - {c for _, c in found})
            if not asked:
                continue
            folder = cache_path(cache_dir, location) if is_remote(location) else Path(location)
            try:
                read = Repository(folder).subjects_of(asked)
            except PulseBackfillError:
                continue  # moved or deleted since: the report goes without
            found.update(((system or "_unknown_", c), subject) for c, subject in read.items())
    return found
