"""Every delivery policy is a plain function: one row per server behaviour."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pulse_backfill.dates import retry_after_seconds
from pulse_backfill.delivery.circuit import Circuit
from pulse_backfill.delivery.policy import (
    RetryPolicy,
    Verdict,
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
    assert retry_after_seconds(header, NOW.timestamp()) == seconds


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


def test_without_a_cap_retries_are_bounded_by_time_alone() -> None:
    policy = RetryPolicy()
    assert policy.max_retries is None
    assert should_retry(1000, 1.0, 100.0, policy)
    assert not should_retry(3, 30.0, 100.0, policy)


def down_circuit(policy: RetryPolicy, now: float = 0.0) -> Circuit:
    circuit = Circuit(policy)
    for _ in range(policy.outage_after):
        circuit.answered(now, ok=False, probe=False, retry_after=None)
    return circuit


def test_the_circuit_opens_after_failures_in_a_row_of_any_events() -> None:
    circuit = Circuit(RetryPolicy())
    for _ in range(4):
        circuit.answered(0.0, ok=False, probe=False, retry_after=None)
    assert not circuit.down
    assert circuit.wait(0.0) == 0.0
    circuit.answered(0.0, ok=True, probe=False, retry_after=None)  # a success between
    for _ in range(4):
        circuit.answered(0.0, ok=False, probe=False, retry_after=None)
    assert not circuit.down
    circuit.answered(0.0, ok=False, probe=False, retry_after=None)
    assert circuit.down
    assert circuit.down_since == 0.0


def test_while_the_server_is_down_one_probe_at_a_time_after_a_backoff() -> None:
    circuit = down_circuit(RetryPolicy(), now=10.0)
    # The first probe waits the first backoff (full jitter, at most 0.5 s).
    assert 0.0 <= circuit.next_probe - 10.0 <= 0.5
    assert circuit.wait(10.6) == 0.0  # the probe goes
    assert circuit.wait(10.6) > 0  # the others wait for its answer
    assert circuit.wait(20.0) > 0
    circuit.answered(20.0, ok=False, probe=True, retry_after=7.0)
    assert circuit.next_probe == 27.0  # the server's Retry-After
    assert circuit.wait(26.0) == pytest.approx(1.0)
    assert circuit.wait(27.0) == 0.0
    circuit.answered(27.5, ok=True, probe=True, retry_after=None)
    assert not circuit.down
    assert [circuit.wait(27.5) for _ in range(8)] == [0.0] * 8  # everyone goes again


def test_answers_from_before_it_went_down_do_not_let_a_second_probe_out() -> None:
    circuit = down_circuit(RetryPolicy(), now=0.0)
    assert circuit.wait(1.0) == 0.0
    circuit.answered(1.0, ok=False, probe=False, retry_after=5.0)  # sent before it went down
    assert circuit.wait(1.0) > 0  # the probe is still out
    circuit.answered(1.2, ok=False, probe=True, retry_after=None)
    assert circuit.next_probe >= 6.0  # and the server's word is kept
