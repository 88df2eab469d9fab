"""Help as gh, git-cliff and uv lay it out: a group's subcommands first, then the options in
their panels (arguments among the options they go with), the generic ones (--help, --version,
--config) last, then the examples.

Typer prints the generic panel first and subcommands last, in one function; this is that
function in our order, from typer's own pieces (typer is pinned below 0.29).
"""

from __future__ import annotations

from typing import Any

from typer._click.core import Context  # typer 0.28 vendors click
from typer._click.formatting import HelpFormatter
from typer.core import TyperCommand, TyperGroup


class PanelledHelp:
    """A command or group whose help is laid out as above."""

    rich_markup_mode: Any

    def format_help(self, ctx: Context, formatter: HelpFormatter) -> None:
        # Imported here: the terminal library is loaded when help is shown, not by every run.
        from rich.align import Align
        from rich.padding import Padding
        from rich.text import Text
        from typer import rich_utils

        command: Any = self
        mode = self.rich_markup_mode
        console = rich_utils._get_rich_console()
        console.print(
            Padding(rich_utils.highlighter(command.get_usage(ctx)), 1),
            style=rich_utils.STYLE_USAGE_COMMAND,
        )
        if command.help:
            text = rich_utils._get_help_text(obj=command, markup_mode=mode)
            console.print(Padding(Align(text, pad=False), (0, 1, 1, 1)))
        if isinstance(command, TyperGroup):
            commands = [command.get_command(ctx, name) for name in command.list_commands(ctx)]
            shown = [c for c in commands if c is not None and not c.hidden]
            rich_utils._print_commands_panel(
                name=rich_utils.COMMANDS_PANEL_TITLE,
                commands=shown,
                markup_mode=mode,
                console=console,
                cmd_len=max((len(c.name or "") for c in shown), default=0),
            )
        panels: dict[str, list[Any]] = {}  # typer's TyperOption and TyperArgument
        for param in command.get_params(ctx):
            if not getattr(param, "hidden", False):
                panel = getattr(param, "rich_help_panel", None) or rich_utils.OPTIONS_PANEL_TITLE
                panels.setdefault(panel, []).append(param)
        generic = panels.pop(rich_utils.OPTIONS_PANEL_TITLE, [])
        for name, params in [*panels.items(), (rich_utils.OPTIONS_PANEL_TITLE, generic)]:
            rich_utils._print_options_panel(
                name=name, params=params, ctx=ctx, markup_mode=mode, console=console
            )
        if command.epilog:  # the examples, line for line
            console.print(Padding(Text(command.epilog), 1))


def examples(*lines: str) -> str:
    """A command's examples, as its help ends with them."""
    return "Examples:\n" + "\n".join(f"  {line}" for line in lines)


class Command(PanelledHelp, TyperCommand):
    pass


class Group(PanelledHelp, TyperGroup):
    pass
