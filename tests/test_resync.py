"""Re-sync: a run against a store that saw the repository before derives only what is new."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fixtures.build_repos import RepoBuilder
from fixtures.fast_import import CommitSpec, TagSpec, build
from pulse_backfill.commands.sync import SyncMode, SyncPoint, derive_repository
from pulse_backfill.derive.derivation import ChangeTime, DerivationOptions
from pulse_backfill.derive.releases import TagRules
from pulse_backfill.derive.sources import BranchSource, DeploymentSource, FileSource, TagSource
from pulse_backfill.git.repository import Repository
from tests.conftest import API_KEY, Cli
from tests.gitoracle import commit_of, git
from tests.ingestion_server import IngestionServer
from tests.reachability import first_reach
from tests.test_properties import BASE, PATHS, History, any_history, times


@settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    history=any_history,
    include_prereleases=st.booleans(),
    since=st.none() | times,
    no_merges=st.booleans(),
    change_time=st.sampled_from(ChangeTime),
    paths=st.sampled_from(PATHS),
    cut=st.floats(min_value=0, max_value=1),
)
def test_deriving_what_is_new_gives_what_the_whole_history_gives(
    history: History,
    include_prereleases: bool,
    since: int | None,
    no_merges: bool,
    change_time: ChangeTime,
    paths: tuple[str, ...],
    cut: float,
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "repo.git"
        ids = build(path, history.commits, history.tags)
        repository = Repository(path)
        rules = TagRules(include_prereleases=include_prereleases)
        options = DerivationOptions(since=since, no_merges=no_merges, change_time=change_time)
        whole = derive_repository(repository, TagSource(rules), options, paths=paths)
        deployments = whole.derivation.deployments
        if not deployments:
            return
        # A store that synced when only the first `known` deployments existed: it holds what
        # they reach.
        known = max(1, round(cut * len(deployments)))
        parents = {ids[n]: [ids[p] for p in c.parents] for n, c in enumerate(history.commits)}
        model = first_reach(parents, [d.commit for d in deployments])
        reached = frozenset(c for shipped in model[:known] for c in shipped)
        previous = SyncPoint(whole.point.deployments[:known])

        again = derive_repository(
            repository,
            TagSource(rules),
            options,
            paths=paths,
            previous=previous,
            reached_before=lambda: reached,
        )

        assert again.point == whole.point
        if known == len(deployments):
            assert again.mode is SyncMode.UP_TO_DATE
            assert again.derivation.deployments == ()
        else:
            assert again.mode is SyncMode.INCREMENTAL
            assert again.derivation.deployments == deployments[known:]
            new = {c for shipped in model[known:] for c in shipped}
            assert set(again.reached) == new


def test_a_moved_tag_derives_the_whole_history_again(repos: dict[str, Path]) -> None:
    repository = Repository(repos["linear"])
    whole = derive_repository(repository, TagSource(TagRules()), DerivationOptions())
    known = whole.point.deployments
    moved = SyncPoint((*known[:2], known[2]._replace(commit="0" * 40), *known[3:]))
    reached = frozenset(whole.reached)
    again = derive_repository(
        repository,
        TagSource(TagRules()),
        DerivationOptions(),
        previous=moved,
        reached_before=lambda: reached,
    )
    assert again.mode is SyncMode.FULL
    assert again.derivation == whole.derivation


def test_without_what_the_known_deployments_reach_the_whole_history_is_derived(
    repos: dict[str, Path],
) -> None:
    repository = Repository(repos["linear"])
    whole = derive_repository(repository, TagSource(TagRules()), DerivationOptions())
    previous = SyncPoint(whole.point.deployments[:3])
    again = derive_repository(
        repository, TagSource(TagRules()), DerivationOptions(), previous=previous
    )
    assert again.mode is SyncMode.FULL
    assert again.derivation == whole.derivation


def send(cli: Cli, repo: Path, server: IngestionServer, store: Path, *args: str):  # type: ignore[no-untyped-def]
    return cli(
        "git", repo, "--api-key", API_KEY, "--base-url", server.base_url, "--store", store, *args
    )


def test_a_nightly_run_sends_the_new_release_only(
    cli: Cli, server: IngestionServer, store: Path, tmp_path: Path
) -> None:
    builder = RepoBuilder(tmp_path / "app")
    builder.commit("one")
    builder.tag("v1.0.0")
    builder.commit("two")
    builder.tag("v1.1.0")
    assert send(cli, builder.path, server, store).exit_code == 0
    server.reset()

    builder.commit("three")
    builder.commit("four")
    builder.tag("v1.2.0")
    result = send(cli, builder.path, server, store, "--json", "--concurrency", "1")
    assert result.exit_code == 0, result.output
    bodies = server.accepted_bodies()
    assert [(b["$type"], b.get("change_id") or b.get("deploy_id")) for b in bodies] == [
        ("change", commit_of(builder.path, "three")),
        ("change", commit_of(builder.path, "four")),
        ("deployment", "v1.2.0"),
    ]
    summary = json.loads(result.stdout)
    assert summary["repositories"][0]["sync"] == "incremental"
    assert summary["deployments"]["sent"] == 1
    assert summary["changes"]["derived"] == 2

    human = send(cli, builder.path, server, store)
    assert f"{builder.path} (system app): no new deployments since the last sync." in (
        human.stderr.splitlines()
    )


def test_a_run_with_other_options_derives_everything_again(
    cli: Cli, repos: dict[str, Path], server: IngestionServer, store: Path
) -> None:
    assert send(cli, repos["linear"], server, store).exit_code == 0
    result = send(cli, repos["linear"], server, store, "--teams", "web", "--json")
    summary = json.loads(result.stdout)
    assert summary["repositories"][0]["sync"] == "full"
    # New teams are a new body for every deployment, and nothing else changed.
    assert summary["deployments"]["sent"] == 5
    assert summary["changes"]["sent"] == 0


def test_what_a_keyless_run_recorded_goes_with_the_next_run_with_a_key(
    cli: Cli, repos: dict[str, Path], server: IngestionServer, store: Path, tmp_path: Path
) -> None:
    clone = tmp_path / "clone"
    git(repos["linear"], "clone", "--quiet", "--mirror", str(repos["linear"]), str(clone))
    git(clone, "tag", "-d", "v1.3.0")
    assert cli("git", clone, "--store", store).exit_code == 0
    git(clone, "fetch", "--quiet", str(repos["linear"]), "refs/tags/v1.3.0:refs/tags/v1.3.0")
    result = send(cli, clone, server, store, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["repositories"][0]["sync"] == "incremental"
    # Everything: what the first run recorded, and the new release.
    assert len(server.accepted) == 16
    assert summary["changes"]["sent"] == 11


def test_a_deleted_tag_is_not_sent_by_a_later_re_sync(
    cli: Cli, repos: dict[str, Path], server: IngestionServer, store: Path, tmp_path: Path
) -> None:
    clone = tmp_path / "clone"
    git(repos["linear"], "clone", "--quiet", "--mirror", str(repos["linear"]), str(clone))
    assert cli("git", clone, "--store", store).exit_code == 0  # recorded, not sent
    git(clone, "tag", "-d", "v1.3.0")
    assert cli("git", clone, "--store", store).exit_code == 0  # derived whole again
    result = send(cli, clone, server, store, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["repositories"][0]["sync"] == "up to date"
    deployments = {b["deploy_id"] for b in server.accepted_bodies() if b["$type"] == "deployment"}
    assert "v1.3.0" not in deployments
    assert len(deployments) == 4


def test_a_re_sync_under_clock_skew_sends_nothing_an_earlier_release_reached(
    cli: Cli, server: IngestionServer, store: Path, tmp_path: Path
) -> None:
    # v1.0.0's history runs through eight commits dated in 1971: git's `v1.1.0 --not v1.0.0`
    # lists two of v1.0.0's commits again (see test_derive). The store knows they were reached.
    year_2020, year_1971, day = 1_577_836_800, 31_536_000, 86_400
    commits = [
        CommitSpec((), year_2020, year_2020),
        CommitSpec((0,), year_2020 + day, year_2020 + day),
        *(CommitSpec((n,), year_1971 + n * day, year_1971 + n * day) for n in range(1, 9)),
        CommitSpec((9,), year_2020 + 30 * day, year_2020 + 30 * day),
        CommitSpec((1, 10), year_2020 + 60 * day, year_2020 + 60 * day),
    ]
    path = tmp_path / "skewed.git"
    ids = build(path, commits, [TagSpec("v0.1.0", 0, None), TagSpec("v1.0.0", 10, None)])
    assert send(cli, path, server, store).exit_code == 0
    server.reset()
    git(path, "tag", "v1.1.0", ids[11])

    result = send(cli, path, server, store, "--json", "--concurrency", "1")

    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["repositories"][0]["sync"] == "incremental"
    assert summary["changes"]["derived"] == 1
    change, deployment = server.accepted_bodies()
    assert change["change_id"] == ids[11]
    assert (deployment["deploy_id"], deployment["changes"]) == ("v1.1.0", [ids[11]])


def test_a_re_sync_with_paths_judges_new_merges_as_the_whole_history_does(
    tmp_path: Path,
) -> None:
    # v2.0.0 merges a side branch onto c1, an ancestor of the known v1.0.0, taking nothing of
    # it under `a`: git's simplification of the whole history prunes the side branch. Asked as
    # `v2.0.0 --not v1.0.0 -- a`, git finds c1 uninteresting, does not compare with it, and
    # shows the merge and the side branch.
    commits = [
        CommitSpec((), 1, 1, ("a/one",)),  # c0
        CommitSpec((0,), 2, 2, ("b/one",)),  # c1
        CommitSpec((1,), 3, 3, ("b/two",)),  # c2: v1.0.0
        CommitSpec((0,), 4, 4, ("a/two",)),  # the side branch
        CommitSpec((1, 3), 5, 5),  # the merge, with c1's tree: v2.0.0
    ]
    path = tmp_path / "repo.git"
    ids = build(path, commits, [TagSpec("v1.0.0", 2, None), TagSpec("v2.0.0", 4, None)])
    assert git(path, "rev-list", ids[4], "--not", ids[2], "--", "a").split() == [ids[4], ids[3]]
    repository, rules, options = Repository(path), TagRules(), DerivationOptions()
    whole = derive_repository(repository, TagSource(rules), options, paths=["a"])
    previous = SyncPoint(whole.point.deployments[:1])
    reached = frozenset(ids[:3])

    again = derive_repository(
        repository,
        TagSource(rules),
        options,
        paths=["a"],
        previous=previous,
        reached_before=lambda: reached,
    )

    assert again.mode is SyncMode.INCREMENTAL
    assert again.derivation.deployments == whole.derivation.deployments[1:]
    assert again.derivation.deployments[0].changes == ()


@st.composite
def sourced_histories(draw: st.DrawFn) -> tuple[History, str, list[tuple[str, int, int]]]:
    """A history, and a deploy branch (a commit's ref) or an export's rows (id, commit, time):
    redeploys of older commits and ties in time included."""
    history = draw(any_history)
    count = len(history.commits)
    if draw(st.booleans()):
        return history, f"branch:c{draw(st.integers(0, count - 1))}", []
    rows = draw(
        st.lists(
            st.tuples(st.integers(0, 99), st.integers(0, count - 1), st.integers(0, 6)),
            min_size=1,
            max_size=12,
            unique_by=lambda row: row[0],
        )
    )
    return history, "file", rows


@settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    sourced=sourced_histories(),
    no_merges=st.booleans(),
    paths=st.sampled_from(PATHS),
    cut=st.floats(min_value=0, max_value=1),
)
def test_a_deploy_branch_or_an_export_ships_each_commit_once_and_re_syncs_exactly(
    sourced: tuple[History, str, list[tuple[str, int, int]]],
    no_merges: bool,
    paths: tuple[str, ...],
    cut: float,
) -> None:
    history, kind, rows = sourced
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "repo.git"
        ids = build(path, history.commits, history.tags)
        parents = {ids[n]: [ids[p] for p in c.parents] for n, c in enumerate(history.commits)}
        if kind == "file":
            export = Path(folder) / "export.csv"
            export.write_text(
                "id,commit,time\n"
                + "".join(f"r{i},{ids[c][:12]},{BASE + t * 3600}\n" for i, c, t in rows)
            )
            source: DeploymentSource = FileSource(str(export))
            order = sorted((BASE + t * 3600, f"r{i}", ids[c]) for i, c, t in rows)
            expected = [(name, commit, time) for time, name, commit in order]
        else:
            tip = ids[int(kind.removeprefix("branch:c"))]
            line = [tip]
            while parents[line[-1]]:
                line.append(parents[line[-1]][0])
            source = BranchSource(kind.removeprefix("branch:"))
            times = {ids[n]: c.commit_time for n, c in enumerate(history.commits)}
            expected = [(commit, commit, times[commit]) for commit in reversed(line)]
        repository = Repository(path)
        options = DerivationOptions(include_first=True, no_merges=no_merges)
        whole = derive_repository(repository, source, options, paths=paths)
        deployments = whole.derivation.deployments

        assert [(d.id, d.commit, d.time) for d in deployments] == expected
        tips = [d.commit for d in deployments]
        model = first_reach(parents, tips)
        # The rule for paths: what git log -- PATH says of every deployment's history.
        changing = set(git(path, "rev-list", *tips, "--", *paths).split()) if paths else None
        for d, shipped in zip(deployments, model, strict=True):
            if no_merges:
                shipped = {c for c in shipped if len(parents[c]) < 2}
            if changing is not None:
                shipped = shipped & changing  # not &=: the model's own sets stay whole
            assert {c.id for c in d.changes} == shipped
        sent = [c.id for d in deployments for c in d.changes]
        assert len(sent) == len(set(sent))

        known = max(1, round(cut * len(deployments)))
        reached = frozenset(c for shipped in model[:known] for c in shipped)
        again = derive_repository(
            repository,
            source,
            options,
            paths=paths,
            previous=SyncPoint(whole.point.deployments[:known]),
            reached_before=lambda: reached,
        )
        assert again.point == whole.point
        assert again.derivation.deployments == deployments[known:]
