"""A config file: any option's default, by its long name, in a table per command.

    # pulse-backfill.toml
    [git]
    since = "2024-01-01"
    infer-failures = "reverts"
    api-key-file = "~/.config/pulse/key"

    [incidents.pagerduty]
    service = ["PIJ90N7"]

Found as `--config PATH`, else `PULSE_BACKFILL_CONFIG`, else `pulse-backfill.toml` in the working
folder. Its values become click's `default_map`, so the command line wins over the environment,
which wins over the file, as click orders them. An unknown table or key is a mistake naming it
and the file; a secret is refused there, since config files get committed.
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from typer._click.core import Context  # typer 0.28 vendors click
from typer.core import TyperGroup, TyperOption

from pulse_backfill.errors import UsageError, read_user_file

FILE_NAME = "pulse-backfill.toml"
# Options that hold a secret, and where it belongs instead.
_SECRETS = {
    "api-key": "name a file that holds it with api-key-file, or set PULSE_API_KEY",
    "token": "set it in the environment (PAGERDUTY_TOKEN)",
    "github-token": "name a file that holds it with github-token-file, or set GITHUB_TOKEN",
    "gitlab-token": "name a file that holds it with gitlab-token-file, or set GITLAB_TOKEN",
}


def find(given: Path | None) -> Path | None:
    """The config file to read: the one given (by --config or PULSE_BACKFILL_CONFIG), else the
    working folder's, if it has one."""
    if given is not None:
        return given
    here = Path(FILE_NAME)
    return here if here.is_file() else None


def defaults(path: Path, ctx: Context) -> dict[str, Any]:
    """The file's options as click's default_map for the command line of `ctx`."""
    text = read_user_file(path, f"--config {path}", "pass a readable TOML file")
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise UsageError(f"{path} is not valid TOML ({error}): fix it") from None
    return _table(document, ctx.command, ctx, path, "")


def _table(
    document: Mapping[str, Any], command: Any, ctx: Context, path: Path, name: str
) -> dict[str, Any]:
    options = {
        option.removeprefix("--"): param
        for param in command.params
        if isinstance(param, TyperOption)
        for option in param.opts
        if option.startswith("--") and param.expose_value and param.name
    }
    commands = command.list_commands(ctx) if isinstance(command, TyperGroup) else []
    found: dict[str, Any] = {}
    for key, value in document.items():
        where = f"{path}: [{name}]" if name else str(path)
        if isinstance(value, dict) and key in commands:
            table = f"{name}.{key}" if name else key
            found[key] = _table(value, command.get_command(ctx, key), ctx, path, table)
        elif key in _SECRETS and name:
            raise UsageError(
                f"{where}: {key} does not belong in a config file, which gets committed: "
                f"{_SECRETS[key]}"
            )
        elif key in options and name:
            found[str(options[key].name)] = _value(value, options[key])
        elif not name:
            tables = ", ".join(f"[{command}]" for command in commands)
            raise UsageError(f"{where}: {key!r} is not a command: its tables are {tables}")
        else:
            close = difflib.get_close_matches(key, options, n=1)
            command_line = f"{ctx.info_name} {name.replace('.', ' ')}"  # [incidents.file]
            fix = f"did you mean {close[0]!r}?" if close else f"see '{command_line} --help'"
            raise UsageError(f"{where} has no option {key!r}: {fix}")
    return found


def _value(value: Any, param: TyperOption) -> Any:
    """A path as a shell would give it: with `~` expanded."""
    if isinstance(value, str) and value.startswith("~") and "Path" in type(param.type).__name__:
        return str(Path(value).expanduser())
    return value
