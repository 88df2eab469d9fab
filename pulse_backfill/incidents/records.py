"""Incidents from the formats people keep them in, and which of them become events.

Pure logic: the documents come in as parsed JSON or text; fetching them is `sources`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pulse_backfill.dates import rfc3339
from pulse_backfill.documents.tables import TableError, missing, parse_time, rows
from pulse_backfill.pulse.events import Event, incident_event

STATUSPAGE_LIMIT = 50  # the public API's incidents.json lists the 50 most recent


class IncidentFormatError(TableError):
    """A document is not in the format its source promises."""


@dataclass(frozen=True)
class Incident:
    identifier: str
    created: int  # epoch seconds
    resolved: int | None  # None while it is open


@dataclass
class IncidentSelection:
    """What a run does with the incidents a source gave."""

    events: list[Event] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)  # picked up by a later run
    rejected: list[str] = field(default_factory=list)  # lines for people: which, and why
    outside: int = 0  # created outside --since/--until


def select_incidents(
    incidents: Iterable[Incident],
    *,
    since: int | None,
    until: int | None,
    system: str | None,
    source: str,
) -> IncidentSelection:
    """Resolved incidents created in [since, until) become events, oldest first."""
    selection = IncidentSelection()
    chosen: list[Incident] = []
    for incident in incidents:
        if (since is not None and incident.created < since) or (
            until is not None and incident.created >= until
        ):
            selection.outside += 1
        elif incident.resolved is None:
            selection.unresolved.append(incident.identifier)
        elif incident.resolved < incident.created:
            selection.rejected.append(
                f"incident {incident.identifier}: resolved ({rfc3339(incident.resolved)}) "
                f"before it was created ({rfc3339(incident.created)}): not sent"
            )
        else:
            chosen.append(incident)
    chosen.sort(key=lambda incident: (incident.created, incident.identifier))
    selection.events = [
        incident_event(
            i.identifier, i.created, i.resolved or i.created, system=system, source=source
        )
        for i in chosen
    ]
    return selection


def parse_statuspage(document: Any) -> tuple[list[Incident], bool]:
    """Incidents of a Statuspage `incidents.json`, and whether the page was full (so older
    incidents exist that it did not list)."""
    if not isinstance(document, dict) or not isinstance(document.get("incidents"), list):
        raise IncidentFormatError('not a Statuspage incidents.json: no "incidents" list')
    incidents = [_statuspage_incident(item) for item in document["incidents"]]
    return incidents, len(incidents) >= STATUSPAGE_LIMIT


def _statuspage_incident(item: Any) -> Incident:
    if not isinstance(item, dict) or "id" not in item or "created_at" not in item:
        raise IncidentFormatError('a Statuspage incident without "id" or "created_at"')
    identifier = str(item["id"])
    created = parse_time(item["created_at"], f"incident {identifier}: created_at")
    resolved_at = item.get("resolved_at")
    resolved = None if resolved_at is None else parse_time(resolved_at, f"incident {identifier}")
    return Incident(identifier, created, resolved)


def parse_pagerduty(document: Any) -> tuple[list[Incident], bool]:
    """One page of PagerDuty's `GET /incidents`, and whether more pages follow."""
    if not isinstance(document, dict) or not isinstance(document.get("incidents"), list):
        raise IncidentFormatError('not a PagerDuty incidents page: no "incidents" list')
    incidents = []
    for item in document["incidents"]:
        if not isinstance(item, dict) or "id" not in item or "created_at" not in item:
            raise IncidentFormatError('a PagerDuty incident without "id" or "created_at"')
        identifier = str(item["id"])
        created = parse_time(item["created_at"], f"incident {identifier}: created_at")
        resolved_at = item.get("resolved_at")
        resolved = None
        if resolved_at is not None and item.get("status", "resolved") == "resolved":
            resolved = parse_time(resolved_at, f"incident {identifier}: resolved_at")
        incidents.append(Incident(identifier, created, resolved))
    return incidents, bool(document.get("more"))


@dataclass(frozen=True)
class FileFields:
    """Which columns or keys of an incident file hold what."""

    identifier: str = "id"
    created: str = "created_at"
    resolved: str = "resolved_at"
    # With a status field, an incident is resolved only when it has this status.
    status: str | None = None
    resolved_status: str = "resolved"


def parse_incident_file(text: str, fields: FileFields, *, csv_hint: bool) -> list[Incident]:
    """Incidents of a JSON array, NDJSON, or CSV file (CSV when hinted or not JSON at all)."""
    records = rows(text, csv_hint=csv_hint)
    return [_file_incident(record, fields, position) for position, record in records]


def _file_incident(record: Mapping[str, Any], fields: FileFields, where: str) -> Incident:
    for name, option in ((fields.identifier, "--id-field"), (fields.created, "--created-field")):
        if record.get(name) in (None, ""):
            raise IncidentFormatError(str(missing(where, name, record, option)))
    identifier = str(record[fields.identifier])
    created = parse_time(record[fields.created], f"{where}: {fields.created}")
    resolved_value = record.get(fields.resolved)
    is_resolved = resolved_value not in (None, "")
    if fields.status is not None:
        is_resolved = is_resolved and str(record.get(fields.status)) == fields.resolved_status
    resolved = parse_time(resolved_value, f"{where}: {fields.resolved}") if is_resolved else None
    return Incident(identifier, created, resolved)
