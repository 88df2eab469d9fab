"""Delivery of derived events to one target, recorded in the store as it goes.

Each event is marked `sending` before its request and `acked` after a 2xx, so a run killed at
any moment is resumed by the next: whatever was not acknowledged goes again (at least once).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol

from pulse_backfill.client import Answer
from pulse_backfill.events import Event, EventKind
from pulse_backfill.policy import RetryPolicy, Verdict, retry_delay, should_retry, verdict
from pulse_backfill.store import Store


class Outcome(Enum):
    ACKNOWLEDGED = "acknowledged"
    REJECTED = "rejected"  # this event was refused; the run goes on
    HELD_BACK = "held back"  # a deployment whose changes were not all delivered
    # The rest end the run: every further event would fail the same way.
    KEY_REJECTED = "key rejected"
    REDIRECTED = "redirected"
    UNREACHABLE = "unreachable"  # no success within the retry policy
    CANCELLED = "cancelled"  # interrupted before it was acknowledged

    @property
    def stops_the_run(self) -> bool:
        return self in _STOPPING


_STOPPING = frozenset({Outcome.KEY_REJECTED, Outcome.REDIRECTED, Outcome.UNREACHABLE})


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    detail: str = ""
    attempts: int = 1


class Sender(Protocol):
    def send(self, event: Event) -> Answer: ...


class DeliveryListener(Protocol):
    def delivered(self, event: Event, result: Result | None) -> None:
        """Called once per event: `result` is None when the target had it already."""


@dataclass(frozen=True)
class Undelivered:
    kind: EventKind
    identifier: str
    reason: str


@dataclass
class DeliveryReport:
    sent: dict[EventKind, int] = field(default_factory=dict)
    already: dict[EventKind, int] = field(default_factory=dict)
    undelivered: list[Undelivered] = field(default_factory=list)
    # Why the run stopped early, when it did (a rejected key, an unreachable server).
    stopped: str | None = None
    interrupted: bool = False


@dataclass
class Deliverer:
    """Sends events one by one under a retry policy, until done, stopped or cancelled."""

    sender: Sender
    store: Store
    target: int
    listener: DeliveryListener
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    key_source: str = "--api-key"
    cancel: threading.Event = field(default_factory=threading.Event)
    clock: Callable[[], float] = time.monotonic

    def send_one(self, event: Event) -> Result:
        """One event, retried as the policy allows."""
        started = self.clock()
        attempt = 0
        while True:
            attempt += 1
            answer = self.sender.send(event)
            match verdict(answer.status):
                case Verdict.ACKNOWLEDGED:
                    return Result(Outcome.ACKNOWLEDGED, attempts=attempt)
                case Verdict.REJECTED:
                    return Result(Outcome.REJECTED, answer.detail, attempt)
                case Verdict.KEY_REJECTED:
                    reason = f"the API key from {self.key_source} was rejected ({answer.detail})"
                    return Result(Outcome.KEY_REJECTED, f"{reason}: check the key", attempt)
                case Verdict.REDIRECTED:
                    reason = f"the server redirected to {answer.location or '?'} ({answer.detail})"
                    return Result(Outcome.REDIRECTED, f"{reason}: pass that as --base-url", attempt)
            delay = retry_delay(attempt, answer.retry_after, self.policy)
            if not should_retry(attempt, delay, self.clock() - started, self.policy):
                detail = f"{answer.detail} (gave up after {attempt} attempts)"
                return Result(Outcome.UNREACHABLE, detail, attempt)
            if self.cancel.wait(delay):
                return Result(Outcome.CANCELLED, "interrupted", attempt)

    def deliver(
        self, events: Sequence[Event], row_ids: Sequence[int], *, force: bool = False
    ) -> DeliveryReport:
        """Send what the target has not acknowledged, in order; a deployment after its changes."""
        report = DeliveryReport()
        acknowledged = set() if force else self.store.acknowledged(self.target)
        acked_changes = {
            event.identifier
            for event, row in zip(events, row_ids, strict=True)
            if event.kind == "change" and row in acknowledged
        }
        pending = list(zip(events, row_ids, strict=True))
        for position, (event, row) in enumerate(pending):
            if row in acknowledged:
                report.already[event.kind] = report.already.get(event.kind, 0) + 1
                self.listener.delivered(event, None)
                continue
            if self.cancel.is_set():
                report.interrupted = True
                self._leave(report, pending[position:], acknowledged, "not sent: interrupted")
                break
            missing = [change for change in event.requires if change not in acked_changes]
            if missing:
                reason = f"{len(missing)} of its changes were not delivered"
                self._fail(report, event, Result(Outcome.HELD_BACK, reason))
                continue
            self.store.mark(row, self.target, "sending")
            result = self.send_one(event)
            if result.outcome is Outcome.ACKNOWLEDGED:
                self.store.mark(row, self.target, "acked")
                report.sent[event.kind] = report.sent.get(event.kind, 0) + 1
                if event.kind == "change":
                    acked_changes.add(event.identifier)
                self.listener.delivered(event, result)
                continue
            if result.outcome is Outcome.REJECTED:
                self.store.mark(row, self.target, "rejected", result.detail)
            self._fail(report, event, result)
            if result.outcome is Outcome.CANCELLED:
                report.interrupted = True
            elif result.outcome.stops_the_run:
                report.stopped = result.detail
            else:
                continue
            rest = pending[position + 1 :]
            self._leave(report, rest, acknowledged, "not sent: the run stopped")
            break
        return report

    def _fail(self, report: DeliveryReport, event: Event, result: Result) -> None:
        report.undelivered.append(Undelivered(event.kind, event.identifier, result.detail))
        self.listener.delivered(event, result)

    @staticmethod
    def _leave(
        report: DeliveryReport,
        rest: Sequence[tuple[Event, int]],
        acknowledged: set[int],
        reason: str,
    ) -> None:
        report.undelivered.extend(
            Undelivered(event.kind, event.identifier, reason)
            for event, row in rest
            if row not in acknowledged
        )
