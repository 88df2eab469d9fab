"""Re-sync: a run against a store that saw the repository before derives only what is new."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fixtures.build_repos import RepoBuilder
from fixtures.fast_import import CommitSpec, TagSpec, build
from pulse_backfill.derive import DerivationOptions, ReleaseRules
from pulse_backfill.gitrepo import Repository
from pulse_backfill.sync import SyncMode, SyncPoint, derive_repository
from tests.conftest import API_KEY, Cli
from tests.gitoracle import commit_of, git
from tests.ingestion_server import IngestionServer
from tests.test_properties import histories, times


@settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    history=histories(),
    include_prereleases=st.booleans(),
    since=st.none() | times,
    cut=st.floats(min_value=0, max_value=1),
)
def test_deriving_what_is_new_gives_what_the_whole_history_gives(
    history: tuple[list[CommitSpec], list[TagSpec]],
    include_prereleases: bool,
    since: int | None,
    cut: float,
) -> None:
    commits, tags = history
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "repo.git"
        build(path, commits, tags)
        repository = Repository(path)
        options = DerivationOptions(
            rules=ReleaseRules(include_prereleases=include_prereleases), since=since
        )
        whole = derive_repository(repository, options)
        deployments = whole.derivation.deployments
        if not deployments:
            return
        # A store that synced when only the first `known` deployments existed.
        known = max(1, round(cut * len(deployments)))
        previous = SyncPoint(whole.point.releases[:known], whole.point.skewed)
        again = derive_repository(repository, options, previous=previous)
        assert again.point == whole.point
        if known == len(deployments):
            assert again.mode is SyncMode.UP_TO_DATE
            assert again.derivation.deployments == ()
        else:
            assert again.mode is SyncMode.INCREMENTAL
            assert again.derivation.deployments == deployments[known:]


def test_a_moved_tag_derives_the_whole_history_again(repos: dict[str, Path]) -> None:
    repository = Repository(repos["linear"])
    whole = derive_repository(repository, DerivationOptions())
    name, _, time = whole.point.releases[2]
    moved = SyncPoint(
        (*whole.point.releases[:2], (name, "0" * 40, time), *whole.point.releases[3:])
    )
    again = derive_repository(repository, DerivationOptions(), previous=moved)
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
