"""Delivery of derived events to one target, recorded in the store as it goes.

Each event is marked `sending` before its request and `acked` after a 2xx, so a run killed at
any moment is resumed by the next: whatever was not acknowledged goes again (at least once).
Up to `concurrency` requests are in flight. Events that depend on none (changes) stream in
order; a deployment goes in deployment order, once every one of its changes was acknowledged.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Protocol

from pulse_backfill.delivery.cancel import Cancel
from pulse_backfill.delivery.circuit import Circuit
from pulse_backfill.delivery.outcomes import (
    Answer,
    DeliveryListener,
    DeliveryReport,
    Outcome,
    Result,
    Undelivered,
)
from pulse_backfill.delivery.policy import (
    RetryPolicy,
    Verdict,
    redirect_base,
    retry_delay,
    should_retry,
    verdict,
)
from pulse_backfill.pulse.events import Event
from pulse_backfill.store import Store

# After Ctrl-C or SIGTERM, how long requests in flight may take to finish (a scheduler sends
# SIGKILL some seconds after SIGTERM); those still out are recorded as not delivered.
GRACE = 5.0


class Sender(Protocol):
    async def send(self, event: Event) -> Answer: ...


@dataclass
class Deliverer:
    """Sends events under a retry policy, until done, stopped or cancelled."""

    sender: Sender
    store: Store
    target: int
    listener: DeliveryListener
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    key_source: str = "--api-key"
    concurrency: int = 1
    cancel: Cancel = field(default_factory=Cancel)
    clock: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        self.circuit = Circuit(self.policy)
        self.last_acknowledged = self.clock()  # or the delivery's start
        # Waits end early on these: the stop (`cancel`, told to the event loop), and an answer
        # (set and replaced at each), which those waiting for a probe's answer wait for.
        self._stop = asyncio.Event()
        self._answer = asyncio.Event()

    async def send_one(self, event: Event) -> Result:
        """One event, tried until acknowledged, refused, or out of time (`policy.max_time`)."""
        started = self.clock()
        attempt = 0
        while True:
            probe = await self._admitted(started)
            if probe is None:
                return Result(Outcome.CANCELLED, "interrupted", attempt)
            attempt += 1
            answer = await self.sender.send(event)
            if answer.untrusted:
                reason = f"{answer.detail}: set SSL_CERT_FILE to a bundle holding its authority"
                return Result(Outcome.UNTRUSTED, reason, attempt)
            if answer.tls_failed:
                reason = (
                    f"{answer.detail}: no retry mends a failed TLS handshake; check that "
                    "--base-url's scheme is the server's (https:// or http://)"
                )
                return Result(Outcome.TLS_FAILED, reason, attempt)
            kind = verdict(answer.status)
            self._answered(kind is not Verdict.RETRY, probe, answer)
            match kind:
                case Verdict.ACKNOWLEDGED:
                    self.last_acknowledged = self.clock()
                    return Result(Outcome.ACKNOWLEDGED, attempts=attempt)
                case Verdict.REJECTED:
                    return Result(Outcome.REJECTED, answer.detail, attempt)
                case Verdict.KEY_REJECTED:
                    reason = f"the API key from {self.key_source} was rejected ({answer.detail})"
                    return Result(Outcome.KEY_REJECTED, f"{reason}: check the key", attempt)
                case Verdict.REDIRECTED:
                    base = redirect_base(answer.location or "")
                    reason = f"the server redirected to {base} ({answer.detail})"
                    return Result(Outcome.REDIRECTED, f"{reason}: pass that as --base-url", attempt)
            delay = retry_delay(attempt, answer.retry_after, self.policy)
            if not should_retry(attempt, delay, self.clock() - started, self.policy):
                return self._given_up(answer.detail, attempt, started)
            if await self._pause(delay):
                return Result(Outcome.CANCELLED, "interrupted", attempt)
            if self.clock() - started >= self.policy.max_time:
                return self._given_up(answer.detail, attempt, started)

    async def _admitted(self, started: float) -> bool | None:
        """Wait until the circuit lets a request go: whether it goes as the probe of a server
        that is down; None if cancelled first. Past the event's time it goes anyway, once."""
        while True:
            if self.cancel.is_set():
                return None
            probe = self.circuit.down
            wait = self.circuit.wait(self.clock())
            left = self.policy.max_time - (self.clock() - started)
            if not wait or left <= 0:
                return probe and not wait
            if wait == math.inf:  # a probe is out: until its answer
                stopped = await self._pause(left, self._answer)
            else:
                stopped = await self._pause(min(wait, self.policy.max_time))
            if stopped:
                return None

    def _answered(self, ok: bool, probe: bool, answer: Answer) -> None:
        was_down = self.circuit.down
        self.circuit.answered(self.clock(), ok=ok, probe=probe, retry_after=answer.retry_after)
        self._answer.set()
        self._answer = asyncio.Event()
        if self.circuit.down != was_down:
            self.listener.outage(None if ok else answer.detail)

    def _given_up(self, detail: str, attempt: int, started: float) -> Result:
        """No success within the event's time: the run stops only when nothing at all was
        acknowledged for that long (the server is down); else the event waits for the next run."""
        attempts = "1 attempt" if attempt == 1 else f"{attempt} attempts"
        if self.clock() - self.last_acknowledged >= self.policy.max_time:
            reason = (
                f"nothing was acknowledged for {self.policy.max_time:g} s (last answer: {detail})"
            )
            return Result(Outcome.UNREACHABLE, reason, attempt)
        took = self.clock() - started
        return Result(
            Outcome.EXPIRED, f"{detail} (no success in {attempts}, {took:.0f} s)", attempt
        )

    async def _pause(self, seconds: float, until: asyncio.Event | None = None) -> bool:
        """Wait `seconds`, or less if `until` is set first (the stop always ends it); whether
        the run is stopping."""
        with suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await (until or self._stop).wait()
        return self.cancel.is_set()

    def _stopping(self, run: _Run) -> None:
        """In the event loop, once cancelled: every wait ends, and the run hears of it."""
        self._stop.set()
        self._answer.set()
        run.finished.put_nowait(None)

    async def deliver(
        self, events: Sequence[Event], row_ids: Sequence[int], *, force: bool = False
    ) -> DeliveryReport:
        """Send what the target has not acknowledged; a deployment only after its changes."""
        loop = asyncio.get_running_loop()

        def cancelled() -> None:
            # In a signal handler or another thread: the loop is woken through its self-pipe.
            with suppress(RuntimeError):  # closed: that delivery is over
                loop.call_soon_threadsafe(self._stopping, run)

        run = _Run(self, self.store.acknowledged(self.target) if not force else set())
        for event, row in zip(events, row_ids, strict=True):
            run.add(event, row)
        if not force:
            # A re-sync sends only what is new: a deployment's changes may have gone before.
            sent_before = {change for event, _ in run.dependent for change in _required(event)}
            sent_before -= run.acked_changes | run.queued_changes
            run.acked_changes |= self.store.acknowledged_changes(self.target, sent_before)
        forget = self.cancel.subscribe(cancelled)
        try:
            await run.go()
        finally:
            forget()
        return run.report


