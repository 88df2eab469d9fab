"""The HTTP client's mapping of answers to outcomes, on httpx's mock transport."""

from __future__ import annotations

import httpx
import pytest

from pulse_backfill.client import IngestionClient, Outcome, endpoint, redact
from pulse_backfill.events import change_event

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
    ("response", "outcome", "detail"),
    [
        (httpx.Response(200), Outcome.ACKNOWLEDGED, ""),
        (httpx.Response(202), Outcome.ACKNOWLEDGED, ""),
        (
            httpx.Response(400, text="bad change_id"),
            Outcome.REJECTED,
            "400 Bad Request: bad change_id",
        ),
        (httpx.Response(422), Outcome.REJECTED, "422 Unprocessable Entity"),
        (httpx.Response(401, text="no"), Outcome.KEY_REJECTED, "401 Unauthorized: no"),
        (httpx.Response(403), Outcome.KEY_REJECTED, "403 Forbidden"),
        (
            httpx.Response(301, headers={"location": f"https://elsewhere/?api_key={KEY}"}),
            Outcome.REJECTED,
            "301 Moved Permanently (redirected to https://elsewhere/?api_key=***)",
        ),
        (httpx.ConnectError("refused"), Outcome.UNREACHABLE, "ConnectError: refused"),
    ],
)
def test_answers_map_to_outcomes(
    response: httpx.Response | Exception, outcome: Outcome, detail: str
) -> None:
    result = client_answering(response).send(change_event("a" * 40, 0, system=None))
    assert (result.outcome, result.detail) == (outcome, detail)


def test_the_url_is_the_standard_clis() -> None:
    client = client_answering(httpx.Response(200))
    assert (
        client.url(None)
        == "https://pulse.example/v1/ingestion/cli?api_key=k3y%2Fwith%2Bodd%26chars"
    )
    assert client.url("my app") == (
        "https://pulse.example/v1/ingestion/cli?api_key=k3y%2Fwith%2Bodd%26chars&system=my+app"
    )


def test_the_base_urls_path_is_replaced_as_go_resolves_it() -> None:
    assert (
        endpoint("https://pulse.example/some/path?x=1") == "https://pulse.example/v1/ingestion/cli"
    )


def test_redact_hides_the_key_in_plain_and_encoded_forms() -> None:
    text = f"key {KEY} or k3y%2Fwith%2Bodd%26chars"
    assert redact(text, KEY) == "key *** or ***"
