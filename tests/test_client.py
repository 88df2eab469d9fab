"""The HTTP client's reading of answers, on httpx's mock transport."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest

from pulse_backfill.delivery.client import IngestionClient, environment_proxy
from pulse_backfill.delivery.outcomes import Answer
from pulse_backfill.errors import UsageError
from pulse_backfill.pulse.endpoint import check_base_url, endpoint, redact
from pulse_backfill.pulse.events import change_event
from tests.ingestion_server import IngestionServer, ServerThread

KEY = "k3y/with+odd&chars"


def client_answering(response: httpx.Response | Exception) -> IngestionClient:
    def handler(request: httpx.Request) -> httpx.Response:
        if isinstance(response, Exception):
            raise response
        return response

    return IngestionClient(
        base_url="https://pulse.example",
        api_key=KEY,
        environment="_unknown_",
        transport=httpx.MockTransport(handler),
    )


@pytest.mark.parametrize(
    ("response", "answer"),
    [
        (httpx.Response(200), Answer(200)),
        (httpx.Response(202), Answer(202)),
        (httpx.Response(400, text="bad change_id"), Answer(400, "400 Bad Request: bad change_id")),
        (httpx.Response(422), Answer(422, "422 Unprocessable Entity")),
        (httpx.Response(401, text="no"), Answer(401, "401 Unauthorized: no")),
        (
            httpx.Response(429, headers={"retry-after": "3"}),
            Answer(429, "429 Too Many Requests", retry_after=3.0),
        ),
        (
            httpx.Response(503, text="down\nfor\n  maintenance"),
            Answer(503, "503 Service Unavailable: down for maintenance"),
        ),
        (
            httpx.Response(301, headers={"location": f"https://elsewhere/?api_key={KEY}"}),
            Answer(301, "301 Moved Permanently", location="https://elsewhere/?api_key=***"),
        ),
        (httpx.ConnectError("refused"), Answer(None, "ConnectError: refused")),
        (httpx.ReadTimeout("timed out"), Answer(None, "ReadTimeout: timed out")),
    ],
)
def test_answers(response: httpx.Response | Exception, answer: Answer) -> None:
    async def send() -> Answer:
        async with client_answering(response) as client:
            return await client.send(change_event("a" * 40, 0, system=None))

    assert asyncio.run(send()) == answer


def test_the_url_is_the_standard_clis() -> None:
    client = client_answering(httpx.Response(200))
    assert client.url(None) == (
        "https://pulse.example/v1/ingestion/cli?api_key=k3y%2Fwith%2Bodd%26chars"
    )
    assert client.url("my app") == (
        "https://pulse.example/v1/ingestion/cli?api_key=k3y%2Fwith%2Bodd%26chars&system=my+app"
    )


def test_the_base_urls_path_is_replaced_as_go_resolves_it() -> None:
    assert endpoint("https://pulse.example/some/path?x=1") == (
        "https://pulse.example/v1/ingestion/cli"
    )


def test_redact_hides_the_key_in_plain_and_encoded_forms() -> None:
    text = f"key {KEY} or k3y%2Fwith%2Bodd%26chars"
    assert redact(text, KEY) == "key *** or ***"


@pytest.mark.parametrize(
    "url",
    ["https://pulse.example", "http://127.0.0.1:8080", "http://localhost", "http://[::1]:9"],
)
def test_secure_or_loopback_base_urls(url: str) -> None:
    assert check_base_url(url, insecure=False) == url


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://pulse.example", "would send the API key unencrypted"),
        ("ftp://pulse.example", "is not an http(s) URL"),
        ("pulse.example", "is not an http(s) URL"),
        ("https://", "is not an http(s) URL"),
        ("https://pulse.example:port", "is not an http(s) URL"),
    ],
)
def test_refused_base_urls(url: str, message: str) -> None:
    with pytest.raises(UsageError, match=re.escape(message)):
        check_base_url(url, insecure=False)


PULSE, PROXY = "https://ingestion.pulse.codacy.com", "http://proxy:3128"


@pytest.mark.parametrize(
    ("environment", "url", "proxy"),
    [
        ({}, PULSE, None),
        ({"HTTPS_PROXY": PROXY}, PULSE, PROXY),
        ({"https_proxy": PROXY}, PULSE, PROXY),
        ({"HTTP_PROXY": PROXY}, PULSE, None),
        ({"HTTPS_PROXY": PROXY, "NO_PROXY": "codacy.com"}, PULSE, None),
        ({"HTTP_PROXY": PROXY}, "http://127.0.0.1:8080", None),
        ({"HTTP_PROXY": PROXY}, "http://localhost:8080", None),
    ],
)
def test_the_proxy_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], url: str, proxy: str | None
) -> None:
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)

    assert environment_proxy(url) == proxy


def test_a_proxy_that_is_not_http_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "socks5://proxy:1080")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    message = (
        "the proxy the environment names is socks5://: name an http:// or https:// proxy in "
        "HTTPS_PROXY or HTTP_PROXY, or leave the host out with NO_PROXY"
    )
    with pytest.raises(UsageError, match=f"^{re.escape(message)}$"):
        IngestionClient(base_url=PULSE, api_key="k", environment="_unknown_")


def test_a_connection_the_server_closed_while_idle_is_replaced_not_failed() -> None:
    # The server closes an idle kept-alive connection after a second; the next request must
    # notice before sending on it, and open another, on its first attempt.
    async def two_requests_a_pause_apart(base_url: str) -> list[Answer]:
        async with IngestionClient(
            base_url=base_url, api_key="k", environment="_unknown_"
        ) as client:
            first = await client.send(change_event("a", 5, system="s"))
            await asyncio.sleep(1.5)
            return [first, await client.send(change_event("b", 5, system="s"))]

    with ServerThread(IngestionServer(), keep_alive=1) as server:
        answers = asyncio.run(two_requests_a_pause_apart(server.base_url))
        assert answers == [Answer(202), Answer(202)]
        assert [request.json()["change_id"] for request in server.requests] == ["a", "b"]


@pytest.mark.parametrize(
    ("answer", "detail"),
    [
        (b"HELLO\r\n\r\n", "RemoteProtocolError: Bad status line: Expected HTTP/, RTSP/ or ICE/:"),
        (b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n", "RemoteProtocolError: Invalid header token:"),
        (b"", "NetworkError: Server disconnected"),
    ],
)
def test_an_answer_that_is_not_http_is_a_failed_attempt_told_without_the_key(
    answer: bytes, detail: str
) -> None:
    # A loopback server that reads the request, writes `answer` and hangs up.
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(answer)
        await writer.drain()
        writer.close()

    async def one_attempt() -> Answer:
        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with (
            server,
            IngestionClient(
                base_url=f"http://127.0.0.1:{port}", api_key=KEY, environment="_unknown_"
            ) as client,
        ):
            return await client.send(change_event("a" * 40, 0, system=None))

    got = asyncio.run(one_attempt())
    assert got.status is None
    assert got.detail.startswith(detail)
    assert KEY not in got.detail
    assert not got.untrusted
    assert not got.tls_failed