class _Run:
    """The state of one delivery: two queues in order, what is in flight, what is known."""

    def __init__(self, deliverer: Deliverer, acknowledged: set[int]) -> None:
        self.d = deliverer
        self.report = DeliveryReport()
        self.acknowledged = acknowledged
        # Changes as (system, id): two repositories may share commits and differ in system.
        self.acked_changes: set[tuple[str, str]] = set()
        self.failed_changes: set[tuple[str, str]] = set()
        self.queued_changes: set[tuple[str, str]] = set()
        self.independent: list[tuple[Event, int]] = []  # changes, incidents: any order will do
        self.dependent: list[tuple[Event, int]] = []  # deployments: in order, after their changes
        self.in_flight: dict[asyncio.Task[Result], tuple[Event, int]] = {}
        # Finished requests arrive here, and None when the run is cancelled: cheaper than
        # asyncio.wait over every task in flight, which subscribes to all of them on each round.
        self.finished: asyncio.Queue[asyncio.Task[Result] | None] = asyncio.Queue()
        self.tasks = asyncio.TaskGroup()
        # Once cancelled, when what is still in flight is cancelled too (event loop time).
        self.grace_ends: float | None = None
        self.grace_over = False
        self.stopping = False
        # One request until one is acknowledged: a wrong key or a dead server costs one request.
        self.window = 1

    def add(self, event: Event, row: int) -> None:
        if row in self.acknowledged:
            self.report.already[event.kind] = self.report.already.get(event.kind, 0) + 1
            if event.kind == "change":
                self.acked_changes.add(_change_key(event))
            self.d.listener.delivered(event, None)
        elif event.kind == "deployment":
            self.dependent.append((event, row))
        else:
            if event.kind == "change":
                self.queued_changes.add(_change_key(event))
            self.independent.append((event, row))

    async def go(self) -> None:
        try:
            async with self.tasks:
                await self._go()
        except BaseExceptionGroup as errors:
            # The run's own error (a store that fails) ends it as it would without a group, which
            # has cancelled what was in flight. The requests raise none of their own.
            raise errors.exceptions[0] from None

    async def _go(self) -> None:
        next_independent = next_dependent = 0
        acked: list[int] = []  # rows acknowledged in the last round, not yet recorded
        while True:
            starting: list[tuple[Event, int]] = []
            if self.d.cancel.is_set() and not self.stopping:
                self.stopping = self.report.interrupted = True
            # Deployments first when they can go: they are what the changes wait for.
            while next_dependent < len(self.dependent) and not self.stopping:
                event, row = self.dependent[next_dependent]
                requires = _required(event)
                if any(change in self.failed_changes for change in requires):
                    self._hold_back(event)
                elif all(change in self.acked_changes for change in requires):
                    if len(self.in_flight) + len(starting) >= self.window:
                        break
                    starting.append((event, row))
                else:
                    break
                next_dependent += 1
            while (
                next_independent < len(self.independent)
                and len(self.in_flight) + len(starting) < self.window
                and not self.stopping
            ):
                starting.append(self.independent[next_independent])
                next_independent += 1
            # One transaction per round: the last round's acknowledgements, then the requests
            # about to leave, all on disk before they do (a crash from here on resends them).
            self.d.store.mark_states(
                self.d.target, {"acked": acked, "sending": [row for _, row in starting]}
            )
            self._start(starting)
            if not self.in_flight:
                break
            acked = [row for row in map(self._finish, await self._finished()) if row is not None]
        reason = "not sent: interrupted" if self.report.interrupted else "not sent: the run stopped"
        for event, _ in [*self.independent[next_independent:], *self.dependent[next_dependent:]]:
            # Without a stop, a deployment can only be left waiting on a change never sent.
            if not self.stopping:
                self._hold_back(event)
            else:
                self.report.undelivered.append(Undelivered(event.kind, event.identifier, reason))

    async def _finished(self) -> list[asyncio.Task[Result]]:
        """The requests that finished, waiting for one. Once cancelled, what is in flight has
        `GRACE` seconds to finish; then it is cancelled, and goes with the next run."""
        while True:
            try:
                async with asyncio.timeout_at(self.grace_ends):
                    done = [await self.finished.get()]
            except TimeoutError:
                self.grace_ends, self.grace_over = None, True
                for task in self.in_flight:
                    task.cancel()
                continue
            while not self.finished.empty():
                done.append(self.finished.get_nowait())
            if None in done and not self.grace_over and self.grace_ends is None:
                self.grace_ends = asyncio.get_running_loop().time() + GRACE
            tasks = [task for task in done if task is not None]
            if tasks:
                return tasks

    def _start(self, starting: list[tuple[Event, int]]) -> None:
        for event, row in starting:
            task = self.tasks.create_task(self.d.send_one(event))
            task.add_done_callback(self.finished.put_nowait)
            self.in_flight[task] = (event, row)

    def _finish(self, task: asyncio.Task[Result]) -> int | None:
        """Account for a finished request; the row to record as acknowledged, if it was."""
        event, row = self.in_flight.pop(task)
        result = Result(Outcome.CANCELLED, "interrupted") if task.cancelled() else task.result()
        self.d.listener.delivered(event, result)
        if result.outcome is Outcome.ACKNOWLEDGED:
            self.window = self.d.concurrency
            self.report.sent[event.kind] = self.report.sent.get(event.kind, 0) + 1
            if event.kind == "change":
                self.acked_changes.add(_change_key(event))
            return row
        if result.outcome is Outcome.REJECTED:
            self.d.store.mark(row, self.d.target, "rejected", result.detail)
        if event.kind == "change":
            self.failed_changes.add(_change_key(event))
        self.report.undelivered.append(Undelivered(event.kind, event.identifier, result.detail))
        if result.outcome is Outcome.CANCELLED:
            self.stopping = self.report.interrupted = True
        elif result.outcome.stops_the_run and not self.stopping:
            self.stopping = True
            self.report.stopped = result.detail
        return None

    def _hold_back(self, event: Event) -> None:
        # Those that failed; failing that, those never sent (a run that ended without them).
        requires = _required(event)
        missing = [c for c in requires if c in self.failed_changes] or [
            c for c in requires if c not in self.acked_changes
        ]
        reason = f"{len(missing)} of its changes were not delivered"
        self.report.undelivered.append(Undelivered(event.kind, event.identifier, reason))
        self.d.listener.delivered(event, Result(Outcome.HELD_BACK, reason))


def _change_key(event: Event) -> tuple[str, str]:
    return (event.system or "", event.identifier)


def _required(event: Event) -> list[tuple[str, str]]:
    return [(event.system or "", change) for change in event.requires]
