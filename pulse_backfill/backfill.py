"""`pulse-backfill git`: derive a repository's events, record them, deliver them."""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TextIO

from pulse_backfill.ci_env import detect_environment
from pulse_backfill.client import DEFAULT_TIMEOUT, IngestionClient, endpoint
from pulse_backfill.deliver import Deliverer, DeliveryListener, DeliveryReport, Undelivered
from pulse_backfill.derive import Derivation, DerivationOptions, Status, derive, select_releases
from pulse_backfill.errors import UsageError
from pulse_backfill.events import Event, EventKind, events_in_order
from pulse_backfill.gitrepo import Repository
from pulse_backfill.history import TagRef
from pulse_backfill.policy import RetryPolicy
from pulse_backfill.store import Store

STDOUT = "-"
DEFAULT_CONCURRENCY = 8


@dataclass(frozen=True, kw_only=True)
class GitBackfillSettings:
    """Everything a run needs; the CLI builds it, the core never reads argv or the environment."""

    repository: Path
    derivation: DerivationOptions = field(default_factory=DerivationOptions)
    system: str | None = None  # None: the repository's name
    teams: tuple[str, ...] = ()
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


class RunListener(DeliveryListener, Protocol):
    def warn(self, message: str) -> None: ...

    def waiting_for_store(self) -> None: ...

    def start_delivery(self, events: Sequence[Event]) -> None: ...

    def stop(self) -> None: ...


@dataclass
class Summary:
    repository: str
    system: str | None
    destination: str | None  # the endpoint, without the key; None when nothing is sent
    store: str | None
    dry_run: bool
    derivation: Derivation
    events: Sequence[Event]
    delivery: DeliveryReport | None
    elapsed_seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)
    tag_names: Sequence[str] = ()  # every tag seen: hints for a user whose rules matched none

    @property
    def exit_code(self) -> int:
        if self.delivery is not None and self.delivery.interrupted:
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

    def derived(self, kind: EventKind) -> int:
        return sum(1 for event in self.events if event.kind == kind)

    def to_json(self) -> dict[str, Any]:
        def figures(kind: EventKind) -> dict[str, int]:
            return {
                "derived": self.derived(kind),
                "sent": self.count(kind, "sent"),
                "already_delivered": self.count(kind, "already"),
                "not_delivered": sum(1 for u in self.undelivered if u.kind == kind),
            }

        return {
            "repository": self.repository,
            "system": self.system,
            "destination": self.destination,
            "store": self.store,
            "dry_run": self.dry_run,
            "deployments": {
                **figures("deployment"),
                "skipped_empty": self.derivation.count(Status.EMPTY),
                "baselines": self.derivation.count(Status.BASELINE),
            },
            "changes": figures("change"),
            "not_delivered": [
                {"kind": u.kind, "identifier": u.identifier, "reason": u.reason}
                for u in self.undelivered
            ],
            "stopped": self.delivery.stopped if self.delivery else None,
            "interrupted": self.delivery.interrupted if self.delivery else False,
            "warnings": self.warnings,
            "elapsed_seconds": round(self.elapsed_seconds, 3),
        }


def derive_repository(
    repository: Repository, options: DerivationOptions
) -> tuple[Derivation, list[TagRef], list[str]]:
    """The repository's deployments, the tags seen, and warnings about tags left out."""
    tags, warnings = repository.read_tags()
    if not tags and not repository.has_commits():
        raise UsageError(f"{repository.path} has no commits yet: nothing to backfill")
    releases, skipped = select_releases(tags, options.rules)
    graph = repository.read_history(release.commit for release in releases)
    derivation = derive(releases, graph, options)
    return derivation, tags, warnings + skipped + list(derivation.warnings)


def run_git_backfill(
    settings: GitBackfillSettings,
    listener: RunListener,
    cancel: threading.Event | None = None,
) -> Summary:
    """Derive, record, deliver. Setting `cancel` stops starting new requests (Ctrl-C)."""
    started = time.monotonic()
    repository = Repository(settings.repository)
    system = repository.name if settings.system is None else (settings.system or None)
    with ExitStack() as stack:
        # Take the store first: a rival run is reported before any work is done.
        store = None
        if not settings.dry_run:
            store = stack.enter_context(
                Store(
                    settings.store_path,
                    wait=settings.wait_for_store,
                    on_wait=listener.waiting_for_store,
                )
            )
        derivation, tags, warnings = derive_repository(repository, settings.derivation)
        for warning in warnings:
            listener.warn(warning)
        events = list(events_in_order(derivation, system=system, teams=settings.teams))
        if settings.output is not None:
            write_ndjson(events, settings.output)
        summary = Summary(
            repository=str(settings.repository),
            system=system,
            destination=endpoint(settings.base_url) if settings.api_key else None,
            store=None if store is None else str(settings.store_path),
            dry_run=settings.dry_run,
            derivation=derivation,
            events=events,
            delivery=None,
            warnings=warnings,
            tag_names=[tag.name for tag in tags],
        )
        if store is not None:
            row_ids = store.record(events)
            if settings.api_key:
                summary.delivery = _deliver(
                    settings, store, events, row_ids, listener, cancel or threading.Event()
                )
    summary.elapsed_seconds = time.monotonic() - started
    return summary


def _deliver(
    settings: GitBackfillSettings,
    store: Store,
    events: Sequence[Event],
    row_ids: Sequence[int],
    listener: RunListener,
    cancel: threading.Event,
) -> DeliveryReport:
    assert settings.api_key
    api_key = settings.api_key

    async def deliver() -> DeliveryReport:
        async with IngestionClient(
            base_url=settings.base_url,
            api_key=api_key,
            environment=detect_environment(settings.environment),
            timeout=settings.timeout,
            concurrency=settings.concurrency,
        ) as client:
            deliverer = Deliverer(
                sender=client,
                store=store,
                target=store.target(settings.base_url, api_key),
                listener=listener,
                policy=settings.retry,
                key_source=settings.key_source,
                concurrency=settings.concurrency,
                cancel=cancel,
            )
            return await deliverer.deliver(events, row_ids, force=settings.force)

    listener.start_delivery(events)
    try:
        return asyncio.run(deliver())
    finally:
        listener.stop()


def write_ndjson(events: Sequence[Event], output: str) -> None:
    """Every event as one JSON line; a file is written whole or not at all."""
    if output == STDOUT:
        _write_lines(events, sys.stdout)
        sys.stdout.flush()
        return
    with _atomic_file(Path(output)) as stream:
        _write_lines(events, stream)


def _write_lines(events: Sequence[Event], stream: TextIO) -> None:
    for event in events:
        stream.write(event.ndjson_line())
        stream.write("\n")


@contextmanager
def _atomic_file(path: Path) -> Iterator[TextIO]:
    # /dev/null and other special files cannot be replaced: write to them directly.
    if path.exists() and not path.is_file():
        with path.open("w", encoding="utf-8") as stream:
            yield stream
        return
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or ".")
    except OSError as error:
        raise UsageError(
            f"cannot write --output {path} ({error.strerror}): pass a path in a writable folder"
        ) from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            yield stream
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
