"""Repositories given as URLs: a bare partial clone in the cache, fetched on later runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fixtures.build_repos import RepoBuilder
from pulse_backfill.git.remote import cache_path, is_remote, repository_name
from pulse_backfill.urls import display_url
from tests.conftest import API_KEY, Cli
from tests.gitoracle import git
from tests.ingestion_server import IngestionServer


@pytest.mark.parametrize(
    ("location", "remote"),
    [
        ("https://github.com/org/repo.git", True),
        ("ssh://git@github.com/org/repo", True),
        ("git@github.com:org/repo.git", True),
        ("file:///srv/git/repo.git", True),
        ("HTTPS://example.com/repo", True),
        ("./repo", False),
        ("/srv/git/repo.git", False),
        ("repo:with-colon", False),
        ("C:/work/repo", False),
    ],
)
def test_what_counts_as_a_url(location: str, remote: bool) -> None:
    assert is_remote(location) is remote


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://user:s3cret@example.com/org/repo.git", "https://example.com/org/repo.git"),
        ("https://ghp_token@example.com:8443/repo", "https://example.com:8443/repo"),
        ("ssh://deploy:s3cret@example.com/repo", "ssh://deploy@example.com/repo"),
        ("git@example.com:org/repo.git", "git@example.com:org/repo.git"),
        ("https://example.com/org/repo", "https://example.com/org/repo"),
    ],
)
def test_urls_are_shown_without_credentials(url: str, shown: str) -> None:
    assert display_url(url) == shown


def test_a_cache_folder_per_url_and_never_the_credentials(tmp_path: Path) -> None:
    with_token = cache_path(tmp_path, "https://tok3n@example.com/org/repo.git")
    assert with_token == cache_path(tmp_path, "https://example.com/org/repo.git")
    assert "tok3n" not in str(with_token)
    assert with_token.name.startswith("example.com-org-repo.git-")
    assert with_token != cache_path(tmp_path, "https://example.com/org/other.git")
    assert repository_name("git@example.com:org/service.git") == "service"
    assert repository_name("https://example.com/org/service/") == "service"


def test_a_file_url_is_cloned_partially_then_fetched(
    cli: Cli, server: IngestionServer, store: Path, tmp_path: Path
) -> None:
    source = RepoBuilder(tmp_path / "upstream")
    source.commit("one")
    source.tag("v1.0.0")
    source.commit("two")
    source.tag("v1.1.0")
    url = (tmp_path / "upstream").as_uri()
    cache = tmp_path / "cache"

    def run(*args: str):  # type: ignore[no-untyped-def]
        return cli(
            "git", url, "--cache-dir", cache, "--store", store, "--base-url", server.base_url,
            "--api-key", API_KEY, "--json", *args,
        )  # fmt: skip

    first = run()
    assert first.exit_code == 0, first.output
    summary = json.loads(first.stdout)
    assert summary["repositories"][0]["repository"] == url
    assert summary["repositories"][0]["system"] == "upstream"
    assert summary["changes"]["sent"] == 1
    clone = cache_path(cache, url)
    assert git(clone, "rev-parse", "--is-bare-repository").strip() == "true"
    assert git(clone, "config", "remote.origin.partialclonefilter").strip() == "blob:none"
    objects = git(clone, "cat-file", "--batch-all-objects", "--batch-check=%(objecttype)")
    assert "commit" in objects.split()
    assert "blob" not in objects.split()  # no file contents were fetched

    source.commit("three")
    source.tag("v1.2.0")
    server.reset()
    second = run("--concurrency", "1")
    assert second.exit_code == 0, second.output
    assert json.loads(second.stdout)["repositories"][0]["sync"] == "incremental"
    assert [b.get("change_id") or b.get("deploy_id") for b in server.accepted_bodies()] == [
        source.head(),
        "v1.2.0",
    ]


def test_credentials_in_a_url_are_never_shown(cli: Cli, store: Path, tmp_path: Path) -> None:
    url = "https://deploy:s3cr3t-t0ken@127.0.0.1:9/org/repo.git"
    result = cli("git", url, "--cache-dir", tmp_path / "cache", "--store", store)
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("Error: cannot fetch https://127.0.0.1:9/org/repo.git (")
    assert lines[0].endswith("): check the URL and your access to it, then run again")
    assert "s3cr3t" not in result.output
    assert "deploy" not in result.output
    assert not list((tmp_path / "cache").iterdir())  # no half-made clone is left behind
