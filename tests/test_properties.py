"""Invariants that hold for any history, checked on generated repositories against git itself."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fixtures.fast_import import CommitSpec, TagSpec, build
from pulse_backfill.derive import (
    DerivationOptions,
    ReleaseRules,
    Status,
    derive,
    order_releases,
    select_releases,
)
from pulse_backfill.events import NdjsonLines, events_in_order
from pulse_backfill.gitrepo import Repository
from pulse_backfill.semver import parse_version
from pulse_backfill.sync import derive_repository
from tests.gitoracle import shipped

BASE = 1_600_000_000
# Few distinct times, so that ties in deployment time (and their tie-breaks) are common.
times = st.integers(min_value=0, max_value=6).map(lambda t: BASE + t * 3600)


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[CommitSpec], list[TagSpec]]:
    count = draw(st.integers(min_value=1, max_value=25))
    # Without skew every commit is dated at or after its parents; with it, dates are anything.
    skewed = draw(st.booleans())
    commits: list[CommitSpec] = []
    for index in range(count):
        parents: tuple[int, ...] = ()
        if index and draw(st.integers(0, 9)):  # now and then a new root
            first = draw(st.integers(0, index - 1))
            parents = (first,)
            if index > 1 and draw(st.integers(0, 3)) == 0:  # a merge
                second = draw(st.integers(0, index - 1))
                if second != first:
                    parents = (first, second)
        committed = draw(times)
        if not skewed:
            committed = max([committed, *(commits[p].commit_time for p in parents)])
        commits.append(CommitSpec(parents, draw(times), committed))
    names = draw(
        st.lists(
            st.builds(
                lambda v, major, minor, pre: f"{v}{major}.{minor}.0{pre}",
                st.sampled_from(["", "v"]),
                st.integers(0, 2),
                st.integers(0, 2),
                st.sampled_from(["", "", "-rc.1", "-beta"]),
            ),
            min_size=1,
            max_size=10,
            unique=True,
        )
    )
    tags = [
        TagSpec(name, draw(st.integers(0, count - 1)), draw(st.none() | times)) for name in names
    ]
    return commits, tags


@settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    history=histories(),
    include_first=st.booleans(),
    include_prereleases=st.booleans(),
    since=st.none() | times,
)
def test_any_history(
    history: tuple[list[CommitSpec], list[TagSpec]],
    include_first: bool,
    include_prereleases: bool,
    since: int | None,
) -> None:
    commits, tags = history
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "repo.git"
        build(path, commits, tags)
        options = DerivationOptions(
            rules=ReleaseRules(include_prereleases=include_prereleases),
            include_first=include_first,
            since=since,
        )
        repository = Repository(path)
        derived = derive_repository(repository, options)
        derivation = derived.derivation

        # The one-pass derivation (taken when git's order allows) equals the graph's.
        timed = order_releases(select_releases(derived.tags, options.rules)[0], options)
        graph = repository.read_history([release.commit for release, _ in timed])
        assert derive(timed, graph, options) == derivation

        # Exactly the tags the rules name are deployments, in (time, precedence, name) order.
        expected_names = {
            t.name
            for t in tags
            if (v := parse_version(t.name)) is not None
            and (include_prereleases or not v.is_prerelease)
        }
        deployments = derivation.deployments
        assert {d.tag for d in deployments} == expected_names
        keys = []
        for d in deployments:
            version = parse_version(d.tag)
            assert version is not None
            keys.append((d.time, version.precedence(), d.tag))
        assert keys == sorted(keys)

        # Each deployment ships what git says: rev-list <tag> --not <every earlier deployment>.
        earlier: list[str] = []
        for position, d in enumerate(deployments):
            expected = shipped(path, d.commit, earlier)
            baseline = (position == 0 and not include_first) or (
                since is not None and d.time < since
            )
            if baseline:
                assert d.status is Status.BASELINE
            elif expected:
                assert d.status is Status.SEND
                assert {c.id for c in d.changes} == expected
                assert [(c.time, c.id) for c in d.changes] == sorted(
                    (c.time, c.id) for c in d.changes
                )
            else:
                assert d.status is Status.EMPTY
            earlier.append(d.commit)

        # Every change in exactly one sent deployment, and never after its deployment. (Under
        # clock skew git itself may count a commit twice, and the derivation follows git.)
        skewed = any(commits[p].commit_time > c.commit_time for c in commits for p in c.parents)
        events = list(events_in_order(derivation, system="s"))
        # A dry run's --output lines are the events', byte for byte (a system needing escapes).
        # Some formatted ahead, as a dry run does while git streams.
        odd = "api %s <&>"
        lines = NdjsonLines(system=odd, teams=["t"])
        for deployment in derivation.sent[::2]:
            lines.format_ahead(deployment)
        assert b"".join(lines.in_order(derivation)) == b"".join(
            event.ndjson_line() for event in events_in_order(derivation, system=odd, teams=["t"])
        )
        sent_so_far: set[str] = set()
        for event in events:
            if event.kind == "change":
                assert skewed or event.identifier not in sent_so_far
                sent_so_far.add(event.identifier)
            else:
                assert set(event.requires) <= sent_so_far
                assert event.requires
