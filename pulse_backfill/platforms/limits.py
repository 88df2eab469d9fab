"""When a hosted API says to wait, and how long: a pure function of its answer, with table
tests. GitHub: 403 or 429 with `x-ratelimit-remaining: 0` until `x-ratelimit-reset` (epoch
seconds); a secondary limit's `retry-after` (seconds). GitLab: 429 until `RateLimit-Reset`
(epoch seconds) or after `Retry-After` (seconds).
"""

from __future__ import annotations

from collections.abc import Mapping

from pulse_backfill.dates import retry_after_seconds

# A 429 that says nothing of when to come back: GitHub's docs ask for at least a minute.
UNSAID_WAIT = 60.0


def rate_limit_wait(status: int, headers: Mapping[str, str], now: float) -> float | None:
    """Seconds to wait before asking again, when the answer is a rate limit; None when it is
    not one (a 403 that refuses, say)."""
    said = {name.lower(): value for name, value in headers.items()}
    if status not in (403, 429):
        return None
    retry_after = retry_after_seconds(said.get("retry-after"), now)
    if retry_after is not None:
        return retry_after
    reset = _number(said.get("x-ratelimit-reset") or said.get("ratelimit-reset"))
    exhausted = said.get("x-ratelimit-remaining") == "0" or said.get("ratelimit-remaining") == "0"
    if reset is not None and (exhausted or status == 429):
        return max(0.0, reset - now)
    if status == 429:
        return UNSAID_WAIT
    if exhausted:
        return UNSAID_WAIT
    return None


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value.strip())
    except ValueError:
        return None


def next_link(link: str | None) -> str | None:
    """The `rel="next"` URL of a Link header (RFC 8288), as GitHub and GitLab write it."""
    if not link:
        return None
    for part in link.split(","):
        target, _, parameters = part.partition(";")
        relations = [p.strip() for p in parameters.split(";")]
        if any(r.replace(" ", "") in ('rel="next"', "rel=next") for r in relations):
            return target.strip().removeprefix("<").removesuffix(">")
    return None
