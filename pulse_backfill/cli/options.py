"""What every command line shares: the options that say where events go, and their parsing."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer
from typer._click.core import Context, ParameterSource  # typer 0.28 vendors click
from typer.core import TyperGroup

from pulse_backfill.commands.sending import SendSettings
from pulse_backfill.dates import parse_date
from pulse_backfill.delivery.cancel import Cancel
from pulse_backfill.delivery.policy import RetryPolicy
from pulse_backfill.errors import UsageError, read_user_file
from pulse_backfill.pulse.endpoint import DEFAULT_BASE_URL, DEFAULT_TIMEOUT, check_base_url
from pulse_backfill.store import default_store_path

ApiKey = Annotated[
    str | None,
    typer.Option(
        envvar="PULSE_API_KEY",
        show_default=False,
        help="Pulse API key. Without one, events are only recorded in the store. "
        "Prefer the environment variable or --api-key-file: a command line is visible "
        "to other users.",
    ),
]
ApiKeyFile = Annotated[
    Path | None, typer.Option(help="Read the Pulse API key from this file.", show_default=False)
]
BaseUrl = Annotated[str, typer.Option(envvar="PULSE_BASE_URL", help="Pulse ingestion base URL.")]
Insecure = Annotated[
    bool, typer.Option("--insecure", help="Allow a plain http:// base URL that is not loopback.")
]
StorePath = Annotated[
    Path | None,
    typer.Option(
        envvar="PULSE_BACKFILL_STORE",
        help="The local store (SQLite). \\[default: store.sqlite3 in the user's state folder]",
    ),
]
Wait = Annotated[
    bool, typer.Option("--wait", help="Wait for another run using the store to finish.")
]
Force = Annotated[
    bool, typer.Option("--force", help="Send again what the target already acknowledged.")
]
Concurrency = Annotated[int, typer.Option(min=1, max=256, help="Requests in flight at once.")]
MaxRetries = Annotated[
    int | None,
    typer.Option(
        min=0,
        show_default=False,
        help="At most this many retries of one event. \\[default: no cap; --retry-max-time bounds "
        "them]",
    ),
]
RetryMaxTime = Annotated[
    float,
    typer.Option(
        min=0,
        help="Seconds one event may take, all retries and waits included; a run that has "
        "nothing acknowledged for this long stops.",
    ),
]
Timeout = Annotated[
    float, typer.Option(min=0.1, help="Seconds to wait for the server to connect or answer.")
]
GitTimeout = Annotated[
    float,
    typer.Option(
        min=1,
        envvar="PULSE_BACKFILL_GIT_TIMEOUT",
        help="Seconds a clone or fetch of a repository URL may go without progress before it "
        "ends (that repository fails).",
    ),
]
Quiet = Annotated[
    bool,
    typer.Option(
        "--quiet", "-q", help="No progress and no summary; what went wrong is still shown."
    ),
]
JsonSummary = Annotated[
    bool, typer.Option("--json", help="Print the summary as one JSON object on stdout.")
]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Send and record nothing.")]
Output = Annotated[
    str | None,
    typer.Option(metavar="FILE|-", help="Write every event as NDJSON to FILE, or - for stdout."),
]


@dataclass(frozen=True)
class SendOptions:
    """The parsed options of a group that sends (push, incidents), for its subcommands."""

    @staticmethod
    def of(ctx: typer.Context) -> SendOptions:
        options = ctx.obj  # click hands a group's object down to its subcommands
        assert isinstance(options, SendOptions)
        return options

    settings: SendSettings
    quiet: bool
    json_summary: bool
    system: str | None = None


def send_options(ctx: typer.Context, **overrides: Any) -> dict[str, Any]:
    """Keyword arguments of SendSettings, from the options every sending command takes (read
    from `ctx.params`, so each command declares them but never lists them again)."""
    params = {**ctx.params, **overrides}
    key, key_source = parse_api_key(ctx, params["api_key"], _path(params["api_key_file"]))
    return {
        "dry_run": params.get("dry_run", False),
        "output": params.get("output"),
        "api_key": key,
        "key_source": key_source,
        "base_url": check_base_url(params["base_url"], insecure=params["insecure"] or key is None),
        "store_path": _path(params["store"]) or default_store_path(),
        "wait_for_store": params["wait"],
        "force": params["force"],
        "concurrency": params["concurrency"],
        "retry": RetryPolicy(max_retries=params["max_retries"], max_time=params["retry_max_time"]),
        "timeout": params["timeout"],
        "environment": dict(os.environ),
    }


def _path(value: str | Path | None) -> Path | None:
    # ctx.params holds what click parsed, paths as text: typer converts a command's arguments.
    return None if value is None else Path(value)


def parse_api_key(
    ctx: typer.Context, api_key: str | None, api_key_file: Path | None
) -> tuple[str | None, str]:
    """The key, and where it came from (for messages that must never show the key itself)."""
    from_environment = ctx.get_parameter_source("api_key") is ParameterSource.ENVIRONMENT
    if not from_environment and api_key is not None and not api_key.strip():
        raise UsageError("--api-key is empty: pass the key, or leave the option out")
    if api_key_file is None:
        # Set but empty is what a CI secret that is missing gives: a run that would never send.
        # click takes an empty variable for an unset one, so the environment is read here.
        variable = os.environ.get("PULSE_API_KEY")
        if (api_key is None or from_environment) and variable is not None and not variable.strip():
            raise UsageError(
                "PULSE_API_KEY is set but empty: set it to the key, or unset it to record "
                "events without sending them"
            )
        return api_key, "PULSE_API_KEY" if from_environment else "--api-key"
    if api_key and not from_environment:
        raise UsageError("--api-key and --api-key-file exclude each other: pass only one")
    key = read_user_file(
        api_key_file, f"--api-key-file {api_key_file}", "pass a readable file that holds the key"
    ).strip()
    if not key:
        raise UsageError(f"--api-key-file {api_key_file} is empty: write the key in it")
    if len(key.splitlines()) != 1:
        raise UsageError(f"--api-key-file {api_key_file} must hold the key alone on one line")
    return key, f"--api-key-file {api_key_file}"


def parse_date_option(value: str | None, option: str) -> int | None:
    if value is None:
        return None
    try:
        return parse_date(value)
    except ValueError as error:
        raise UsageError(f"{option}: {error}") from None


def parse_paths(paths: list[str] | None, name: str) -> tuple[str, ...]:
    """Paths that commits must touch; `name` is how the command line gives them."""
    if paths and "" in paths:
        # git would blame the repository ("empty string is not a valid pathspec").
        raise UsageError(f"{name} '' names no path: pass a file or folder of the repository")
    return tuple(paths or ())


def parse_teams(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    return tuple(team.strip() for team in value.split(",") if team.strip())


class Interruption(Cancel):
    """Set by Ctrl-C or SIGTERM (what cron, systemd, CI runners and Kubernetes send before they
    kill): no new requests start, those in flight finish. `signal` says which came."""

    signal: int | None = None

    def exit_code(self, code: int) -> int:
        """`code`, or for a run it interrupted, the shell's code for its signal (130, 143)."""
        return 128 + self.signal if self.is_set() and self.signal is not None else code


