"""`pulse-backfill git`: derive a repository's events, record them, deliver them."""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, closing
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from pulse_backfill.commands.collect import (
    DerivedRepository,
    collector_paused,
    derive_one,
    record_one,
)
from pulse_backfill.commands.runs import (
    GitBackfillSettings,
    PhaseListener,
    RepoReport,
)
from pulse_backfill.commands.sending import (
    Delivery,
    SendListener,
    SendSummary,
    ndjson,
    open_store,
)
from pulse_backfill.delivery.cancel import Cancel
from pulse_backfill.delivery.outcomes import DeliveryReport, Undelivered
from pulse_backfill.derive.derivation import Status
from pulse_backfill.errors import PulseBackfillError, StoreError
from pulse_backfill.git.manifest import RepoSpec
from pulse_backfill.pulse.events import Event, EventKind
from pulse_backfill.urls import credentials_in_the_clear, shown_location


class RunListener(SendListener, PhaseListener, Protocol):
    def start_repositories(self, count: int) -> None: ...

    def repository_started(self, report: RepoReport) -> None: ...

    def repository_done(self, report: RepoReport) -> None:
        """Derived and recorded (or failed); its delivery, if any, follows."""


@dataclass(kw_only=True)
class Summary(SendSummary):
    repositories: list[RepoReport] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # the run's own warnings
    shard: str | None = None  # "K/N" when the run took one shard

    @property
    def warnings(self) -> list[str]:
        return [*self.notes, *(w for report in self.repositories for w in report.warnings)]

    @property
    def failed(self) -> list[RepoReport]:
        return [report for report in self.repositories if report.error is not None]

    @property
    def exit_code(self) -> int:
        code = super().exit_code
        return 1 if code == 0 and self.failed else code

    def derived(self, kind: EventKind) -> int:
        return sum(report.derived(kind) for report in self.repositories)

    def to_json(self) -> dict[str, Any]:
        delivery = self.delivery_json()
        return {
            "repositories": [report.to_json() for report in self.repositories],
            "shard": self.shard,
            "destination": delivery.pop("destination"),
            "store": delivery.pop("store"),
            "dry_run": delivery.pop("dry_run"),
            "deployments": {
                **self.figures("deployment"),
                "skipped_empty": sum(r.derivation.count(Status.EMPTY) for r in self.repositories),
                "baselines": sum(r.derivation.count(Status.BASELINE) for r in self.repositories),
            },
            "changes": self.figures("change"),
            "incidents": self.figures("incident"),
            "waiting_for_a_key": delivery.pop("waiting_for_a_key"),
            "not_delivered": delivery.pop("not_delivered"),
            "failed_repositories": [r.location for r in self.failed],
            "stopped": delivery.pop("stopped"),
            "interrupted": delivery.pop("interrupted"),
            "warnings": self.warnings,
            "elapsed_seconds": delivery.pop("elapsed_seconds"),
        }


def run_git_backfill(
    settings: GitBackfillSettings,
    listener: RunListener,
    cancel: Cancel | None = None,
) -> Summary:
    """Derive, record, deliver. Setting `cancel` stops starting new requests (Ctrl-C).

    Up to `settings.jobs` repositories are in flight at once: fetched and derived by worker
    threads while the repository before them is recorded and delivered. Each is recorded and
    delivered in the order given, by this thread alone (the store has one writer), so the
    events, their order and the store are those of one repository after another.

    With one repository, a failure to read it ends the run; with several, it is reported and
    the others go on.
    """
    started = time.monotonic()
    cancel = cancel or Cancel()
    with ExitStack() as stack:
        # Take the store first: a rival run is reported before any work is done.
        store = open_store(settings, listener, stack)
        summary = Summary.starting(settings, store)
        summary.shard = None if settings.shard is None else str(settings.shard)
        write = None if settings.output is None else stack.enter_context(ndjson(settings.output))
        repositories = _to_run(settings, summary)
        names = _names(repositories, settings)
        for note in summary.notes:
            listener.warn(note)
        listener.start_repositories(len(repositories))
        stack.callback(listener.stop)
        target = None
        if store is not None and settings.api_key:
            target = store.target(settings.base_url, settings.api_key)
        delivery = stack.enter_context(closing(Delivery(settings, listener, cancel)))
        # Deriving only what is new needs the store's word on what was, and every event for
        # --output and --force.
        resync = store is not None and settings.output is None and not settings.force
        pool = stack.enter_context(
            ThreadPoolExecutor(max_workers=settings.jobs, thread_name_prefix="derive")
        )
        stack.callback(pool.shutdown, cancel_futures=True)  # Ctrl-C: those not started wait
        waiting = iter(repositories)
        waited: dict[str, int] = {}  # without a key: each origin's events waiting before
        in_flight: deque[tuple[RepoReport, Future[DerivedRepository]]] = deque()

        def start_more(room: int) -> None:
            while len(in_flight) < room and not cancel.is_set():
                spec = next(waiting, None)
                if spec is None:
                    return
                report = RepoReport(location=shown_location(spec.location), name=names[spec])
                listener.repository_started(report)  # before its worker tells its phases
                store_path = None if store is None else store.path
                job = pool.submit(
                    derive_one, spec, settings, store_path, report, listener, resync=resync
                )
                in_flight.append((report, job))

        while True:
            # While the first is recorded and delivered, the next ones are fetched and derived.
            start_more(settings.jobs)
            if not in_flight:
                break
            report, job = in_flight.popleft()
            summary.repositories.append(report)
            try:
                derived = job.result()
                if store is not None and target is None:
                    waited[derived.origin] = store.count_unacknowledged(derived.origin)
                with collector_paused():
                    events, rows, already = record_one(
                        derived, settings, store, target, report, write, listener
                    )
            except StoreError:
                raise  # the store is every repository's: a damaged or full one ends the run
            except PulseBackfillError as error:
                if cancel.is_set():
                    # Stopped (its git processes were ended): not a failure of the repository.
                    summary.repositories.pop()
                    summary.stopped_deriving = True
                    break
                if len(repositories) == 1:
                    raise
                report.error = str(error)
                events, rows, already = [], [], {}
            listener.repository_done(report)
            # Each repository is delivered as soon as it is derived: memory stays that of the
            # repositories in flight, however many a run has. After a stop (a rejected key, a
            # server that stays down) later ones are still recorded, for the next run.
            stopped = summary.delivery is not None and summary.delivery.stopped is not None
            if store is not None and target is not None and events and not stopped:
                listener.repository_phase(report, "sending", 0, len(events))
                report_of_one = delivery.deliver(store, target, events, rows)
                summary.delivery = merge(summary.delivery, report_of_one)
            elif stopped:
                summary.delivery = merge(summary.delivery, _not_sent(events))
            if already:
                summary.delivery = merge(summary.delivery, DeliveryReport(already=already))
        if len(summary.repositories) < len(repositories):
            summary.stopped_deriving = True  # what was derived is recorded; the rest waits
        if store is not None and target is not None and summary.delivery is None:
            summary.delivery = DeliveryReport()  # nothing was left to send
        elif store is not None and target is None:
            now = {
                report.origin: store.count_unacknowledged(report.origin)
                for report in summary.repositories
                if report.origin is not None
            }
            summary.waiting = sum(now.values())
            # Those a re-derivation dropped (a tag deleted) are not new ones less.
            summary.new_waiting = sum(
                max(count - waited.get(origin, 0), 0) for origin, count in now.items()
            )
    summary.elapsed_seconds = time.monotonic() - started
    return summary


