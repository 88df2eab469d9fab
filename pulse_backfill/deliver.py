"""Delivery of derived events to one target, recorded in the store as it goes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from pulse_backfill.client import Outcome, Result
from pulse_backfill.events import Event, EventKind
from pulse_backfill.store import Store


class Sender(Protocol):
    def send(self, event: Event) -> Result: ...


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


def deliver(
    events: Sequence[Event],
    row_ids: Sequence[int],
    *,
    store: Store,
    target: int,
    sender: Sender,
    listener: DeliveryListener,
    force: bool = False,
) -> DeliveryReport:
    """Send what `target` has not acknowledged, in order; a deployment only after its changes."""
    report = DeliveryReport()
    acknowledged = set() if force else store.acknowledged(target)
    acked_changes = {
        event.identifier
        for event, row in zip(events, row_ids, strict=True)
        if event.kind == "change" and row in acknowledged
    }
    for position, (event, row) in enumerate(zip(events, row_ids, strict=True)):
        if row in acknowledged:
            report.already[event.kind] = report.already.get(event.kind, 0) + 1
            listener.delivered(event, None)
            continue
        missing = [change for change in event.requires if change not in acked_changes]
        if missing:
            reason = f"{len(missing)} of its changes were not delivered"
            report.undelivered.append(Undelivered(event.kind, event.identifier, reason))
            listener.delivered(event, Result(Outcome.REJECTED, reason))
            continue
        store.mark(row, target, "sending")
        result = sender.send(event)
        listener.delivered(event, result)
        if result.outcome is Outcome.ACKNOWLEDGED:
            store.mark(row, target, "acked")
            report.sent[event.kind] = report.sent.get(event.kind, 0) + 1
            if event.kind == "change":
                acked_changes.add(event.identifier)
            continue
        report.undelivered.append(Undelivered(event.kind, event.identifier, result.detail))
        if result.outcome is Outcome.REJECTED:
            store.mark(row, target, "rejected", result.detail)
            continue
        # The key or the server fails every event alike: stop, and list what was left.
        report.stopped = result.detail
        report.undelivered.extend(
            Undelivered(rest.kind, rest.identifier, "not attempted: the run stopped")
            for rest, rest_row in zip(events[position + 1 :], row_ids[position + 1 :], strict=True)
            if rest_row not in acknowledged
        )
        break
    return report
