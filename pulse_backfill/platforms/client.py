"""One session with a hosted API: pages as an iterator, rate limits waited on in one place
(bounded by the run's time budget, saying so), ETags sent so that an answer that did not
change costs a 304 and no quota. The only HTTP of `platforms`.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pulse_backfill import __version__
from pulse_backfill.dates import rfc3339
from pulse_backfill.errors import FetchError, PulseBackfillError, UsageError

if TYPE_CHECKING:
    import httpx
from pulse_backfill.platforms.cache import AnswerCache, Kept, fingerprint
from pulse_backfill.platforms.limits import next_link, rate_limit_wait
from pulse_backfill.urls import is_loopback

Params = Mapping[str, str | int]
# Answers that a moment may fix, retried within the budget: 0.5 s, 1 s, 2 s...
_RETRIED = (500, 502, 503, 504)
_RETRIES = 4


@dataclass(frozen=True)
class Token:
    value: str = field(repr=False)
    source: str  # where it came from, for messages: "GITHUB_TOKEN", "--github-token-file PATH"


@dataclass(frozen=True, kw_only=True)
class Platform:
    """How one platform is asked: its name, its API's root, the token and how it is sent."""

    name: str  # "GitHub", "GitLab"
    api: str  # https://api.github.com, https://HOST/api/v3, https://HOST/api/v4
    url_option: str  # the option that names the platform's address
    token: Token | None
    token_header: tuple[str, str]  # the header and its format: ("Authorization", "Bearer {}")
    token_hint: str  # how to give a token: "set GITHUB_TOKEN or pass --github-token-file"
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Answer:
    data: Any
    next: str | None  # the next page's address
    total: int | None  # what the API says the whole list holds, where it says it
    fresh: bool  # False for a 304 answered from the cache


