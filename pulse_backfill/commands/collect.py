"""One repository of a `git` run, in two steps: derived (fetched, read, derived: what a worker
thread does while others wait on the network), then recorded (written, put in the store: what
the run's one writer does, in the order the repositories were given)."""

from __future__ import annotations

import gc
import hashlib
import json
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from itertools import chain
from pathlib import Path

from pulse_backfill.commands.runs import GitBackfillSettings, PhaseListener, RepoReport
from pulse_backfill.commands.sync import (
    RepositoryDerivation,
    SyncMode,
    SyncPoint,
    derive_repository,
)
from pulse_backfill.derive.derivation import DerivationOptions
from pulse_backfill.derive.failures import FailureRules
from pulse_backfill.derive.sources import (
    BranchSource,
    DeploymentSource,
    FileSource,
    PlatformSource,
    TagSource,
)
from pulse_backfill.git.manifest import RepoSpec
from pulse_backfill.git.remote import cache_path, is_remote, mirror, repository_name
from pulse_backfill.git.repository import Repository
from pulse_backfill.pulse.events import (
    Event,
    EventKind,
    NdjsonLines,
    events_in_order,
    failure_incidents,
)
from pulse_backfill.store import OriginFacts, Store, reading_syncs
from pulse_backfill.urls import display_url, shown_location


@dataclass
class DerivedRepository:
    derived: RepositoryDerivation
    origin: str  # its key in the store


def open_repository(location: str, cache_dir: Path, git_timeout: float) -> Repository:
    """A local repository as it is, or a URL's cached clone, fetched first."""
    if not is_remote(location):
        return Repository(Path(location))
    return Repository(
        mirror(location, cache_dir, timeout=git_timeout),
        label=display_url(location),
        name=repository_name(location),
    )


def derive_one(
    spec: RepoSpec,
    settings: GitBackfillSettings,
    store_path: Path | None,
    report: RepoReport,
    listener: PhaseListener,
    *,
    resync: bool,
) -> DerivedRepository:
    """Fetch and derive one repository into `report`, telling `listener` its phases. It only
    reads the store (at `store_path`, on a connection of its own), so that several can run at
    once."""
    with collector_paused():
        if is_remote(spec.location):
            cached = cache_path(settings.cache_dir, spec.location).exists()
            listener.repository_phase(report, "fetching" if cached else "cloning")
        repository = open_repository(spec.location, settings.cache_dir, settings.git_timeout)
        listener.repository_phase(report, "deriving")
        system = settings.system if spec.system is None else spec.system
        report.system = repository.name if system is None else (system or None)
        source = settings.source_of(spec)
        report.source = str(source)
        report.tag_rules = source.rules if isinstance(source, TagSource) else None
        paths = spec.paths or settings.paths
        rules = settings.rules_of(spec)
        report.rules = str(rules)
        origin = _origin(
            report.location,
            report.system,
            source,
            settings.derivation,
            paths,
            settings.teams,
            rules,
        )
        with ExitStack() as stack:
            syncs = None
            if store_path is not None and resync:
                syncs = stack.enter_context(reading_syncs(store_path))
            previous = None if syncs is None else syncs.sync_point(origin)
            derived = derive_repository(
                repository,
                source,
                settings.derivation,
                paths=paths,
                previous=None if previous is None else SyncPoint.from_json(previous),
                reached_before=lambda: frozenset() if syncs is None else syncs.reached(origin),
                on_read=lambda commits: listener.repository_phase(report, "deriving", commits),
                timeout=settings.timeout,
                rules=rules,
                store=None if syncs is None else syncs.failures_before(origin),
                platform=settings.platform,
            )
    report.sync = derived.mode
    report.derivation = derived.derivation
    report.tag_names = [tag.name for tag in derived.found.tags]
    report.default_branch = derived.found.default_branch
    report.warnings = derived.found.warnings
    sent = derived.derivation.sent
    report.failures = derived.failures
    report.counts = {
        "change": sum(len(deployment.changes) for deployment in sent),
        "deployment": len(sent),
        "incident": len(derived.failures),
    }
    # Until the writer, busy with the repositories before it, takes it up.
    listener.repository_phase(report, "waiting", total=sum(report.counts.values()))
    return DerivedRepository(derived, origin)


def record_one(
    one: DerivedRepository,
    settings: GitBackfillSettings,
    store: Store | None,
    target: int | None,
    report: RepoReport,
    write: Callable[[bytes], object] | None,
    listener: PhaseListener,
) -> tuple[list[Event], list[int], dict[EventKind, int]]:
    """Write and record a derived repository; what it has to deliver, and how many of its
    events, by kind, the target acknowledged in earlier runs and are not among them."""
    derived = one.derived
    incidents = failure_incidents(derived.failures, system=report.system)
    if store is None:
        # A dry run holds no event: it writes a large history without building one per commit.
        if write is not None:
            lines = NdjsonLines(system=report.system, teams=settings.teams)
            for chunk in lines.in_order(derived.derivation):
                write(chunk)
            for incident in incidents:
                write(incident.ndjson_line())
        return [], [], {}
    full = derived.mode is SyncMode.FULL
    made = chain(
        events_in_order(derived.derivation, system=report.system, teams=settings.teams), incidents
    )
    # Held only to be written or delivered too: otherwise each goes into the store as it is
    # made, as a large history's events take more memory than its whole derivation.
    held = write is not None or (target is not None and full)
    events = list(made) if held else []
    if write is not None:
        for event in events:
            write(event.ndjson_line())
    report.origin = one.origin
    listener.repository_phase(report, "recording", total=sum(report.counts.values()))
    rows = store.record(
        events if held else made,
        origin=one.origin,
        point=derived.point.to_json(),
        reached=derived.reached,
        whole=full,
        shipped=derived.shipped,
        failures=derived.failures,
        facts=OriginFacts(report.system, report.rules, settings.derivation.since),
    )
    if target is None:
        return [], [], {}
    if full:
        return events, rows, {}  # the delivery counts those acknowledged before among them
    # Only what the target has not acknowledged is delivered: the rest was, by earlier runs.
    already = store.count_acknowledged(one.origin, target)
    events, rows = store.unacknowledged(one.origin, target)
    return (
        events,
        rows,
        {kind: already[kind] for kind in ("change", "deployment", "incident") if kind in already},
    )


_paused = 0  # derivations and recordings under way with the collector paused
_was_enabled = True
_paused_lock = threading.Lock()


@contextmanager
def collector_paused() -> Iterator[None]:
    """Derivation allocates objects per commit, none of them in a reference cycle; the cycle
    collector's passes over that growing heap cost a tenth of a large history's derivation.
    Paused while any derivation runs, as several may run at once."""
    global _paused, _was_enabled
    with _paused_lock:
        if _paused == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _paused += 1
    try:
        yield
    finally:
        with _paused_lock:
            _paused -= 1
            if _paused == 0:
                # Frozen, what was built is never walked: re-enabled with it all in the youngest
                # generation, the collector's next pass would walk every object, then do so
                # again later.
                gc.freeze()
                if _was_enabled:
                    gc.enable()


def _origin(
    location: str,
    system: str | None,
    source: DeploymentSource,
    options: DerivationOptions,
    paths: Sequence[str],
    teams: Sequence[str],
    failure_rules: FailureRules,
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
        case PlatformSource():
            how = [str(source), source.include_prereleases]
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
            # Only with rules: the origins of stores that infer none stay as they were.
            *([str(failure_rules)] if failure_rules else []),
        ]
    )
    return f"git {location} {hashlib.sha256(recipe.encode()).hexdigest()[:16]}"
