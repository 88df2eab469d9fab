"""What every command line shares: the options that say where events go, and their parsing."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Annotated, Any, TypeVar

import typer
from typer._click.core import Context, Parameter, ParameterSource  # typer 0.28 vendors click
from typer._click.types import ParamType

from pulse_backfill.cli.help import Group
from pulse_backfill.commands.sending import DEFAULT_CONCURRENCY, SendSettings
from pulse_backfill.dates import is_relative, parse_date, rfc3339
from pulse_backfill.delivery.cancel import Cancel
from pulse_backfill.delivery.policy import RetryPolicy
from pulse_backfill.errors import UsageError, read_user_file
from pulse_backfill.pulse.endpoint import DEFAULT_BASE_URL, DEFAULT_TIMEOUT, check_base_url
from pulse_backfill.store import default_store_path

# Help panels, in the order a command's help shows them.
READ = "What to read"
DEPLOYMENTS = "Which deployments"
FAILURES = "Failures"
EVENTS = "The events"
SENDING = "Sending"
OUTPUT = "Output"


class Number(ParamType):
    """A number within bounds, shown in help as its metavar alone (typer would print the
    type's name and range there); a value out of bounds is a usage error naming them."""

    def __init__(
        self, kind: type[int] | type[float], metavar: str, low: float, high: float | None = None
    ) -> None:
        self.kind, self.metavar, self.low, self.high = kind, metavar, low, high
        self.name = metavar

    def get_metavar(self, param: Parameter, ctx: Context) -> str:
        return self.metavar

    def convert(self, value: Any, param: Parameter | None, ctx: Context | None) -> Any:
        if isinstance(value, self.kind):
            number: float = value
        else:
            try:
                number = self.kind(value)
            except (TypeError, ValueError):
                whole = "a whole number" if self.kind is int else "a number"
                self.fail(f"{value!r} is not {whole}", param, ctx)
        if number < self.low or (self.high is not None and number > self.high):
            low, high = self.kind(self.low), self.kind(self.high or 0)
            bounds = f"at least {low}" if self.high is None else f"from {low} to {high}"
            self.fail(f"{value} is not {bounds}", param, ctx)
        return number


_Settings = TypeVar("_Settings", bound=SendSettings)


class Text(ParamType):
    """Text, for an argument whose metavar says what it is: help shows no type name beside it."""

    name = "text"

    def get_metavar(self, param: Parameter, ctx: Context) -> str:
        return ""

    def convert(self, value: Any, param: Parameter | None, ctx: Context | None) -> Any:
        return str(value)


TEXT = Text()


@dataclass(frozen=True)
class Sending:
    """Where events go and how: the target and its key, the store, the delivery policy."""

    api_key: Annotated[
        str | None,
        typer.Option(
            envvar="PULSE_API_KEY",
            metavar="KEY",
            show_default=False,
            rich_help_panel=SENDING,
            help="Pulse API key. Without one, events are only recorded in the store. "
            "Prefer the environment variable or --api-key-file: a command line is visible "
            "to other users.",
        ),
    ] = None
    api_key_file: Annotated[
        Path | None,
        typer.Option(
            metavar="PATH",
            show_default=False,
            rich_help_panel=SENDING,
            help="Read the Pulse API key from this file.",
        ),
    ] = None
    base_url: Annotated[
        str,
        typer.Option(
            envvar="PULSE_BASE_URL",
            metavar="URL",
            rich_help_panel=SENDING,
            help="Pulse ingestion base URL.",
        ),
    ] = DEFAULT_BASE_URL
    insecure: Annotated[
        bool,
        typer.Option(
            "--insecure",
            rich_help_panel=SENDING,
            help="Allow a plain http:// base URL that is not loopback.",
        ),
    ] = False
    store: Annotated[
        Path | None,
        typer.Option(
            envvar="PULSE_BACKFILL_STORE",
            metavar="PATH",
            show_default=False,
            rich_help_panel=SENDING,
            help="The local store (SQLite). \\[default: store.sqlite3 in the user's state folder]",
        ),
    ] = None
    wait: Annotated[
        bool,
        typer.Option(
            "--wait",
            rich_help_panel=SENDING,
            help="Wait for another run using the store to finish.",
        ),
    ] = False
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            rich_help_panel=SENDING,
            help="Send again what the target already acknowledged.",
        ),
    ] = False
    concurrency: Annotated[
        int,
        typer.Option(
            click_type=Number(int, "N", 1, 256),
            rich_help_panel=SENDING,
            help="Requests in flight at once (1 to 256).",
        ),
    ] = DEFAULT_CONCURRENCY
    max_retries: Annotated[
        int | None,
        typer.Option(
            click_type=Number(int, "N", 0),
            show_default=False,
            rich_help_panel=SENDING,
            help="At most this many retries of one event. \\[default: no cap; --retry-max-time "
            "bounds them]",
        ),
    ] = RetryPolicy.max_retries
    retry_max_time: Annotated[
        float,
        typer.Option(
            click_type=Number(float, "SECONDS", 0),
            rich_help_panel=SENDING,
            help="Seconds one event may take, all retries and waits included; a run that has "
            "nothing acknowledged for this long stops.",
        ),
    ] = RetryPolicy.max_time
    timeout: Annotated[
        float,
        typer.Option(
            click_type=Number(float, "SECONDS", 0.1),
            rich_help_panel=SENDING,
            help="Seconds to wait for the server to connect or answer.",
        ),
    ] = DEFAULT_TIMEOUT

    def settings(self, ctx: typer.Context, recording: Recording | None = None) -> SendSettings:
        """The settings of a run that sends."""
        return self.settings_of(SendSettings, ctx, recording)

    def settings_of(
        self,
        kind: type[_Settings],
        ctx: typer.Context,
        recording: Recording | None = None,
        **more: Any,
    ) -> _Settings:
        """The settings of a run that sends, of a command's own `kind`, with `more`."""
        key, key_source = parse_api_key(ctx, self.api_key, self.api_key_file)
        recording = recording or Recording()
        return kind(
            dry_run=recording.dry_run,
            output=recording.output,
            api_key=key,
            key_source=key_source,
            base_url=check_base_url(self.base_url, insecure=self.insecure or key is None),
            store_path=self.store or default_store_path(),
            wait_for_store=self.wait,
            force=self.force,
            concurrency=self.concurrency,
            retry=RetryPolicy(max_retries=self.max_retries, max_time=self.retry_max_time),
            timeout=self.timeout,
            environment=dict(os.environ),
            **more,
        )


