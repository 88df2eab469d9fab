from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from typer.testing import CliRunner

from fixtures.build_repos import BUILDERS
from fixtures.fast_import import CommitSpec, TagSpec, build
from pulse_backfill.cli import app
from pulse_backfill.pulse.environment import VARIABLES
from tests.ingestion_server import IngestionServer, ServerThread

API_KEY = "pk_test_SECRET_1f2e3d4c5b6a"

# HYPOTHESIS_PROFILE=thorough runs the property tests on many more generated histories.
settings.register_profile("default", max_examples=60)
settings.register_profile("thorough", max_examples=3000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No CI detection, no user settings, no colour, a fixed width: outputs are exact."""
    for name in [*VARIABLES, "PULSE_API_KEY", "PULSE_BASE_URL", "PULSE_BACKFILL_STORE",
                 "PULSE_BACKFILL_JOBS", "PULSE_BACKFILL_SHARD",
                 "PULSE_BACKFILL_GIT_TIMEOUT", "GH_TOKEN", "GITHUB_TOKEN", "GITLAB_TOKEN",
                 "GITHUB_SERVER_URL", "PULSE_BACKFILL_CACHE_DIR"]:  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.setenv("TERM", "dumb")
    # Never touch the real user's state folder.
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))


@pytest.fixture(scope="session")
def repos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every fixture repository, built once per test session."""
    root = tmp_path_factory.mktemp("repos")
    for name, builder in BUILDERS.items():
        builder(root / name)
    return {name: root / name for name in BUILDERS}


@pytest.fixture(scope="session")
def big_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """300 commits and 30 releases: long enough to kill a run halfway."""
    path = tmp_path_factory.mktemp("big") / "big.git"
    base = 1_600_000_000
    commits = [CommitSpec((i - 1,) if i else (), base + i * 60, base + i * 60) for i in range(300)]
    tags = [TagSpec(f"v1.{n}.0", n * 10 + 9, base + (n * 10 + 9) * 60 + 30) for n in range(30)]
    build(path, commits, tags)
    return path


@pytest.fixture(scope="session")
def _server_thread() -> Iterator[IngestionServer]:
    with ServerThread(IngestionServer()) as server:
        yield server


@pytest.fixture
def server(_server_thread: IngestionServer) -> Iterator[IngestionServer]:
    _server_thread.reset()
    yield _server_thread
    _server_thread.reset()


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return tmp_path / "store.sqlite3"


class Cli:
    """Runs pulse-backfill in-process, as a user would type it."""

    def __init__(self) -> None:
        self.runner = CliRunner()

    def __call__(  # type: ignore[no-untyped-def]
        self,
        *args: str | os.PathLike[str],
        env: dict[str, str] | None = None,
        input: str | None = None,
    ):
        return self.runner.invoke(app, [str(a) for a in args], env=env, input=input)


@pytest.fixture
def cli() -> Cli:
    return Cli()
