"""The README cannot fall behind the CLI, and CI runs what the README says."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer.main
from typer.core import TyperGroup

from pulse_backfill.cli import app

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text()


def commands(group: Any, path: str) -> Iterator[tuple[str, Any]]:
    for name, command in group.commands.items():
        yield f"{path} {name}", command
        if isinstance(command, TyperGroup):
            yield from commands(command, f"{path} {name}")


def test_every_command_and_option_is_documented() -> None:
    root = typer.main.get_command(app)
    assert isinstance(root, TyperGroup)
    for name, command in commands(root, "pulse-backfill"):
        assert name in README, name
        assert command.help, name
        for param in command.params:
            for option in param.opts:
                if option.startswith("--") and option != "--help":
                    assert f"`{option}" in README, f"{name} {option}"
            assert param.param_type_name == "argument" or param.help, f"{name} {param.name}"


def test_ci_runs_the_readmes_set_up_commands() -> None:
    blocks = re.findall(r"```sh\n(.*?)```", README, flags=re.DOTALL)
    set_up, tests = blocks[0].strip(), blocks[1].strip()
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert set_up in ci
    assert tests in ci


def test_the_package_map_names_every_package_and_only_those() -> None:
    named = set(re.findall(r"`pulse_backfill/(\w+)/`", README))
    packages = {p.parent.name for p in (ROOT / "pulse_backfill").glob("*/__init__.py")}
    assert named == packages


def test_help_shows_the_defaults_it_names() -> None:
    from typer.testing import CliRunner

    result = CliRunner().invoke(app, ["git", "--help"], env={"COLUMNS": "300"})
    # Square brackets are rich markup unless escaped: a default in them would vanish.
    for default in ("[default: the repository's name]", "[default: no cap;", "[default: store"):
        assert default in result.output, default