@dataclass(frozen=True)
class Recording:
    """Whether a run records and sends, and where it writes its events."""

    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", rich_help_panel=OUTPUT, help="Send and record nothing."),
    ] = False
    output: Annotated[
        str | None,
        typer.Option(
            metavar="FILE|-",
            show_default=False,
            rich_help_panel=OUTPUT,
            help="Write every event as NDJSON to FILE, or - for stdout.",
        ),
    ] = None


@dataclass(frozen=True)
class Reporting:
    """How a run reports: quietly, or as JSON."""

    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet",
            "-q",
            rich_help_panel=OUTPUT,
            help="No progress and no summary; what went wrong is still shown.",
        ),
    ] = False
    json_summary: Annotated[
        bool,
        typer.Option(
            "--json", rich_help_panel=OUTPUT, help="Print the summary as one JSON object on stdout."
        ),
    ] = False

    def check(self, recording: Recording) -> None:
        if self.json_summary and recording.output == "-":
            raise UsageError(
                "--json and --output - both write to stdout: write the events to a file"
            )


GitTimeout = Annotated[
    float,
    typer.Option(
        click_type=Number(float, "SECONDS", 1),
        envvar="PULSE_BACKFILL_GIT_TIMEOUT",
        rich_help_panel=READ,
        help="Seconds a clone or fetch of a repository URL may go without progress before it "
        "ends (that repository fails).",
    ),
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
    reporting: Reporting
    system: str | None = None


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


def say_dates(dates: Mapping[str, tuple[str | None, int | None]], *, quiet: bool) -> None:
    """Say what each relative date given (by option: its text and its moment) was taken as:
    which moment "2 weeks ago" was, on stderr, unless quiet."""
    for option, (text, moment) in dates.items():
        if text is not None and moment is not None and is_relative(text) and not quiet:
            typer.echo(f"{option} {text!r} is {rfc3339(moment)} (UTC)", err=True)


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


class PersistentOptionsGroup(Group):
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
