"""The standard CLI's push commands, as events: the same bodies, with its mistakes refused."""

from __future__ import annotations

from collections.abc import Sequence

from pulse_backfill.errors import UsageError
from pulse_backfill.git.repository import Repository
from pulse_backfill.pulse.events import (
    CLI_SOURCE,
    GIT_SOURCE,
    Event,
    change_event,
    deployment_event,
    incident_event,
)


def push_change(
    identifier: str, timestamp: int, *, source: str, event_type: str, system: str | None
) -> Event:
    _require(identifier, "--identifier")
    return change_event(identifier, timestamp, system=system, source=source, event_type=event_type)


def push_deployment(
    identifier: str,
    timestamp: int,
    changes: Sequence[str],
    *,
    source: str = CLI_SOURCE,
    teams: Sequence[str] = (),
    system: str | None,
) -> Event:
    _require(identifier, "--identifier")
    if not changes:
        raise UsageError(
            "a deployment needs at least one change: pass the ids of the changes it shipped "
            "after the options"
        )
    # Pushed on their own, a deployment's changes may come before or after it: it waits for none.
    return deployment_event(
        identifier, timestamp, changes, system=system, teams=teams, source=source, requires=()
    )


def push_incident(
    identifier: str, created: int, resolved: int, *, source: str, system: str | None
) -> Event:
    _require(identifier, "--identifier")
    if resolved < created:
        raise UsageError(
            f"--timestampResolved {resolved} is before --timestampCreated {created}: "
            "an incident is resolved after it was created"
        )
    return incident_event(identifier, created, resolved, system=system, source=source)


def push_git_deployment(
    repository: Repository,
    *,
    previous_ref: str,
    end_ref: str,
    paths: Sequence[str],
    identifier: str,
    timestamp: int,
    teams: Sequence[str],
    system: str | None,
) -> list[Event]:
    """The standard CLI's git helper: each commit of `git log PREVIOUS..END [-- PATHS]` as a
    change (author date, source git), then the deployment with all of them."""
    _require(identifier, "--identifier")
    start = repository.resolve(previous_ref, "--previous-deployment-ref")
    end = repository.resolve(end_ref, "--ref")
    commits = repository.log(start, end, paths)
    if not commits:
        where = f" that touch {', '.join(paths)}" if paths else ""
        raise UsageError(
            f"no commits{where} between {previous_ref} and {end_ref}: a deployment needs at "
            "least one change; check --previous-deployment-ref"
        )
    changes = [change_event(commit, when, system=system) for commit, when in commits]
    deployment = deployment_event(
        identifier,
        timestamp,
        [commit for commit, _ in commits],
        system=system,
        teams=teams,
        source=GIT_SOURCE,
    )
    return [*changes, deployment]


def _require(value: str, option: str) -> None:
    if not value.strip():
        raise UsageError(f"{option} must not be empty")
