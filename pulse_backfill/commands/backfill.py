"""`pulse-backfill git`: derive a repository's events, record them, deliver them."""

from __future__ import annotations

import gc
import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from pulse_backfill.commands.sending import (
    SendListener,
    SendSettings,
    SendSummary,
    deliver,
    ndjson,
    open_store,
)
from pulse_backfill.commands.sources import source_of
from pulse_backfill.commands.sync import SyncMode, SyncPoint, derive_repository
from pulse_backfill.delivery.outcomes import DeliveryReport, Undelivered
from pulse_backfill.derive.derivation import Derivation, DerivationOptions, Status
from pulse_backfill.derive.releases import TagRules
from pulse_backfill.derive.sources import (
    BranchSource,
    DeploymentSource,
    ExportFields,
    FileSource,
    TagSource,
)
from pulse_backfill.errors import PulseBackfillError
from pulse_backfill.git.manifest import RepoSpec
from pulse_backfill.git.remote import default_cache_dir, is_remote, mirror, repository_name
from pulse_backfill.git.repository import Repository
from pulse_backfill.pulse.events import Event, EventKind, NdjsonLines, events_in_order
from pulse_backfill.store import Store
from pulse_backfill.urls import display_url, shown_location


@dataclass(frozen=True, kw_only=True)
class GitBackfillSettings(SendSettings):
    """Everything a run needs; the CLI builds it, the core never reads argv or the environment."""

    repositories: tuple[RepoSpec, ...]
    deployments_from: str = "tags"  # a --repos line may name its own
    tag_rules: TagRules = field(default_factory=TagRules)
    export_fields: ExportFields = field(default_factory=ExportFields)
    derivation: DerivationOptions = field(default_factory=DerivationOptions)
    paths: tuple[str, ...] = ()  # only commits touching these are changes (--path)
    system: str | None = None  # None: each repository's name
    teams: tuple[str, ...] = ()
    cache_dir: Path = field(default_factory=default_cache_dir)

    def source_of(self, spec: RepoSpec) -> DeploymentSource:
        return source_of(
            spec,
            deployments_from=self.deployments_from,
            rules=self.tag_rules,
            fields=self.export_fields,
        )


class RunListener(SendListener, Protocol):
    def start_repositories(self, count: int) -> None: ...

    def repository_done(self, report: RepoReport) -> None: ...


@dataclass
class RepoReport:
    """What one repository gave: its derivation, or why it failed."""

    location: str  # a path, or a URL without credentials
    system: str | None = None
    sync: SyncMode | None = None
    derivation: Derivation = field(default_factory=lambda: Derivation(()))
    counts: dict[EventKind, int] = field(default_factory=dict)  # events derived by this run
    source: str = "tags"  # where its deployments came from, as --deployments-from names it
    tag_names: list[str] = field(default_factory=list)
    default_branch: str | None = None  # a branch to suggest deploying from
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    origin: str | None = None  # its key in the store

    def derived(self, kind: EventKind) -> int:
        return self.counts.get(kind, 0)

    def to_json(self) -> dict[str, Any]:
        return {
            "repository": self.location,
            "system": self.system,
            "sync": None if self.sync is None else str(self.sync),
            "deployments_from": self.source,
            "deployments": {
                "derived": self.derived("deployment"),
                "skipped_empty": self.derivation.count(Status.EMPTY),
                "baselines": self.derivation.count(Status.BASELINE),
            },
            "changes": {"derived": self.derived("change")},
            "error": self.error,
        }


@dataclass(kw_only=True)
class Summary(SendSummary):
    repositories: list[RepoReport] = field(default_factory=list)

    @property
    def warnings(self) -> list[str]:
        return [warning for report in self.repositories for warning in report.warnings]

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
            "destination": delivery.pop("destination"),
            "store": delivery.pop("store"),
            "dry_run": delivery.pop("dry_run"),
            "deployments": {
                **self.figures("deployment"),
                "skipped_empty": sum(r.derivation.count(Status.EMPTY) for r in self.repositories),
                "baselines": sum(r.derivation.count(Status.BASELINE) for r in self.repositories),
            },
            "changes": self.figures("change"),
            "waiting_for_a_key": delivery.pop("waiting_for_a_key"),
            "not_delivered": delivery.pop("not_delivered"),
            "failed_repositories": [r.location for r in self.failed],
            "stopped": delivery.pop("stopped"),
            "interrupted": delivery.pop("interrupted"),
            "warnings": self.warnings,
            "elapsed_seconds": delivery.pop("elapsed_seconds"),
        }


def open_repository(location: str, cache_dir: Path) -> Repository:
    """A local repository as it is, or a URL's cached clone, fetched first."""
    if not is_remote(location):
        return Repository(Path(location))
    return Repository(
        mirror(location, cache_dir), label=display_url(location), name=repository_name(location)
    )


