"""One HTTP request per event, as the standard CLI sends it."""

from __future__ import annotations

import asyncio
import ssl
import urllib.request
from urllib.parse import urlencode, urljoin, urlsplit

import httpx

from pulse_backfill import __version__
from pulse_backfill.delivery.network import AsyncioTransport
from pulse_backfill.delivery.outcomes import Answer
from pulse_backfill.delivery.policy import parse_retry_after
from pulse_backfill.pulse.endpoint import (
    DEFAULT_TIMEOUT,
    check_base_url,
    endpoint,
    redact,
)
from pulse_backfill.pulse.events import Event
from pulse_backfill.urls import is_loopback

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
        # One single-connection transport per request in flight: httpcore's pool scans all its
        # connections on every request, which costs more than the requests once there are dozens.
        # They share one TLS context: loading the CA bundle takes tens of milliseconds.
        # Requests go to the transport itself: the client layer above it (cookies, auth,
        # redirects, hooks) does nothing we use, at about a tenth of the CPU a request costs.
        # Bypassing the client means reading the proxy settings here, as the client would.
        # The transport runs on asyncio's streams, not anyio: see `network`.
        tls = ssl.create_default_context()
        proxy = environment_proxy(self._endpoint)
        self._transports: list[httpx.AsyncBaseTransport] = [
            transport or AsyncioTransport(tls, proxy) for _ in range(concurrency)
        ]
        self._timeout = httpx.Timeout(timeout, connect=min(timeout, MAX_CONNECT_TIMEOUT)).as_dict()
        # Built once: each request copies them rather than validating them again.
        self._headers = httpx.Headers(
            {
                "Content-Type": "application/json",
                "Environment": environment,
                "CLI-Version": __version__,
                "User-Agent": f"pulse-backfill/{__version__}",
                "Accept": "*/*",
            }
        )
        self._urls: dict[str | None, httpx.URL] = {}  # parsed once per system, not per event
        self._idle: asyncio.Queue[httpx.AsyncBaseTransport] = asyncio.Queue()
        for idle in self._transports:
            self._idle.put_nowait(idle)

    async def __aenter__(self) -> IngestionClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        # A transport passed in (tests) serves every slot: close it once.
        for transport in {id(t): t for t in self._transports}.values():
            await transport.aclose()

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
        transport = await self._idle.get()
        request = httpx.Request(
            "POST",
            url,
            headers=self._headers,
            content=event.encode(),
            extensions={"timeout": self._timeout},
        )
        try:
            response = await transport.handle_async_request(request)
            try:
                await response.aread()
            finally:
                await response.aclose()
        except httpx.HTTPError as error:
            return Answer(
                None,
                self._redact(_describe(error)),
                untrusted=_caused_by(error, ssl.SSLCertVerificationError) is not None,
                tls_failed=_tls_failed(error),
            )
        finally:
            self._idle.put_nowait(transport)
        if response.is_success:
            return Answer(response.status_code)
        detail = f"{response.status_code} {response.reason_phrase}"
        body = " ".join(response.text.split())
        if body:
            detail += f": {body[:300]}"
        location = response.headers.get("location") if response.is_redirect else None
        if location:
            location = urljoin(str(url), location)  # a relative one is relative to the request
        return Answer(
            response.status_code,
            self._redact(detail),
            retry_after=parse_retry_after(response.headers.get("retry-after")),
            location=self._redact(location) if location else None,
        )

    def _redact(self, text: str) -> str:
        return redact(text, self._api_key)


def environment_proxy(url: str) -> str | None:
    """The proxy that HTTPS_PROXY, HTTP_PROXY and NO_PROXY (any case) name for `url`, as the
    standard CLI's Go client reads them: never one for a loopback address."""
    parts = urlsplit(url)
    if is_loopback(url) or urllib.request.proxy_bypass(parts.hostname or ""):
        return None
    return urllib.request.getproxies().get(parts.scheme)


def _caused_by(error: BaseException, kind: type[BaseException]) -> BaseException | None:
    """The exception of this kind among `error`'s causes, if any."""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, kind):
            return cause
        cause = cause.__cause__ or cause.__context__
    return None


# TLS errors of a connection cut short, as a busy server or a flaky network cut them: retried.
_CUT_SHORT = (ssl.SSLEOFError, ssl.SSLZeroReturnError, ssl.SSLSyscallError)


def _tls_failed(error: BaseException) -> bool:
    """Whether the TLS handshake failed in a way no retry mends: a plain-http server answering
    https:// (WRONG_VERSION_NUMBER), no protocol or cipher in common. A certificate is told
    apart (`untrusted`), and a connection cut short is retried."""
    cause = _caused_by(error, ssl.SSLError)
    return (
        cause is not None
        and not isinstance(cause, ssl.SSLCertVerificationError)
        and not isinstance(cause, _CUT_SHORT)
    )


def _describe(error: httpx.HTTPError) -> str:
    """A network error in a few words: its kind, and what the OS or peer said."""
    reason = str(error)
    if not reason:
        reason = "no answer within --timeout" if isinstance(error, httpx.TimeoutException) else "?"
    return f"{type(error).__name__}: {reason}"