_STOPPING_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def interruptible(on_stop: Callable[[], None] | None = None) -> Iterator[Interruption]:
    """Ctrl-C or SIGTERM sets the event (and calls `on_stop`, which ends what must not wait
    for the run, such as git's processes); a second one ends the run at once."""
    cancel = Interruption()
    if threading.current_thread() is not threading.main_thread():
        yield cancel
        return

    def first(signum: int, frame: FrameType | None) -> None:
        cancel.signal = signum
        cancel.set()
        if on_stop is not None:
            on_stop()
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)

    previous = {number: signal.signal(number, first) for number in _STOPPING_SIGNALS}
    try:
        yield cancel
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


DEFAULTS: dict[str, Any] = {
    "base_url": DEFAULT_BASE_URL,
    "max_retries": RetryPolicy.max_retries,
    "retry_max_time": RetryPolicy.max_time,
    "timeout": DEFAULT_TIMEOUT,
}


class PersistentOptionsGroup(TyperGroup):
    """A group whose own options may also come after its subcommand, as cobra's persistent
    flags do: `push change --api-key K ...` works as the standard CLI's users write it."""

    def parse_args(self, ctx: Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, self._hoist(args))

    def _hoist(self, args: list[str]) -> list[str]:
        takes_value: dict[str, bool] = {}
        for param in self.params:
            for name in [*param.opts, *param.secondary_opts]:
                takes_value[name] = not getattr(param, "is_flag", False)
        before: list[str] = []
        rest = list(args)
        # Up to the subcommand: the group's own options, left as they are.
        while rest and rest[0].startswith("-") and rest[0] != "--":
            word = rest.pop(0)
            before.append(word)
            if takes_value.get(word) and rest:
                before.append(rest.pop(0))
        hoisted: list[str] = []
        after: list[str] = []
        while rest:
            word = rest.pop(0)
            if word == "--":
                after.extend([word, *rest])
                break
            name = word.split("=", 1)[0]
            if name in takes_value:
                hoisted.append(word)
                if takes_value[name] and "=" not in word and rest:
                    hoisted.append(rest.pop(0))
            else:
                after.append(word)
        return before + hoisted + after
