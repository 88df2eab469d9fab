"""Fetching incidents over HTTP (a status page, PagerDuty) or from a file: the I/O side."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pulse_backfill.dates import rfc3339
from pulse_backfill.documents.fetch import Query, client, get_json, read_document
from pulse_backfill.documents.tables import TableError
from pulse_backfill.errors import FetchError, UsageError
from pulse_backfill.incidents.records import (
    FileFields,
    Incident,
    parse_incident_file,
    parse_pagerduty,
    parse_statuspage,
)
from pulse_backfill.urls import shown_location

PAGERDUTY_API = "https://api.pagerduty.com"
PAGERDUTY_WINDOW = 180 * 24 * 3600  # the API answers at most six months per query
PAGERDUTY_PAGE = 100
STATUSPAGE_PATH = "/api/v2/incidents.json"


@dataclass(frozen=True)
class Fetched:
    incidents: list[Incident]
    notes: list[str]  # what a person should know about what the source could give


def statuspage(url: str, *, timeout: float) -> Fetched:
    """A Statuspage page's public incidents (`URL` is the page or its incidents.json)."""
    api = url if url.rstrip("/").endswith(".json") else url.rstrip("/") + STATUSPAGE_PATH
    with client(timeout) as session:
        document = get_json(session, api, "the status page")
    try:
        incidents, full = parse_statuspage(document)
    except TableError as error:
        raise UsageError(
            f"{shown_location(api)}: {error}: pass a Statuspage page's address"
        ) from None
    notes = []
    if full:
        notes.append(
            f"the status page listed {len(incidents)} incidents, the most its API gives: older "
            "incidents are not included"
        )
    return Fetched(incidents, notes)


def pagerduty(
    *,
    token: str,
    since: int,
    until: int,
    services: Sequence[str],
    api: str = PAGERDUTY_API,
    timeout: float,
) -> Fetched:
    """PagerDuty's incidents created in [since, until): six months per query, paged."""
    headers = {
        "Authorization": f"Token token={token}",
        "Accept": "application/vnd.pagerduty+json;version=2",
    }
    incidents: list[Incident] = []
    with client(timeout, headers) as session:
        start = since
        while start < until:
            end = min(start + PAGERDUTY_WINDOW, until)
            offset = 0
            while True:
                params: Query = [
                    ("since", rfc3339(start)),
                    ("until", rfc3339(end)),
                    ("time_zone", "UTC"),
                    ("limit", str(PAGERDUTY_PAGE)),
                    ("offset", str(offset)),
                    *(("service_ids[]", service) for service in services),
                ]
                document = get_json(session, f"{api.rstrip('/')}/incidents", "PagerDuty", params)
                try:
                    page, more = parse_pagerduty(document)
                except TableError as error:
                    raise FetchError(f"PagerDuty answered unexpectedly: {error}") from None
                incidents.extend(page)
                if not more or not page:
                    break
                offset += len(page)
            start = end
    return Fetched(incidents, [])


def incident_file(location: str, fields: FileFields, *, timeout: float) -> Fetched:
    """Incidents of a JSON, NDJSON or CSV file, at a path or an http(s) URL."""
    text, csv_hint = read_document(location, "the incident file", timeout=timeout)
    try:
        return Fetched(parse_incident_file(text, fields, csv_hint=csv_hint), [])
    except TableError as error:
        raise UsageError(f"{shown_location(location)}: {error}") from None
