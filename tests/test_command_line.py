"""The command line people expect: help in panels with examples and no type names, shell
completion, a config file under the environment and the command line, relative dates, and two
repositories that would silently become one system."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import typer.main
from typer.core import TyperArgument, TyperGroup, TyperOption

from pulse_backfill.cli.app import app
from pulse_backfill.dates import parse_date, rfc3339
from tests.conftest import Cli

COMMANDS = [
    ["git"],
    ["report"],
    ["push"],
    ["push", "change"],
    ["push", "git", "deployment"],
    ["incidents"],
    ["incidents", "file"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_help_shows_no_type_names(cli: Cli, command: list[str]) -> None:
    result = cli(*command, "--help")
    assert result.exit_code == 0, result.output
    assert not re.search(r"<(str|int|float|path|text|choice)[^>]*>|\[[0-9.]+<=x", result.stdout)


def test_every_option_says_what_it_takes() -> None:
    """Each option that takes a value names it (FILE, DATE, N), as help shows it."""

    def walk(command: typer.core.TyperCommand | TyperGroup, path: str):  # type: ignore[no-untyped-def]
        yield path, command
        if isinstance(command, TyperGroup):
            for name in command.list_commands(None):  # type: ignore[arg-type]
                yield from walk(command.get_command(None, name), f"{path} {name}")  # type: ignore[arg-type]

    bare = [
        f"{path} {param.name}"
        for path, command in walk(typer.main.get_command(app), "pulse-backfill")  # type: ignore[arg-type]
        for param in command.params
        if (isinstance(param, TyperOption) and not param.is_flag and param.name != "help")
        or isinstance(param, TyperArgument)
        if not (param.metavar or type(param.type).__name__ == "Number")
    ]
    assert bare == []


def test_git_help_in_panels_with_examples(cli: Cli) -> None:
    text = cli("git", "--help").stdout
    panels = re.findall(r"╭─ (.+?) ─", text)
    assert panels == [
        "What to read",
        "Which deployments",
        "Platform",
        "Failures",
        "The events",
        "Sending",
        "Output",
        "Options",
    ]
    examples = text[text.index("Examples:") :].splitlines()
    assert [line.strip() for line in examples[1:5]] == [
        "pulse-backfill git ~/src/api --since 2024-01-01 --dry-run",
        'PULSE_API_KEY=... pulse-backfill git ~/src/api --since "90 days ago" --infer-failures '
        "reverts",
        "pulse-backfill git --repos repos.txt --jobs 8 --quiet --json",
        "GITHUB_TOKEN=... pulse-backfill git . --deployments-from github:actions:deploy.yml",
    ]


@pytest.mark.parametrize("group", ["push", "incidents"])
def test_a_group_lists_its_subcommands_before_its_options(cli: Cli, group: str) -> None:
    text = cli(group, "--help").stdout
    panels = re.findall(r"╭─ (.+?) ─", text)
    assert panels[0] == "Commands"
    assert "Examples:" in text


@pytest.mark.parametrize(
    ("shell", "start"),
    [
        ("bash", "_pulse_backfill_completion() {"),
        ("zsh", "#compdef pulse-backfill"),
        ("fish", "complete --command pulse-backfill"),
    ],
)
def test_a_completion_script_for_each_shell(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, shell: str, start: str
) -> None:
    monkeypatch.setenv("_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION", "1")
    result = cli("--show-completion", shell)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().startswith(start)
    assert "_PULSE_BACKFILL_COMPLETE" in result.stdout


def test_completion_names_commands_and_options(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("_PULSE_BACKFILL_COMPLETE", "complete_bash")
    monkeypatch.setenv("COMP_WORDS", "pulse-backfill git --infer")
    monkeypatch.setenv("COMP_CWORD", "2")
    result = cli()
    assert result.stdout.split() == ["--infer-failures"]


def test_a_config_file_under_the_environment_under_the_command_line(
    cli: Cli, repos: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = tmp_path / "from-file.sqlite3"
    Path("pulse-backfill.toml").write_text(
        "[git]\n"
        f'store = "{store}"\n'
        'since = "2020-10-13"\n'
        "json = true\n"
        'infer-failures = "reverts"\n'
        "[report]\n"
        "json = true\n"
    )
    # The file alone: its store, its --since (two deployments from 13 October), --json.
    result = cli("git", repos["linear"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["store"] == str(store)
    assert summary["deployments"]["derived"] == 2
    assert summary["repositories"][0]["infer_failures"] == "reverts"
    assert json.loads(cli("report", "--store", store).stdout)["period"]
    # The environment over the file.
    other = tmp_path / "from-environment.sqlite3"
    monkeypatch.setenv("PULSE_BACKFILL_STORE", str(other))
    assert json.loads(cli("git", repos["linear"]).stdout)["store"] == str(other)
    # The command line over both.
    given = tmp_path / "given.sqlite3"
    summary = json.loads(
        cli("git", repos["linear"], "--store", given, "--since", "2020-09-01").stdout
    )
    assert summary["store"] == str(given)
    assert summary["deployments"]["derived"] == 5
    # --config, or PULSE_BACKFILL_CONFIG, names another file.
    Path("nightly.toml").write_text('[git]\nsince = "2020-10-14"\n')
    summary = json.loads(cli("--config", "nightly.toml", "git", repos["linear"], "--json").stdout)
    assert summary["deployments"]["derived"] == 1
    Path("weekly.toml").write_text('[git]\nsince = "2020-10-13"\n')
    monkeypatch.setenv("PULSE_BACKFILL_CONFIG", "weekly.toml")
    summary = json.loads(cli("git", repos["linear"], "--json").stdout)
    assert summary["deployments"]["derived"] == 2


@pytest.mark.parametrize(
    ("text", "error"),
    [
        (
            "[git]\nsinse = '2024-01-01'\n",
            "{file}: [git] has no option 'sinse': did you mean 'since'?",
        ),
        (
            "[git]\napi-key = 'pk_live_123'\n",
            "{file}: [git]: api-key does not belong in a config file, which gets committed: "
            "name a file that holds it with api-key-file, or set PULSE_API_KEY",
        ),
        (
            "[gti]\nsince = '2024-01-01'\n",
            "{file}: 'gti' is not a command: its tables are [git], [report], [push], [incidents]",
        ),
        (
            "[incidents.pagerduty]\nservices = ['P1']\n",
            "{file}: [incidents.pagerduty] has no option 'services': did you mean 'service'?",
        ),
        ("[git\n", "{file} is not valid TOML (Expected ']' at the end of a table declaration "
         "(at line 1, column 5)): fix it"),
    ],
)  # fmt: skip
def test_config_mistakes_name_the_key_and_the_file(
    cli: Cli, repos: dict[str, Path], tmp_path: Path, text: str, error: str
) -> None:
    config = tmp_path / "pulse-backfill.toml"
    config.write_text(text)
    result = cli("--config", config, "git", repos["linear"], "--dry-run")
    assert result.exit_code == 2
    assert result.stderr == f"Error: {error.format(file=config)}\n"
    assert "pk_live_123" not in result.output


def test_relative_dates_as_git_takes_them() -> None:
    now = 1_796_588_928  # 2026-12-06T20:28:48Z
    assert rfc3339(parse_date("2 weeks ago", now=now)) == "2026-11-22T20:28:48Z"
    assert rfc3339(parse_date("90 days ago", now=now)) == "2026-09-07T20:28:48Z"
    assert rfc3339(parse_date("yesterday", now=now)) == "2026-12-05T20:28:48Z"
    assert rfc3339(parse_date("a year ago", now=now)) == "2025-12-06T20:28:48Z"
    assert rfc3339(parse_date("last week", now=now)) == "2026-11-29T20:28:48Z"
    # A month back is the same day of that month, or its last.
    march_31 = parse_date("2026-03-31T12:00:00Z")
    assert rfc3339(parse_date("1 month ago", now=march_31)) == "2026-02-28T12:00:00Z"
    assert rfc3339(parse_date("  3 Hours  ago ", now=now)) == "2026-12-06T17:28:48Z"


def test_a_run_says_which_date_it_took(cli: Cli, repos: dict[str, Path]) -> None:
    result = cli("git", repos["linear"], "--since", "100 years ago", "--dry-run")
    assert result.exit_code == 0, result.output
    line = result.stderr.splitlines()[0]
    assert re.fullmatch(r"--since '100 years ago' is 19[0-9-]{8}T[0-9:]{8}Z \(UTC\)", line)
    quiet = cli("git", repos["linear"], "--since", "100 years ago", "--dry-run", "--quiet")
    assert quiet.stderr == "warning: tag v9.9.9 points at a tree, not a commit: skipped\n"


def test_two_repositories_that_would_be_one_system(
    cli: Cli, repos: dict[str, Path], tmp_path: Path
) -> None:
    # Bare clones named `repo`, as mirrors keep them.
    first, second = tmp_path / "requests" / "repo", tmp_path / "flask" / "repo"
    for source, target in ((repos["linear"], first), (repos["monorepo"], second)):
        subprocess.run(["git", "clone", "-q", "--bare", str(source), str(target)], check=True)
    result = cli("git", first, second, "--dry-run")
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: {first} and {second} would both be system 'repo': give each its own with "
        "--system on a --repos line\n"
    )
    # One system for both on purpose: one product, two repositories.
    assert cli("git", first, second, "--dry-run", "--system", "product").exit_code == 0
    listed = tmp_path / "repos.txt"
    listed.write_text(f"{first} --system requests\n{second} --system flask\n")
    assert cli("git", "--repos", listed, "--dry-run").exit_code == 0


def test_every_command_ends_with_examples(cli: Cli) -> None:
    root = typer.main.get_command(app)
    assert isinstance(root, TyperGroup)

    def paths(group: TyperGroup, path: list[str]) -> list[list[str]]:
        found = []
        for name in group.list_commands(None):  # type: ignore[arg-type]
            command = group.get_command(None, name)  # type: ignore[arg-type]
            found.append([*path, name])
            if isinstance(command, TyperGroup):
                found += paths(command, [*path, name])
        return found

    for command in paths(root, []):
        text = cli(*command, "--help").stdout
        lines = text[text.index("Examples:") :].strip().splitlines()[1:]
        assert 1 <= len([line for line in lines if "pulse-backfill" in line]) <= 4, command
