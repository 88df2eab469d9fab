"""The command line: typer apps, one module per command group, and what they show on the
terminal. The only code that reads argv and the environment, and that turns errors into exit
codes; each command parses, builds settings, and calls `commands` (or `report`) once.
"""

from pulse_backfill.cli.app import app, main

__all__ = ["app", "main"]
