"""A document at a path or an http(s) URL: what incident sources and a deployments export are
read from. httpx is imported when a URL is fetched: the other commands do not pay for it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pulse_backfill import __version__
from pulse_backfill.errors import FetchError, UsageError, read_user_file
from pulse_backfill.urls import shown_location

if TYPE_CHECKING:
    import httpx

Query = list[tuple[str, str | int | float | bool | None]]  # what httpx takes as params


def read_document(location: str, what: str, *, timeout: float) -> tuple[str, bool]:
    """The text at a path or an http(s) URL, and whether it says it is CSV (by the name, or the
    answer's content type)."""
    csv_hint = location.lower().split("?", 1)[0].endswith(".csv")
    if location.startswith(("http://", "https://")):
        with client(timeout) as session:
            response = get(session, location, what)
        return response.text, csv_hint or "csv" in response.headers.get("content-type", "")
    text = read_user_file(Path(location), location, "pass a readable file", encoding="utf-8-sig")
    return text, csv_hint


def client(timeout: float, headers: dict[str, str] | None = None) -> httpx.Client:
    # Imported here, as in `get`: httpx is a sixth of the start-up of every other command.
    import httpx

    return httpx.Client(
        timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
        headers={"User-Agent": f"pulse-backfill/{__version__}", **(headers or {})},
        transport=httpx.HTTPTransport(retries=2),  # connection failures only
        follow_redirects=True,
    )


def get(client: httpx.Client, url: str, what: str, params: Query | None = None) -> httpx.Response:
    import httpx

    try:
        response = client.get(url, params=params)
    except httpx.HTTPError as error:
        raise FetchError(
            f"cannot reach {what} at {shown_location(url)} ({type(error).__name__}): try later"
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


def get_json(client: httpx.Client, url: str, what: str, params: Query | None = None) -> Any:
    response = get(client, url, what, params)
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise UsageError(
            f"{what} at {shown_location(url)} did not answer JSON: check the address"
        ) from None