def _to_run(settings: GitBackfillSettings, summary: Summary) -> list[RepoSpec]:
    """The repositories this run takes: its shard's, and a repository given twice the same
    way once (two runs of it at once would both derive from the same sync point)."""
    seen: set[RepoSpec] = set()
    taken = []
    for spec in settings.repositories:
        key = replace(spec, where=None)
        if key in seen:
            where = f" ({spec.where})" if spec.where else ""
            summary.notes.append(
                f"{shown_location(spec.location)}{where} is listed twice the same way: run once"
            )
            continue
        seen.add(key)
        system = settings.system if spec.system is None else spec.system
        if settings.shard is not None and not settings.shard.takes(spec, system):
            continue
        if credentials_in_the_clear(spec.location):
            summary.notes.append(
                f"{shown_location(spec.location)}: its credentials travel unencrypted over "
                "plain http://; use https:// or ssh:// for a server that is not this machine"
            )
        taken.append(spec)
    if settings.shard is not None and not taken:
        summary.notes.append(
            f"shard {settings.shard} takes none of the {len(seen)} repositories: nothing to do"
        )
    return taken


def _names(repositories: Sequence[RepoSpec], settings: GitBackfillSettings) -> dict[RepoSpec, str]:
    """How the progress display names each repository: its system, which is its name unless
    given; its location (without credentials) where two would have the same."""
    names = {}
    for spec in repositories:
        system = settings.system if spec.system is None else spec.system
        names[spec] = system or settings.default_system(spec.location) or spec.location
    taken = Counter(names.values())
    repeated = [spec.location for spec in repositories if taken[names[spec]] > 1]
    return {
        spec: _tail(spec.location, repeated) if taken[name] > 1 else name
        for spec, name in names.items()
    }


def _tail(location: str, among: Sequence[str]) -> str:
    """The shortest end of `location` (shown without credentials) that no other of `among`
    ends with: `acme/api.git` beside `other/api.git`."""
    shown = shown_location(location)
    others = [shown_location(other) for other in among if other != location]
    parts = shown.split("/")
    for count in range(1, len(parts) + 1):
        tail = "/".join(parts[-count:])
        if not any(other == tail or other.endswith("/" + tail) for other in others):
            return tail
    return shown


def merge(first: DeliveryReport | None, second: DeliveryReport) -> DeliveryReport:
    """Two repositories' deliveries as one run's."""
    if first is None:
        return second
    merged = DeliveryReport(
        sent=dict(first.sent),
        already=dict(first.already),
        undelivered=[*first.undelivered, *second.undelivered],
        stopped=first.stopped or second.stopped,
        interrupted=first.interrupted or second.interrupted,
    )
    for counts, more in ((merged.sent, second.sent), (merged.already, second.already)):
        for kind, count in more.items():
            counts[kind] = counts.get(kind, 0) + count
    return merged


def _not_sent(events: Sequence[Event]) -> DeliveryReport:
    reason = "not sent: the run stopped"
    return DeliveryReport(undelivered=[Undelivered(e.kind, e.identifier, reason) for e in events])