class Api:
    """A platform's API for one run: one connection pool, shared by threads."""

    def __init__(
        self,
        platform: Platform,
        *,
        cache: AnswerCache | None,
        budget: float,
        timeout: float,
        say: Callable[[str], None],
        connections: int = 16,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        parts = urlsplit(platform.api)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UsageError(
                f"{platform.url_option} {platform.api!r} is not an http(s) address: pass one"
            )
        if parts.username is not None or parts.password is not None:
            raise UsageError(
                f"{platform.url_option} has credentials in it: give the token as "
                f"{platform.token_hint} says instead"
            )
        if platform.token is not None and parts.scheme == "http" and not is_loopback(platform.api):
            raise UsageError(
                f"{platform.url_option} {platform.api} is plain http://: the token would travel "
                "unencrypted; pass its https:// address"
            )
        self.platform = platform
        self._cache = cache
        self._viewer = fingerprint(platform.token.value if platform.token else None)
        self._say, self._sleep, self._clock = say, sleep, clock
        self._deadline = clock() + budget
        self._budget = budget
        self._lock = threading.Lock()
        self._resume_at = 0.0
        self.requests = 0  # asked of the server, 304s included
        self.not_modified = 0
        headers = {
            "User-Agent": f"pulse-backfill/{__version__}",
            **platform.headers,
        }
        if platform.token is not None:
            name, form = platform.token_header
            headers[name] = form.format(platform.token.value)
        # Imported here: httpx is a quarter of the start-up of every run, most of which ask no
        # platform.
        import httpx

        self._http = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            headers=headers,
            limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
            transport=httpx.HTTPTransport(retries=2),  # connection failures only
            follow_redirects=True,  # a renamed repository's answers move
            trust_env=True,
        )

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()
        if self._cache is not None:
            self._cache.close()

    @property
    def cache(self) -> AnswerCache | None:
        return self._cache

    @property
    def viewer(self) -> str:
        """Who asks: a fingerprint of the token, never the token."""
        return self._viewer

    def url(self, path: str, params: Params | None = None) -> str:
        address = f"{self.platform.api.rstrip('/')}/{path.lstrip('/')}"
        return f"{address}?{urlencode(dict(params))}" if params else address

    def pages(
        self,
        path: str,
        params: Params | None = None,
        *,
        what: str,
        missing: Callable[[], PulseBackfillError] | None = None,
    ) -> Iterator[Answer]:
        """Each page of a list, first to last, following `Link: rel="next"` (or GitLab's
        `x-next-page`)."""
        address: str | None = self.url(path, params)
        while address is not None:
            answer = self.get_url(address, what=what, missing=missing)
            yield answer
            address = answer.next

    def get(
        self,
        path: str,
        params: Params | None = None,
        *,
        what: str,
        missing: Callable[[], PulseBackfillError] | None = None,
    ) -> Answer:
        return self.get_url(self.url(path, params), what=what, missing=missing)

    def get_url(
        self, url: str, *, what: str, missing: Callable[[], PulseBackfillError] | None = None
    ) -> Answer:
        """One answer: waited for through rate limits, from the cache when it did not change.
        `what` names what was asked, for messages; `missing` is the error of a 404."""
        kept = None if self._cache is None else self._cache.get(url, self._viewer)
        headers = {"If-None-Match": kept.etag} if kept is not None else {}
        failures = 0
        while True:
            self._wait_turn()
            try:
                response = self._http.get(url, headers=headers)
            except _http_errors() as error:
                raise FetchError(
                    f"cannot reach {self.platform.name} at {_shown(url)} "
                    f"({type(error).__name__}): try later"
                ) from None
            with self._lock:
                self.requests += 1
            wait = rate_limit_wait(response.status_code, response.headers, self._clock())
            if wait is not None:
                self._pause(wait, f"{self.platform.name}'s rate limit is reached")
                continue
            if response.status_code in _RETRIED and failures < _RETRIES:
                failures += 1
                said = f"{self.platform.name} answered {response.status_code}"
                self._pause(0.5 * 2 ** (failures - 1), said)
                continue
            break
        if response.status_code == 304 and kept is not None:
            with self._lock:
                self.not_modified += 1
            return Answer(json.loads(kept.body), kept.next, _total(response.headers), False)
        if response.is_error or response.status_code == 304:
            raise self._refused(response, what, missing)
        try:
            data = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise FetchError(
                f"{self.platform.name} did not answer JSON for {what} at {_shown(url)}: check "
                f"{self.platform.url_option}"
            ) from None
        following = _next_page(url, response.headers)
        etag = response.headers.get("etag")
        if self._cache is not None and etag:
            self._cache.put(url, self._viewer, Kept(etag, response.content, following))
        return Answer(data, following, _total(response.headers), True)

    def _wait_turn(self) -> None:
        """Sleep while the platform asked everyone to wait."""
        while True:
            with self._lock:
                remaining = self._resume_at - self._clock()
            if remaining <= 0:
                return
            self._sleep(remaining)

    def _pause(self, seconds: float, why: str) -> None:
        """Everyone waits `seconds` (once said), unless that is past the run's budget."""
        now = self._clock()
        resume = now + seconds
        if resume > self._deadline:
            raise FetchError(
                f"{why}: it asks to wait until {rfc3339(int(resume))}, beyond the run's "
                f"time budget (--retry-max-time {self._budget:g} s): run again then"
            )
        with self._lock:
            if resume <= self._resume_at:
                return
            said = self._resume_at > now  # already waiting: say only a longer wait
            self._resume_at = resume
        if not said:
            self._say(f"{why}: waiting {math.ceil(seconds)} s, until {rfc3339(math.ceil(resume))}")

    def _refused(
        self,
        response: httpx.Response,
        what: str,
        missing: Callable[[], PulseBackfillError] | None,
    ) -> PulseBackfillError:
        name, token, status = self.platform.name, self.platform.token, response.status_code
        if status == 401:
            if token is None:
                return UsageError(
                    f"{name} asks for a token to read {what} (401): {self.platform.token_hint}"
                )
            return UsageError(
                f"{name} rejected the token from {token.source} (401): check it, or renew it"
            )
        if status == 404:
            if missing is not None:
                return missing()
            return self.not_found(what)
        if status == 403:
            who = "an anonymous request" if token is None else f"the token from {token.source}"
            return UsageError(
                f"{name} refused {what} to {who} (403): give the token read access to it"
            )
        return FetchError(
            f"{name} answered {status} {response.reason_phrase} for {what} at "
            f"{_shown(str(response.request.url))}: try later"
        )

    def not_found(self, what: str) -> UsageError:
        token = self.platform.token
        who = "an anonymous request" if token is None else f"the token from {token.source}"
        return UsageError(
            f"{self.platform.name} has no {what}, or {who} cannot see it (404): check the name "
            "and the token's access"
        )


def _http_errors() -> type[Exception]:
    import httpx

    return httpx.HTTPError


def _next_page(url: str, headers: httpx.Headers) -> str | None:
    following = next_link(headers.get("link"))
    if following is not None:
        return following
    page = headers.get("x-next-page", "").strip()
    if not page:
        return None
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "page"] + [("page", page)]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _total(headers: httpx.Headers) -> int | None:
    value = headers.get("x-total", "")
    return int(value) if value.isdigit() else None


def _shown(url: str) -> str:
    return url.split("?", 1)[0]
