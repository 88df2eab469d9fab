"""Fetching incidents over HTTP (a status page, PagerDuty) or from a file: the I/O side."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pulse_backfill import __version__
from pulse_backfill.dates import rfc3339
from pulse_backfill.errors import FetchError, UsageError
from pulse_backfill.incidents.records import (
    FileFields,
    Incident,
    IncidentFormatError,
    parse_incident_file,
    parse_pagerduty,
    parse_statuspage,
)
from pulse_backfill.urls import shown_location

if TYPE_CHECKING:
    import httpx

Query = list[tuple[str, str | int | float | bool | None]]  # what httpx takes as params

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
    with _client(timeout) as client:
        document = _get_json(client, api, "the status page")
    try:
        incidents, full = parse_statuspage(document)
    except IncidentFormatError as error:
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
    with _client(timeout, headers) as client:
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
                document = _get_json(client, f"{api.rstrip('/')}/incidents", "PagerDuty", params)
                try:
                    page, more = parse_pagerduty(document)
                except IncidentFormatError as error:
                    raise FetchError(f"PagerDuty answered unexpectedly: {error}") from None
                incidents.extend(page)
                if not more or not page:
                    break
                offset += len(page)
            start = end
    return Fetched(incidents, [])


def incident_file(location: str, fields: FileFields, *, timeout: float) -> Fetched:
    """Incidents of a JSON, NDJSON or CSV file, at a path or an http(s) URL."""
    csv_hint = location.lower().split("?", 1)[0].endswith(".csv")
    if location.startswith(("http://", "https://")):
        with _client(timeout) as client:
            response = _get(client, location, "the incident file")
        text = response.text
        csv_hint = csv_hint or "csv" in response.headers.get("content-type", "")
    else:
        try:
            text = Path(location).read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as error:
            reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
            raise UsageError(f"cannot read {location} ({reason}): pass a readable file") from None
    try:
        return Fetched(parse_incident_file(text, fields, csv_hint=csv_hint), [])
    except IncidentFormatError as error:
        raise UsageError(f"{shown_location(location)}: {error}") from None


def _client(timeout: float, headers: dict[str, str] | None = None) -> httpx.Client:
    # Imported here, as in `_get`: httpx is a sixth of the start-up of every other command.
    import httpx

    return httpx.Client(
        timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
        headers={"User-Agent": f"pulse-backfill/{__version__}", **(headers or {})},
        transport=httpx.HTTPTransport(retries=2),  # connection failures only
        follow_redirects=True,
    )


def _get(client: httpx.Client, url: str, what: str, params: Query | None = None) -> httpx.Response:
    import httpx

    try:
        response = client.get(url, params=params)
    except httpx.HTTPError as error:
        raise FetchError(
            f"cannot reach {what} at {url} ({type(error).__name__}): try later"
        ) from None
    if response.status_code in (401, 403):
        raise UsageError(
            f"{what} refused the credentials ({response.status_code}): check the token"
        )
    if response.status_code == 404:
        raise UsageError(f"{what} has nothing at {shown_location(url)} (404): check the address")
    if response.is_error:
        raise FetchError(
            f"{what} answered {response.status_code} {response.reason_phrase} at "
            f"{shown_location(url)}: try later"
        )
    return response


def _get_json(client: httpx.Client, url: str, what: str, params: Query | None = None) -> Any:
    response = _get(client, url, what, params)
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise UsageError(
            f"{what} at {shown_location(url)} did not answer JSON: check the address"
        ) from None
