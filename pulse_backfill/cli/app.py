"""The root of the command line: its commands, and every expected failure turned into one line
on stderr and an exit code."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator, MutableMapping, Sequence
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
import typer.main
from typer._click import core as click_core  # typer 0.28 vendors click
from typer._click import exceptions as click_exceptions

from pulse_backfill import __version__
from pulse_backfill.cli import clock, config
from pulse_backfill.cli.git import EXAMPLES as GIT_EXAMPLES
from pulse_backfill.cli.git import git_command
from pulse_backfill.cli.help import Command, Group
from pulse_backfill.errors import PulseBackfillError

# Commands and command groups whose modules are imported, and whose commands are built, only
# when the command line names them (or help lists them): a nightly `git` run does not pay for
# them (`report` alone: 10 ms of start-up, with the statistics module).
_LAZY_GROUPS = {
    "report": ("pulse_backfill.cli.report", "report_app"),
    "push": ("pulse_backfill.cli.push", "push_app"),
    "incidents": ("pulse_backfill.cli.incidents", "incidents_app"),
}


class _Commands(MutableMapping[str, click_core.Command]):
    """The root's subcommands: those built, and the lazy groups, built when first looked up."""

    def __init__(self, built: MutableMapping[str, click_core.Command]) -> None:
        self._built = built
        self._lazy = dict(_LAZY_GROUPS)
        self._names = [*built, *self._lazy]  # help lists them in this order

    def __getitem__(self, name: str) -> click_core.Command:
        if name in self._lazy:
            module, attribute = self._lazy.pop(name)
            command = typer.main.get_command(getattr(importlib.import_module(module), attribute))
            command.name = name
            self._built[name] = command
        return self._built[name]

    def __setitem__(self, name: str, command: click_core.Command) -> None:
        if name not in self:
            self._names.append(name)
        self._lazy.pop(name, None)
        self._built[name] = command

    def __delitem__(self, name: str) -> None:
        self._names.remove(name)
        self._lazy.pop(name, None)
        self._built.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._names))

    def __len__(self) -> int:
        return len(self._names)


class _Group(Group):
    """Every expected failure becomes one line on stderr and an exit code, never a traceback."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.commands = _Commands(self.commands)

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        clock.start(process=args is None)  # None: this process's own command line
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click_exceptions.NoArgsIsHelpError as error:
            # Nothing asked is asking what there is: the help alone, exit 0, as --help gives
            # it (echoed as --help echoes it: typer's rich help is printed already).
            typer.echo(error.format_message())
            code = 0
        except click_exceptions.UsageError as error:
            hint = f" (see '{error.ctx.command_path} --help')" if error.ctx else ""
            _fail(f"{error.format_message()}{hint}", 2)
        except click_exceptions.ClickException as error:
            _fail(error.format_message(), error.exit_code)
        except typer.Abort:
            _fail("aborted", 130)
        except PulseBackfillError as error:
            _fail(str(error), error.exit_code)
        code = code if isinstance(code, int) else 0
        if standalone_mode:
            sys.exit(code)
        return code


def _fail(message: str, code: int) -> NoReturn:
    typer.echo(f"Error: {message}", err=True)
    sys.exit(code)


app = typer.Typer(
    cls=_Group,
    name="pulse-backfill",
    help="Backfill Pulse with your history of deployments, changes and incidents, keep it in "
    "sync, and see its four keys.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"pulse-backfill {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_show_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
    config_file: Annotated[
        Path | None,
        typer.Option(
            "--config",
            envvar="PULSE_BACKFILL_CONFIG",
            metavar="PATH",
            show_default=False,
            help=f"Options' defaults, a table per command (TOML). \\[default: {config.FILE_NAME} "
            "in the working folder, if there is one]",
        ),
    ] = None,
) -> None:
    """Backfill Pulse with your history of deployments, changes and incidents, keep it in sync,
    and see its four keys."""
    # Read before the subcommand parses its options: its context takes its table as defaults.
    path = config.find(config_file)
    if path is not None:
        ctx.default_map = config.defaults(path, ctx)


app.command("git", cls=Command, epilog=GIT_EXAMPLES)(git_command)


def main() -> None:
    app()
