"""A real Pulse ingestion endpoint for tests: an ASGI app served by uvicorn on 127.0.0.1.

It validates each request as PROTOCOL.md describes the standard CLI's, records every request,
and can be told to add latency or to answer the next requests with given statuses.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import uvicorn

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

INGESTION_PATH = "/v1/ingestion/cli"
SourceRoute = Callable[[dict[str, list[str]], dict[str, str]], tuple[int, str, bytes]]
_FIELDS = {
    "change": ["source", "change_id", "time_created", "event_type", "$type"],
    "deployment": ["source", "deploy_id", "time_created", "changes", "teams", "$type"],
    "incident": ["source", "incident_id", "time_created", "time_resolved", "$type"],
}
_TIMES = ("time_created", "time_resolved")


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    raw_query: str
    headers: dict[str, str]
    body: bytes
    status: int  # what the server answered; 0 when it dropped the connection instead
    accepted: bool  # whether the server took the event (even if the client never heard so)
    at: float = 0.0  # time.monotonic() on arrival
    # Playing a forward proxy: the absolute URL's scheme and host ("http://host") it was for.
    proxied_for: str | None = None

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(self.raw_query, keep_blank_values=True)

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class Fault:
    """An answer to give instead of the normal one.

    `drop` closes the connection mid-answer: "before" without taking the event, "after" having
    taken it (the client cannot tell, and must send it again).
    """

    status: int = 0
    body: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    drop: str | None = None  # None, "before" or "after"


DROP_BEFORE = Fault(drop="before")
DROP_AFTER = Fault(drop="after")


@dataclass
class IngestionServer:
    accepted_keys: set[str] | None = None  # None: any non-empty key
    latency: float = 0.0
    requests: list[Request] = field(default_factory=list)
    faults: deque[Fault] = field(default_factory=deque)  # answers for the next requests
    # Each further request meets one of `random_faults` with this probability.
    fault_rate: float = 0.0
    random_faults: tuple[Fault, ...] = ()
    # An outage: once this many events were taken, every request is answered 503 for
    # `outage_seconds` (its requests are kept in `requests` like the others).
    outage_after: int | None = None
    outage_seconds: float = 0.0
    outage: tuple[float, float] | None = None  # when it began and ended (monotonic)
    # Silent: every request is taken in, and never answered while this holds.
    silent: bool = False
    # Events (change_id or deploy_id) answered 503 whenever they come.
    failing: set[str] = field(default_factory=set)
    # Run once, in the server's thread, when this many events were taken.
    when_taken: tuple[int, Callable[[], None]] | None = None
    rng: random.Random = field(default_factory=lambda: random.Random(1))
    base_url: str = ""
    in_flight: int = 0
    most_in_flight: int = 0  # the most requests it was answering at once
    # GET routes that play incident sources (a status page, PagerDuty, a file): each takes the
    # query and headers and answers (status, content type, body).
    sources: dict[str, SourceRoute] = field(default_factory=dict)
    source_requests: list[Request] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        self.silent = False  # let the answers held back go
        # Let answers still being prepared (say, behind latency) land before forgetting them.
        deadline = time.monotonic() + 10
        while self.in_flight and time.monotonic() < deadline:
            time.sleep(0.01)
        with self._lock:
            self.requests.clear()
            self.faults.clear()
            self.sources.clear()
            self.source_requests.clear()
        self.accepted_keys = None
        self.latency = 0.0
        self.fault_rate = 0.0
        self.outage_after = self.outage = self.when_taken = None
        self.outage_seconds = 0.0
        self.failing = set()
        self.most_in_flight = 0
        self.random_faults = ()
        self.rng = random.Random(1)

    @property
    def accepted(self) -> list[Request]:
        """Requests whose event the server took, in arrival order."""
        with self._lock:
            return [r for r in self.requests if r.accepted]

    def accepted_bodies(self) -> list[Any]:
        return [r.json() for r in self.accepted]

    def validate(
        self, method: str, path: str, raw_query: str, body: bytes, headers: dict[str, str]
    ) -> Fault | None:
        if path != INGESTION_PATH:
            return Fault(404, "not found")
        if method != "POST":
            return Fault(405, "method not allowed")
        query = parse_qs(raw_query, keep_blank_values=True)
        keys = query.get("api_key", [])
        if len(keys) != 1 or not keys[0]:
            return Fault(401, "missing api_key")
        if self.accepted_keys is not None and keys[0] not in self.accepted_keys:
            return Fault(401, "invalid api key")
        if headers.get("content-type") != "application/json":
            return Fault(415, "expected application/json")
        try:
            event = json.loads(body)
        except ValueError:
            return Fault(400, "body is not JSON")
        problem = _body_problem(event)
        return Fault(400, problem) if problem else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await self._answer(scope, receive, send)
        finally:
            self.in_flight -= 1

    async def _answer(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        arrived = time.monotonic()
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        raw_query = scope["query_string"].decode("latin-1")
        path, proxied_for = scope["path"], None
        if "://" in path:  # an absolute URL: a client sending through this server as its proxy
            parts = urlsplit(path)
            path, proxied_for = parts.path, f"{parts.scheme}://{parts.netloc}"
        if scope["method"] == "GET" and path in self.sources:
            query = parse_qs(raw_query, keep_blank_values=True)
            status, content_type, answer = self.sources[path](query, headers)
            with self._lock:
                self.source_requests.append(
                    Request("GET", path, raw_query, headers, b"", status, True, arrived)
                )
            await send(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": [(b"content-type", content_type.encode())],
                }
            )
            await send({"type": "http.response.body", "body": answer})
            return
        if self.latency:
            await asyncio.sleep(self.latency)
        while self.silent:
            await asyncio.sleep(0.01)
        with self._lock:
            fault = self.faults.popleft() if self.faults else None
            if fault is None and self.fault_rate and self.rng.random() < self.fault_rate:
                fault = self.rng.choice(self.random_faults)
            if fault is None and (self._in_outage() or self._failing(body)):
                fault = Fault(503, "service unavailable")
        problem = self.validate(scope["method"], path, raw_query, body, headers)
        if fault is None or fault.drop == "after":
            accepted = problem is None
            fault = fault if accepted else problem
        else:
            accepted = False
        status = 0 if fault and fault.drop else fault.status if fault else 202
        with self._lock:
            self.requests.append(
                Request(
                    scope["method"],
                    path,
                    raw_query,
                    headers,
                    body,
                    status,
                    accepted,
                    arrived,
                    proxied_for,
                )
            )
        self._after_taking()
        if fault and fault.drop:
            # Promise a body, then end without it: the connection closes mid-answer.
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-length", b"100")],
                }
            )
            return
        text = fault.body if fault else ""
        extra = [(k.encode(), v.encode()) for k, v in (fault.headers if fault else ())]
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"text/plain"), *extra],
            }
        )
        await send({"type": "http.response.body", "body": text.encode()})

    def _in_outage(self) -> bool:
        now = time.monotonic()
        waiting = self.outage is None and self.outage_after is not None
        if waiting and sum(1 for r in self.requests if r.accepted) >= (self.outage_after or 0):
            self.outage = (now, now + self.outage_seconds)
        return self.outage is not None and self.outage[0] <= now < self.outage[1]

    def _failing(self, body: bytes) -> bool:
        if not self.failing:
            return False
        event = json.loads(body)
        return bool({event.get("change_id"), event.get("deploy_id")} & self.failing)

    def _after_taking(self) -> None:
        if self.when_taken is not None and len(self.accepted) >= self.when_taken[0]:
            action, self.when_taken = self.when_taken[1], None
            action()


def _body_problem(event: Any) -> str | None:
    if not isinstance(event, dict):
        return "body is not a JSON object"
    kind = event.get("$type")
    if kind not in _FIELDS:
        return f"unknown $type {kind!r}"
    if list(event) != _FIELDS[kind]:
        return f"{kind} fields must be {_FIELDS[kind]}, got {list(event)}"
    for name, value in event.items():
        if name in ("changes", "teams"):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                return f"{name} must be a list of strings"
        elif not isinstance(value, str):
            return f"{name} must be a string"
    for name in _TIMES:
        if name in event:
            try:
                datetime.fromisoformat(event[name].replace("Z", "+00:00"))
            except ValueError:
                return f"{name} is not an RFC 3339 time"
    if kind == "deployment" and not event["changes"]:
        return "a deployment needs at least one change"
    return None


class ServerThread:
    """Runs an IngestionServer under uvicorn in a daemon thread on a free loopback port."""

    def __init__(
        self, app: IngestionServer, certificate: Path | None = None, keep_alive: int = 5
    ) -> None:
        """`certificate`: a PEM file with the server's key and certificate chain, for https;
        `keep_alive`: seconds before the server closes an idle connection."""
        self.app = app
        self._scheme = "http" if certificate is None else "https"
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=0,
            log_level="critical",
            lifespan="off",
            http="h11",
            ssl_certfile=certificate,
            timeout_keep_alive=keep_alive,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def __enter__(self) -> IngestionServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the test ingestion server did not start")
            time.sleep(0.01)
        port = self._server.servers[0].sockets[0].getsockname()[1]
        self.app.base_url = f"{self._scheme}://127.0.0.1:{port}"
        return self.app

    def __exit__(self, *exc_info: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)


def main() -> None:
    """Serve on a port for manual runs and benchmarks: python -m tests.ingestion_server."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to each answer")
    parser.add_argument(
        "--fault-rate",
        type=float,
        default=0.0,
        help="share of requests met by a fault: 503, 429 with Retry-After: 1, or a connection "
        "dropped before or after the event was taken, in equal parts",
    )
    parser.add_argument(
        "--report", type=Path, help="on exit, write what was taken and answered here (JSON)"
    )
    args = parser.parse_args()
    app = IngestionServer(latency=args.latency, fault_rate=args.fault_rate)
    app.random_faults = (
        Fault(503, "try later"),
        Fault(429, headers=(("retry-after", "1"),)),
        DROP_BEFORE,
        DROP_AFTER,
    )
    # Dropped connections are uvicorn errors by design: not worth a line each.
    quiet = "critical" if args.fault_rate else "warning"
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level=quiet, lifespan="off")
    if args.report is not None:
        taken = [r for r in app.requests if r.accepted]
        distinct = sorted({r.body for r in taken})
        args.report.write_text(
            json.dumps(
                {
                    "requests": len(app.requests),
                    "taken": len(taken),
                    "distinct_taken": len(distinct),
                    # Taken, but the connection dropped before the client heard so.
                    "taken_unheard": sum(1 for r in taken if r.status == 0),
                    "faults": sum(1 for r in app.requests if not 200 <= r.status < 300),
                    "digest": hashlib.sha256(b"\n".join(distinct)).hexdigest(),
                }
            )
        )


if __name__ == "__main__":
    main()
