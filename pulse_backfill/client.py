"""One HTTP request per event, as the standard CLI sends it."""

from __future__ import annotations

import asyncio
import ssl
from urllib.parse import urlencode

import httpx

from pulse_backfill import __version__
from pulse_backfill.events import Event
from pulse_backfill.ingestion import DEFAULT_TIMEOUT, check_base_url, endpoint, redact
from pulse_backfill.outcomes import Answer
from pulse_backfill.policy import parse_retry_after

MAX_CONNECT_TIMEOUT = 10.0  # a host that does not accept in this long will not


class IngestionClient:
    """Sends events to one target (a base URL, an API key, a CI environment) over kept-alive
    connections, as many at once as `concurrency`."""

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        environment: str,
        timeout: float = DEFAULT_TIMEOUT,
        concurrency: int = 1,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._endpoint = endpoint(check_base_url(base_url))
        self._api_key = api_key
        # One single-connection client per request in flight: httpcore's pool scans all its
        # connections on every request, which costs more than the requests once there are dozens.
        # They share one TLS context: loading the CA bundle takes tens of milliseconds.
        tls = ssl.create_default_context()
        self._clients = [
            httpx.AsyncClient(
                verify=tls,
                timeout=httpx.Timeout(timeout, connect=min(timeout, MAX_CONNECT_TIMEOUT)),
                follow_redirects=False,
                transport=transport,
                limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
                headers={
                    "Content-Type": "application/json",
                    "Environment": environment,
                    "CLI-Version": __version__,
                },
            )
            for _ in range(concurrency)
        ]
        self._urls: dict[str | None, httpx.URL] = {}  # parsed once per system, not per event
        self._idle: asyncio.Queue[httpx.AsyncClient] = asyncio.Queue()
        for client in self._clients:
            self._idle.put_nowait(client)

    async def __aenter__(self) -> IngestionClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        for client in self._clients:
            await client.aclose()

    def url(self, system: str | None) -> str:
        # Go's url.Values.Encode: keys sorted, values query-escaped.
        query = {"api_key": self._api_key}
        if system:
            query["system"] = system
        return f"{self._endpoint}?{urlencode(sorted(query.items()))}"

    async def send(self, event: Event) -> Answer:
        """One attempt to deliver `event`."""
        url = self._urls.get(event.system)
        if url is None:
            url = self._urls[event.system] = httpx.URL(self.url(event.system))
        client = await self._idle.get()
        try:
            response = await client.post(url, content=event.encode())
        except httpx.HTTPError as error:
            return Answer(None, self._redact(_describe(error)))
        finally:
            self._idle.put_nowait(client)
        if response.is_success:
            return Answer(response.status_code)
        detail = f"{response.status_code} {response.reason_phrase}"
        body = " ".join(response.text.split())
        if body:
            detail += f": {body[:300]}"
        location = response.headers.get("location") if response.is_redirect else None
        return Answer(
            response.status_code,
            self._redact(detail),
            retry_after=parse_retry_after(response.headers.get("retry-after")),
            location=self._redact(location) if location else None,
        )

    def _redact(self, text: str) -> str:
        return redact(text, self._api_key)


def _describe(error: httpx.HTTPError) -> str:
    """A network error in a few words: its kind, and what the OS or peer said."""
    reason = str(error)
    if not reason:
        reason = "no answer within --timeout" if isinstance(error, httpx.TimeoutException) else "?"
    return f"{type(error).__name__}: {reason}"
