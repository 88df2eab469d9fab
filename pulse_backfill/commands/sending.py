"""Recording events in the store and delivering them: what `git`, `push` and `incidents` share."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol, Self

from pulse_backfill.delivery.cancel import Cancel
from pulse_backfill.delivery.outcomes import DeliveryListener, DeliveryReport, Undelivered
from pulse_backfill.delivery.policy import RetryPolicy
from pulse_backfill.errors import UsageError
from pulse_backfill.pulse.endpoint import DEFAULT_TIMEOUT, endpoint
from pulse_backfill.pulse.environment import detect_environment
from pulse_backfill.pulse.events import Event, EventKind
from pulse_backfill.store import Store

if TYPE_CHECKING:
    import asyncio

    from pulse_backfill.delivery.client import IngestionClient

STDOUT = "-"
DEFAULT_CONCURRENCY = 8


@dataclass(frozen=True, kw_only=True)
class SendSettings:
    """Where events go and how: the store, the target, the delivery policy."""

    dry_run: bool = False
    output: str | None = None  # a path, or "-" for stdout
    api_key: str | None = field(default=None, repr=False)
    key_source: str = "--api-key"  # where the key came from, for messages
    base_url: str
    store_path: Path
    wait_for_store: bool = False
    force: bool = False
    concurrency: int = DEFAULT_CONCURRENCY
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    timeout: float = DEFAULT_TIMEOUT
    environment: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)


class SendListener(DeliveryListener, Protocol):
    def warn(self, message: str) -> None: ...

    def waiting_for_store(self) -> None: ...

    def start_delivery(self, events: Sequence[Event]) -> None: ...

    def stop(self) -> None: ...


@dataclass(kw_only=True)
class SendSummary:
    """What was sent where; commands add what they derived."""

    destination: str | None  # the endpoint, without the key; None when nothing is sent
    store: str | None
    dry_run: bool
    counts: dict[EventKind, int] = field(default_factory=dict)  # events derived or read
    delivery: DeliveryReport | None = None
    waiting: int = 0  # events in the store that wait for a run with a key
    new_waiting: int | None = None  # of those, how many this run recorded (None: not counted)
    elapsed_seconds: float = 0.0
    stopped_deriving: bool = False  # interrupted before every source was derived

    @property
    def interrupted(self) -> bool:
        return self.stopped_deriving or (self.delivery is not None and self.delivery.interrupted)

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return 130
        return 1 if self.undelivered else 0

    @property
    def undelivered(self) -> list[Undelivered]:
        return self.delivery.undelivered if self.delivery else []

    def count(self, kind: EventKind, what: str) -> int:
        if self.delivery is None:
            return 0
        counts = self.delivery.sent if what == "sent" else self.delivery.already
        return counts.get(kind, 0)

    @classmethod
    def starting(cls, settings: SendSettings, store: Store | None) -> Self:
        """An empty summary of a run with these settings (`store` is None for a dry run)."""
        return cls(
            destination=endpoint(settings.base_url) if settings.api_key else None,
            store=None if store is None else str(settings.store_path),
            dry_run=settings.dry_run,
        )

    def derived(self, kind: EventKind) -> int:
        return self.counts.get(kind, 0)

    def figures(self, kind: EventKind) -> dict[str, int]:
        return {
            "derived": self.derived(kind),
            "sent": self.count(kind, "sent"),
            "already_delivered": self.count(kind, "already"),
            "not_delivered": sum(1 for u in self.undelivered if u.kind == kind),
        }

    def delivery_json(self) -> dict[str, Any]:
        return {
            "destination": self.destination,
            "store": self.store,
            "dry_run": self.dry_run,
            "waiting_for_a_key": self.waiting,
            "not_delivered": [
                {"kind": u.kind, "identifier": u.identifier, "reason": u.reason}
                for u in self.undelivered
            ],
            "stopped": self.delivery.stopped if self.delivery else None,
            "interrupted": self.interrupted,
            "elapsed_seconds": round(self.elapsed_seconds, 3),
        }


def open_store(settings: SendSettings, listener: SendListener, stack: ExitStack) -> Store | None:
    """The store, held for the run; None for a dry run, which records nothing."""
    if settings.dry_run:
        return None
    return stack.enter_context(
        Store(settings.store_path, wait=settings.wait_for_store, on_wait=listener.waiting_for_store)
    )


def send_events(
    settings: SendSettings,
    events: Sequence[Event],
    listener: SendListener,
    cancel: Cancel | None = None,
    *,
    origin: str | None = None,
) -> SendSummary:
    """Write (--output), record and deliver `events`, in order."""
    started = time.monotonic()
    with ExitStack() as stack:
        store = open_store(settings, listener, stack)
        summary = SendSummary.starting(settings, store)
        for event in events:
            summary.counts[event.kind] = summary.counts.get(event.kind, 0) + 1
        if settings.output is not None:
            with ndjson(settings.output) as write:
                for event in events:
                    write(event.ndjson_line())
        stack.callback(listener.stop)
        if store is not None:
            before = 0 if origin is None or settings.api_key else store.count_unacknowledged(origin)
            rows = store.record(events, origin=origin)
            if settings.api_key:
                target = store.target(settings.base_url, settings.api_key)
                delivery = Delivery(settings, listener, cancel or Cancel())
                stack.enter_context(closing(delivery))
                summary.delivery = delivery.deliver(store, target, events, rows)
            else:
                summary.waiting = store.count_waiting(rows)
                if origin is not None:
                    new = store.count_unacknowledged(origin) - before
                    summary.new_waiting = min(max(new, 0), summary.waiting)
    summary.elapsed_seconds = time.monotonic() - started
    return summary


class Delivery:
    """A run's deliveries to its target: one event loop and one client for them all, so that a
    run of many repositories loads the machine's certificates and opens its connections once.
    Close it when the run ends."""

    def __init__(self, settings: SendSettings, listener: SendListener, cancel: Cancel) -> None:
        self._settings = settings
        self._listener = listener
        self._cancel = cancel
        self._runner: asyncio.Runner | None = None
        self._client: IngestionClient | None = None

    def deliver(
        self, store: Store, target: int, events: Sequence[Event], row_ids: Sequence[int]
    ) -> DeliveryReport:
        """Deliver to the target what it has not acknowledged, under the settings' policy.

        The listener's display goes on until the caller stops it: a run may deliver several
        times.
        """
        # Imported here: the HTTP stack (httpx, aiohttp, asyncio) is a third of the start-up,
        # and runs that send nothing (a dry run, a run without a key) never need it.
        import asyncio

        from pulse_backfill.delivery.client import IngestionClient
        from pulse_backfill.delivery.scheduler import Deliverer

        settings = self._settings
        assert settings.api_key
        if self._runner is None or self._client is None:
            self._client = IngestionClient(  # first: it may refuse the settings
                base_url=settings.base_url,
                api_key=settings.api_key,
                environment=detect_environment(settings.environment),
                timeout=settings.timeout,
                concurrency=settings.concurrency,
            )
            self._runner = asyncio.Runner()
        deliverer = Deliverer(
            sender=self._client,
            store=store,
            target=target,
            listener=self._listener,
            policy=settings.retry,
            key_source=settings.key_source,
            concurrency=settings.concurrency,
            cancel=self._cancel,
        )
        self._listener.start_delivery(events)
        return self._runner.run(deliverer.deliver(events, row_ids, force=settings.force))

    def close(self) -> None:
        if self._runner is not None and self._client is not None:
            with self._runner:  # then the loop closes
                self._runner.run(self._client.aclose())


@contextmanager
def ndjson(output: str) -> Iterator[Callable[[bytes], object]]:
    """A writer of JSON lines (`Event.ndjson_line`) to `output` (a path, or "-"); a file is
    written whole or not at all."""
    if output == STDOUT:
        sys.stdout.flush()  # what was printed before comes first
        yield sys.stdout.buffer.write
        sys.stdout.buffer.flush()
        return
    with _atomic_file(Path(output)) as stream:
        yield stream.write


@contextmanager
def _atomic_file(path: Path) -> Iterator[BinaryIO]:
    # /dev/null and other special files cannot be replaced: write to them directly.
    if path.exists() and not path.is_file():
        with path.open("wb") as stream:
            yield stream
        return
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or ".")
    except OSError as error:
        raise UsageError(
            f"cannot write --output {path} ({error.strerror}): pass a path in a writable folder"
        ) from None
    try:
        with os.fdopen(handle, "wb") as stream:
            yield stream
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
