"""Every delivery policy is a plain function: one row per server behaviour."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pulse_backfill.delivery.policy import (
    RetryPolicy,
    Verdict,
    parse_retry_after,
    retry_delay,
    should_retry,
    verdict,
)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (None, Verdict.RETRY),  # refused, reset, timed out
        (200, Verdict.ACKNOWLEDGED),
        (201, Verdict.ACKNOWLEDGED),
        (202, Verdict.ACKNOWLEDGED),
        (204, Verdict.ACKNOWLEDGED),
        (301, Verdict.REDIRECTED),
        (302, Verdict.REDIRECTED),
        (307, Verdict.REDIRECTED),
        (308, Verdict.REDIRECTED),
        (400, Verdict.REJECTED),
        (401, Verdict.KEY_REJECTED),
        (403, Verdict.KEY_REJECTED),
        (404, Verdict.REJECTED),
        (405, Verdict.REJECTED),
        (408, Verdict.RETRY),
        (409, Verdict.REJECTED),
        (413, Verdict.REJECTED),
        (422, Verdict.REJECTED),
        (425, Verdict.RETRY),
        (429, Verdict.RETRY),
        (500, Verdict.RETRY),
        (501, Verdict.REJECTED),
        (502, Verdict.RETRY),
        (503, Verdict.RETRY),
        (504, Verdict.RETRY),
        (505, Verdict.REJECTED),
    ],
)
def test_verdicts(status: int | None, expected: Verdict) -> None:
    assert verdict(status) is expected


NOW = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        (None, None),
        ("0", 0.0),
        ("7", 7.0),
        (" 120 ", 120.0),
        ("Thu, 26 Nov 2026 12:00:30 GMT", 30.0),
        ("Thu, 26 Nov 2026 11:59:00 GMT", 0.0),  # in the past: now
        ("soon", None),
        ("-5", None),
        ("1.5", None),
    ],
)
def test_retry_after(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header, NOW) == seconds


POLICY = RetryPolicy(max_retries=5, max_time=60, base_delay=0.5, max_delay=8)


@pytest.mark.parametrize(
    ("attempt", "retry_after", "jitter", "delay"),
    [
        (1, None, 1.0, 0.5),
        (2, None, 1.0, 1.0),
        (3, None, 1.0, 2.0),
        (3, None, 0.5, 1.0),
        (3, None, 0.0, 0.0),
        (5, None, 1.0, 8.0),
        (9, None, 1.0, 8.0),  # capped
        (1, 20.0, 1.0, 20.0),  # the server's word wins, beyond our own cap
        (4, 0.0, 1.0, 0.0),
    ],
)
def test_retry_delay(attempt: int, retry_after: float | None, jitter: float, delay: float) -> None:
    assert retry_delay(attempt, retry_after, POLICY, jitter) == delay


def test_jitter_stays_within_the_ceiling() -> None:
    delays = {retry_delay(4, None, POLICY) for _ in range(200)}
    assert all(0 <= d <= 4.0 for d in delays)
    assert len(delays) > 100


@pytest.mark.parametrize(
    ("attempt", "delay", "elapsed", "retry"),
    [
        (1, 0.5, 0.0, True),
        (5, 1.0, 10.0, True),
        (6, 1.0, 10.0, False),  # out of retries
        (2, 30.0, 40.0, False),  # the wait would pass the time budget
        (2, 20.0, 40.0, True),
    ],
)
def test_should_retry(attempt: int, delay: float, elapsed: float, retry: bool) -> None:
    assert should_retry(attempt, delay, elapsed, POLICY) is retry
