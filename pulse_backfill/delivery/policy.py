"""Delivery policy as plain functions: what an answer means, whether to retry, how long to wait."""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import Enum
from urllib.parse import urlsplit

# Answers that say "not now" rather than "never": retried with backoff.
RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


class Verdict(Enum):
    ACKNOWLEDGED = "acknowledged"
    RETRY = "retry"  # try this event again later
    REJECTED = "rejected"  # this event is refused; the others may still go
    KEY_REJECTED = "key rejected"  # 401/403: every event would be refused
    REDIRECTED = "redirected"  # the base URL points elsewhere: every event would be


def verdict(status: int | None) -> Verdict:
    """What an answer means; None is no answer at all (refused, reset, timed out)."""
    if status is None or status in RETRYABLE_STATUSES:
        return Verdict.RETRY
    if 200 <= status < 300:
        return Verdict.ACKNOWLEDGED
    if status in (401, 403):
        return Verdict.KEY_REJECTED
    if 300 <= status < 400:
        return Verdict.REDIRECTED
    return Verdict.REJECTED


def redirect_base(location: str) -> str:
    """What a redirect suggests passing as --base-url: its scheme and host (and port) alone,
    never its path or query (where the key would be)."""
    parts = urlsplit(location)
    if not parts.scheme or not parts.hostname:
        return "?"
    port = f":{parts.port}" if parts.port is not None else ""
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}{port}"


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """How long delivery keeps trying. Bounded by time, as Kafka's producer is
    (delivery.timeout.ms): a count of retries is either too few for a bad hour or too many."""

    # Seconds one event may take, all attempts and waits included; and how long a run goes on
    # with nothing acknowledged at all before it stops (the server is down).
    max_time: float = 120.0
    max_retries: int | None = None  # an optional cap on one event's retries
    base_delay: float = 0.5
    max_delay: float = 30.0  # our longest backoff; a Retry-After may ask for more
    # Failed answers in a row, of any events, after which the server is taken to be down and
    # probed by one request at a time (Envoy's outlier detection ejects after 5 such).
    outage_after: int = 5


def retry_delay(
    attempt: int,
    retry_after: float | None,
    policy: RetryPolicy,
    jitter: float | None = None,
) -> float:
    """How long to wait before retry number `attempt` (1 for the first retry).

    The server's Retry-After wins; otherwise exponential backoff with full jitter, which spreads
    many clients' retries out instead of bunching them.
    """
    if retry_after is not None:
        return retry_after
    ceiling: float = min(policy.max_delay, policy.base_delay * 2.0 ** (attempt - 1))
    return ceiling * (random.random() if jitter is None else jitter)  # noqa: S311


def should_retry(attempt: int, delay: float, elapsed: float, policy: RetryPolicy) -> bool:
    """Whether retry number `attempt`, after waiting `delay`, stays within the policy's bounds."""
    within_count = policy.max_retries is None or attempt <= policy.max_retries
    return within_count and elapsed + delay <= policy.max_time