def run_git_backfill(
    settings: GitBackfillSettings,
    listener: RunListener,
    cancel: threading.Event | None = None,
) -> Summary:
    """Derive, record, deliver. Setting `cancel` stops starting new requests (Ctrl-C).

    With one repository, a failure to read it ends the run; with several, it is reported and
    the others go on.
    """
    started = time.monotonic()
    with ExitStack() as stack:
        # Take the store first: a rival run is reported before any work is done.
        store = open_store(settings, listener, stack)
        summary = Summary.starting(settings, store)
        write = None if settings.output is None else stack.enter_context(ndjson(settings.output))
        listener.start_repositories(len(settings.repositories))
        stack.callback(listener.stop)
        cancel = cancel or threading.Event()
        target = None
        if store is not None and settings.api_key:
            target = store.target(settings.base_url, settings.api_key)
        for spec in settings.repositories:
            if cancel.is_set():  # what was derived is recorded; the rest waits for the next run
                summary.stopped_deriving = True
                break
            report = RepoReport(location=shown_location(spec.location))
            summary.repositories.append(report)
            try:
                with _collector_paused():
                    events, rows = _collect(spec, settings, store, target, report, write)
            except PulseBackfillError as error:
                if len(settings.repositories) == 1:
                    raise
                report.error = str(error)
                events, rows = [], []
            listener.repository_done(report)
            # Each repository is delivered as soon as it is derived: memory stays that of one
            # repository, however many a run has. After a stop (a rejected key, a server that
            # stays down) later ones are still recorded, for the next run.
            stopped = summary.delivery is not None and summary.delivery.stopped is not None
            if store is not None and target is not None and events and not stopped:
                report_of_one = deliver(settings, store, target, events, rows, listener, cancel)
                summary.delivery = merge(summary.delivery, report_of_one)
            elif stopped:
                summary.delivery = merge(summary.delivery, _not_sent(events))
        if store is not None and target is not None and summary.delivery is None:
            summary.delivery = DeliveryReport()  # nothing was left to send
        elif store is not None and target is None:
            summary.waiting = sum(
                store.count_unacknowledged(report.origin)
                for report in summary.repositories
                if report.origin is not None
            )
    summary.elapsed_seconds = time.monotonic() - started
    return summary


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


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Derivation allocates objects per commit, none of them in a reference cycle; the cycle
    collector's passes over that growing heap cost a tenth of a large history's derivation."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        # Frozen, what was built is never walked: re-enabled with it all in the youngest
        # generation, the collector's next pass would walk every object, then do so again later.
        gc.freeze()
        if was_enabled:
            gc.enable()


def _collect(
    spec: RepoSpec,
    settings: GitBackfillSettings,
    store: Store | None,
    target: int | None,
    report: RepoReport,
    write: Callable[[bytes], object] | None,
) -> tuple[list[Event], list[int]]:
    """Derive one repository into `report`, write and record it; what it has to deliver."""
    repository = open_repository(spec.location, settings.cache_dir)
    system = settings.system if spec.system is None else spec.system
    report.system = repository.name if system is None else (system or None)
    options = settings.derivation
    source = settings.source_of(spec)
    report.source = str(source)
    paths = spec.paths or settings.paths
    origin = _origin(report.location, report.system, source, options, paths, settings.teams)
    # Deriving only what is new needs the store's word on what was, and every event for
    # --output and --force.
    resync = store is not None and settings.output is None and not settings.force
    previous = store.sync_point(origin) if store is not None and resync else None
    # A dry run's lines are formatted as the derivation makes each deployment, while git
    # still streams, and written in order once it is done.
    dry_lines = None
    if store is None and write is not None:
        dry_lines = NdjsonLines(system=report.system, teams=settings.teams)
    derived = derive_repository(
        repository,
        source,
        options,
        paths=paths,
        previous=None if previous is None else SyncPoint.from_json(previous),
        reached_before=lambda: frozenset() if store is None else store.reached(origin),
        on_deployment=None if dry_lines is None else dry_lines.format_ahead,
        timeout=settings.timeout,
    )
    report.sync = derived.mode
    report.derivation = derived.derivation
    report.tag_names = [tag.name for tag in derived.found.tags]
    report.default_branch = derived.found.default_branch
    report.warnings = derived.found.warnings
    sent = derived.derivation.sent
    report.counts = {
        "change": sum(len(deployment.changes) for deployment in sent),
        "deployment": len(sent),
    }
    if store is None:
        # A dry run holds no event: it writes a large history without building one per commit.
        if write is not None and dry_lines is not None:
            for chunk in dry_lines.in_order(derived.derivation):
                write(chunk)
        return [], []
    events = list(events_in_order(derived.derivation, system=report.system, teams=settings.teams))
    if write is not None:
        for event in events:
            write(event.ndjson_line())
    report.origin = origin
    rows = store.record(
        events,
        origin=origin,
        point=derived.point.to_json(),
        reached=derived.reached,
        whole=derived.mode is SyncMode.FULL,
    )
    if target is None:
        return [], []
    if derived.mode is SyncMode.FULL:
        return events, rows
    return store.unacknowledged(origin, target)


def _origin(
    location: str,
    system: str | None,
    source: DeploymentSource,
    options: DerivationOptions,
    paths: Sequence[str],
    teams: Sequence[str],
) -> str:
    """The store's key for what this repository, derived this way, gives."""
    if not is_remote(location):
        location = str(Path(location).resolve())
    match source:
        case TagSource(rules):
            how: list[object] = [
                rules.prefix,
                rules.pattern.pattern if rules.pattern else None,
                rules.include_prereleases,
                str(rules.deploy_time),
            ]
        case BranchSource(name):
            how = ["branch", name]
        case FileSource(export, fields):
            how = ["file", shown_location(export), *vars(fields).values()]
    recipe = json.dumps(
        [
            system,
            *how,
            options.since,
            options.until,
            str(options.change_time),
            options.include_first,
            options.no_merges,
            list(paths),
            list(teams),
        ]
    )
    return f"git {location} {hashlib.sha256(recipe.encode()).hexdigest()[:16]}"
