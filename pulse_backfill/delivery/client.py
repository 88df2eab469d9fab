"""One HTTP request per event, as the standard CLI sends it: httpx's client, over aiohttp's
connections (httpx-aiohttp's transport)."""

from __future__ import annotations

import ssl
import time
import urllib.request
from urllib.parse import urlencode, urljoin, urlsplit

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport
from yarl import URL

from pulse_backfill import __version__
from pulse_backfill.dates import retry_after_seconds
from pulse_backfill.delivery.outcomes import Answer
from pulse_backfill.errors import UsageError
from pulse_backfill.pulse.endpoint import (
    DEFAULT_TIMEOUT,
    check_base_url,
    endpoint,
    redact,
)
from pulse_backfill.pulse.events import Event
from pulse_backfill.urls import is_loopback

MAX_CONNECT_TIMEOUT = 10.0  # a host that does not accept in this long will not
KEEPALIVE_EXPIRY = 5.0  # seconds an idle connection is kept, as httpx's default limits say


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
        # Each system's URL, parsed once; and as aiohttp must send it (`_sent_as_is`).
        self._urls: dict[str | None, httpx.URL] = {}
        self._as_sent: dict[URL, URL] = {}
        if transport is None:
            # Certificates from the machine's store (OpenSSL's defaults, which SSL_CERT_FILE
            # and SSL_CERT_DIR replace), not the certifi bundle httpx would load. httpx reads
            # the environment's proxies only for its own transports, aiohttp's trust_env on
            # every request (in a thread) with ~/.netrc's credentials: the proxy is read here.
            tls = ssl.create_default_context()

            def session() -> aiohttp.ClientSession:
                connector = aiohttp.TCPConnector(
                    ssl=tls, limit=concurrency, keepalive_timeout=KEEPALIVE_EXPIRY
                )
                return aiohttp.ClientSession(connector=connector, middlewares=(self._sent_as_is,))

            transport = AiohttpTransport(
                verify=tls,  # else it loads certifi's bundle, for a session it does not make
                client=session,
                proxy=_checked_proxy(environment_proxy(self._endpoint)),
            )
        connect = min(timeout, MAX_CONNECT_TIMEOUT)
        self._client = httpx.AsyncClient(
            transport=transport,
            # A 3xx is an answer (follow_redirects is off): the base URL is wrong. aiohttp takes
            # "pool" as the bound of a whole new connection (TCP, proxy, TLS), "connect" of TCP.
            timeout=httpx.Timeout(timeout, connect=connect, pool=connect),
            headers={
                "Content-Type": "application/json",
                "Environment": environment,
                "CLI-Version": __version__,
                "User-Agent": f"pulse-backfill/{__version__}",
                "Accept": "*/*",
            },
        )

    async def __aenter__(self) -> IngestionClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

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
            text = self.url(event.system)
            url = self._urls[event.system] = httpx.URL(text)
            self._as_sent[URL(text)] = URL(text, encoded=True)
        try:
            response = await self._client.post(url, content=event.encode())
        # aiohttp's errors that the transport does not translate (an answer that is not HTTP)
        # come through as they are.
        except (httpx.HTTPError, aiohttp.ClientError) as error:
            return Answer(
                None,
                self._redact(_describe(error)),
                untrusted=_caused_by(error, ssl.SSLCertVerificationError) is not None,
                tls_failed=_tls_failed(error),
            )
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
            retry_after=retry_after_seconds(response.headers.get("retry-after"), time.time()),
            location=self._redact(location) if location else None,
        )

    async def _sent_as_is(
        self, request: aiohttp.ClientRequest, handler: aiohttp.ClientHandlerType
    ) -> aiohttp.ClientResponse:
        """The request line with the query encoded as Go encodes it, byte for byte: the
        transport hands aiohttp a string, which it parses and requotes."""
        request.url = self._as_sent.get(request.url, request.url)
        return await handler(request)

    def _redact(self, text: str) -> str:
        return redact(text, self._api_key)


def environment_proxy(url: str) -> str | None:
    """The proxy that HTTPS_PROXY, HTTP_PROXY and NO_PROXY (any case) name for `url`, as the
    standard CLI's Go client reads them: never one for a loopback address."""
    parts = urlsplit(url)
    if is_loopback(url) or urllib.request.proxy_bypass(parts.hostname or ""):
        return None
    return urllib.request.getproxies().get(parts.scheme)


def _checked_proxy(proxy: str | None) -> httpx.Proxy | None:
    """The proxy, with its credentials taken out of its URL; one aiohttp can use (not SOCKS)."""
    if proxy is None:
        return None
    scheme = urlsplit(proxy).scheme
    if scheme not in ("http", "https"):
        raise UsageError(
            f"the proxy the environment names is {scheme}://: name an http:// or https:// "
            "proxy in HTTPS_PROXY or HTTP_PROXY, or leave the host out with NO_PROXY"
        )
    return httpx.Proxy(proxy)


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


def _describe(error: Exception) -> str:
    """A network error in a few words: its kind, as httpx names it, and what the OS, OpenSSL or
    the peer said."""
    # httpx-aiohttp 0.2.0 calls every failure to connect, and a connection dropped later, a
    # ConnectTimeout (its map keeps aiohttp's broadest match): aiohttp's own error says which.
    cause = error.__cause__ if isinstance(error, httpx.HTTPError) else error
    match cause:
        case aiohttp.ServerTimeoutError():
            return f"{type(error).__name__}: no answer within --timeout"
        case aiohttp.ClientConnectorError():  # refused, no such host, a failed TLS handshake
            return f"ConnectError: {cause.os_error}"
        case aiohttp.ClientConnectionError():  # dropped or reset once connected
            return f"NetworkError: {cause}"
        case aiohttp.ClientResponseError():  # an answer that is not HTTP
            return f"RemoteProtocolError: {' '.join(cause.message.split())}"
    return f"{type(error).__name__}: {error or '?'}"
