"""The connections requests travel on: httpcore's HTTP/1.1 over plain asyncio streams.

httpcore's default network layer, anyio, costs more of a request's CPU than the HTTP does
(cancel scopes and look-ups of the running event loop, several times a request); at 64
requests in flight the client is bound by it. httpcore takes any `AsyncNetworkBackend`, and
asyncio's streams are all one needs. httpx's transport takes no backend, so `AsyncioTransport`
is httpx's transport interface over an httpcore pool built with this one.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import httpcore
import httpx

from pulse_backfill.errors import UsageError

KEEPALIVE_EXPIRY = 5.0  # seconds an idle connection is kept, as httpx's default limits say


class AsyncioStream(httpcore.AsyncNetworkStream):
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        with _failures(httpcore.ReadTimeout, httpcore.ReadError):
            async with asyncio.timeout(timeout):
                return await self._reader.read(max_bytes)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        with _failures(httpcore.WriteTimeout, httpcore.WriteError):
            self._writer.write(buffer)
            async with asyncio.timeout(timeout):
                await self._writer.drain()

    async def aclose(self) -> None:
        self._writer.close()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        with _failures(httpcore.ConnectTimeout, httpcore.ConnectError):
            async with asyncio.timeout(timeout):
                await self._writer.start_tls(ssl_context, server_hostname=server_hostname)
        return self

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            # httpcore asks before reusing an idle connection: has the server closed it? The
            # event loop has already read whatever arrived, the end of the stream included.
            return self._reader.at_eof() or self._writer.is_closing()
        if info in _TRANSPORT_INFO:
            return self._writer.get_extra_info(_TRANSPORT_INFO[info])
        return None


# httpcore's names for what it asks a stream, and asyncio's transports' names for them.
_TRANSPORT_INFO = {
    "ssl_object": "ssl_object",
    "client_addr": "sockname",
    "server_addr": "peername",
    "socket": "socket",
}


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        with _failures(httpcore.ConnectTimeout, httpcore.ConnectError):
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(
                    host, port, local_addr=(local_address, 0) if local_address else None
                )
        for option in socket_options or ():
            writer.get_extra_info("socket").setsockopt(*option)
        return AsyncioStream(reader, writer)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


@contextmanager
def _failures(timeout: type[Exception], failure: type[Exception]) -> Iterator[None]:
    """OS and TLS errors as the httpcore exceptions its other backends raise."""
    try:
        yield
    except TimeoutError as error:  # asyncio.timeout's; a subclass of OSError, so first
        raise timeout(str(error)) from error
    except OSError as error:  # refused, reset, unreachable, TLS (ssl.SSLError)...
        raise failure(str(error) or type(error).__name__) from error


class AsyncioTransport(httpx.AsyncBaseTransport):
    """httpx's transport interface over one httpcore connection (direct, or through an HTTP
    proxy) on `AsyncioBackend`."""

    def __init__(self, ssl_context: ssl.SSLContext, proxy: str | None = None) -> None:
        backend = AsyncioBackend()
        self._pool: httpcore.AsyncConnectionPool
        if proxy is None:
            self._pool = httpcore.AsyncConnectionPool(
                ssl_context=ssl_context,
                max_connections=1,
                max_keepalive_connections=1,
                keepalive_expiry=KEEPALIVE_EXPIRY,
                network_backend=backend,
            )
            return
        via = httpx.Proxy(proxy)  # parses the URL and its credentials, as httpx does
        if via.url.scheme not in ("http", "https"):
            raise UsageError(
                f"the proxy the environment names is {via.url.scheme}://: name an http:// or "
                "https:// proxy in HTTPS_PROXY or HTTP_PROXY, or leave the host out with NO_PROXY"
            )
        self._pool = httpcore.AsyncHTTPProxy(
            proxy_url=httpcore.URL(
                scheme=via.url.raw_scheme,
                host=via.url.raw_host,
                port=via.url.port,
                target=via.url.raw_path,
            ),
            proxy_auth=via.raw_auth,
            proxy_headers=via.headers.raw,
            ssl_context=ssl_context,
            max_connections=1,
            max_keepalive_connections=1,
            keepalive_expiry=KEEPALIVE_EXPIRY,
            network_backend=backend,
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.content,
            extensions=request.extensions,
        )
        with _as_httpx_errors():
            response = await self._pool.handle_async_request(core_request)
            try:
                content = await response.aread()
            finally:
                await response.aclose()
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            content=content,
            extensions=response.extensions,
            request=request,
        )

    async def aclose(self) -> None:
        await self._pool.aclose()


# httpcore's exceptions as httpx names them (what httpx's own transport raises).
_HTTPX_ERRORS: dict[type[Exception], type[httpx.TransportError]] = {
    httpcore.ConnectTimeout: httpx.ConnectTimeout,
    httpcore.ReadTimeout: httpx.ReadTimeout,
    httpcore.WriteTimeout: httpx.WriteTimeout,
    httpcore.PoolTimeout: httpx.PoolTimeout,
    httpcore.ConnectError: httpx.ConnectError,
    httpcore.ReadError: httpx.ReadError,
    httpcore.WriteError: httpx.WriteError,
    httpcore.ProxyError: httpx.ProxyError,
    httpcore.UnsupportedProtocol: httpx.UnsupportedProtocol,
    httpcore.RemoteProtocolError: httpx.RemoteProtocolError,
    httpcore.LocalProtocolError: httpx.LocalProtocolError,
    # What the ones above do not name: their families.
    httpcore.TimeoutException: httpx.TimeoutException,
    httpcore.NetworkError: httpx.NetworkError,
    httpcore.ProtocolError: httpx.ProtocolError,
}


@contextmanager
def _as_httpx_errors() -> Iterator[None]:
    try:
        yield
    except Exception as error:
        for core, mapped in _HTTPX_ERRORS.items():
            if isinstance(error, core):
                raise mapped(str(error)) from error
        raise
