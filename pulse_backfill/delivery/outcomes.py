"""What became of events sent: plain data the delivery, the display and the summary share."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol

from pulse_backfill.pulse.events import Event, EventKind


@dataclass(frozen=True)
class Answer:
    """One attempt's answer. `status` is None when there was none (refused, reset, timed out)."""

    status: int | None
    detail: str = ""  # for people: the status and the server's message, or the network error
    retry_after: float | None = None
    location: str | None = None  # where a redirect pointed, key redacted


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
