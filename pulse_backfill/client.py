"""One HTTP request per event, as the standard CLI sends it."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from enum import Enum
from urllib.parse import urlencode, urljoin, urlsplit

import httpx

from pulse_backfill import __version__
from pulse_backfill.errors import UsageError
from pulse_backfill.events import Event

DEFAULT_BASE_URL = "https://ingestion.pulse.codacy.com"
INGESTION_PATH = "/v1/ingestion/cli"
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
REDACTED = "***"


class Outcome(Enum):
    ACKNOWLEDGED = "acknowledged"
    REJECTED = "rejected"  # this event is refused; the others may still go
    KEY_REJECTED = "key rejected"  # 401/403: every event would be refused
    UNREACHABLE = "unreachable"  # no answer from the server


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    detail: str = ""


def check_base_url(base_url: str) -> str:
    """The base URL, if it is an http(s) URL with a host; a usage error naming the fix if not."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(
            f"--base-url {base_url!r} is not an http(s) URL: pass one like {DEFAULT_BASE_URL}"
        )
    return base_url


def is_loopback(base_url: str) -> bool:
    host = urlsplit(base_url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def endpoint(base_url: str) -> str:
    # The standard CLI resolves an absolute path against the base URL: its path is replaced.
    return urljoin(base_url, INGESTION_PATH)


def redact(text: str, api_key: str) -> str:
    """`text` with the key replaced, for anything we print."""
    if not api_key:
        return text
    for form in {api_key, urlencode({"k": api_key})[2:]}:
        text = text.replace(form, REDACTED)
    return text


class IngestionClient:
    """Sends events to one target: a base URL, an API key and a CI environment."""

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        environment: str,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._endpoint = endpoint(check_base_url(base_url))
        self._api_key = api_key
        self._http = httpx.Client(
            timeout=timeout,
            follow_redirects=False,
            transport=transport,
            headers={"Environment": environment, "CLI-Version": __version__},
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> IngestionClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def url(self, system: str | None) -> str:
        # Go's url.Values.Encode: keys sorted, values query-escaped.
        query = {"api_key": self._api_key}
        if system:
            query["system"] = system
        return f"{self._endpoint}?{urlencode(sorted(query.items()))}"

    def send(self, event: Event) -> Result:
        try:
            response = self._http.post(
                self.url(event.system),
                content=event.encode(),
                headers={"Content-Type": "application/json"},
            )
        except httpx.HTTPError as error:
            return Result(Outcome.UNREACHABLE, self._redact(f"{type(error).__name__}: {error}"))
        if response.is_success:
            return Result(Outcome.ACKNOWLEDGED)
        detail = f"{response.status_code} {response.reason_phrase}"
        body = response.text.strip()
        if body:
            detail += f": {body[:500]}"
        if response.is_redirect:
            detail += f" (redirected to {response.headers.get('location', '?')})"
        if response.status_code in (401, 403):
            return Result(Outcome.KEY_REJECTED, self._redact(detail))
        return Result(Outcome.REJECTED, self._redact(detail))

    def _redact(self, text: str) -> str:
        return redact(text, self._api_key)
