"""A plain model of rule 5 for the tests, written apart from the code it checks.

A commit belongs to the first deployment, in deployment order, from whose commit it is
reachable: found here by walking parents from each deployment's commit in turn. No dates, and
nothing of git's but the graph.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path


def first_reach(parents: Mapping[str, Sequence[str]], tips: Sequence[str]) -> list[set[str]]:
    """For each of `tips` in order, the commits it reaches that no tip before it reaches."""
    taken: set[str] = set()
    shipped = []
    for tip in tips:
        mine: set[str] = set()
        stack = [tip]
        while stack:
            commit = stack.pop()
            if commit in taken:
                continue
            taken.add(commit)
            mine.add(commit)
            stack.extend(parents[commit])
        shipped.append(mine)
    return shipped


def parents_in(repo: Path) -> dict[str, list[str]]:
    """Every commit of `repo` (all refs), with its parents."""
    lines = subprocess.run(
        ["git", "-C", str(repo), "rev-list", "--all", "--parents"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    return {commit: parents for commit, *parents in (line.split() for line in lines)}
