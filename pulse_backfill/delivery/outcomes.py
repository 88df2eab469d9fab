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
    untrusted: bool = False  # the server's certificate is one this machine does not trust
    # The TLS handshake failed for good (https:// to a plain-http server, no common protocol).
    tls_failed: bool = False


class Outcome(Enum):
    ACKNOWLEDGED = "acknowledged"
    REJECTED = "rejected"  # this event was refused; the run goes on
    HELD_BACK = "held back"  # a deployment whose changes were not all delivered
    # No success within its time while others were acknowledged: the next run tries it again.
    EXPIRED = "expired"
    # The rest end the run: every further event would fail the same way.
    KEY_REJECTED = "key rejected"
    REDIRECTED = "redirected"
    UNTRUSTED = "untrusted"  # the server's certificate: no retry changes it
    TLS_FAILED = "tls failed"  # nor a handshake the server cannot take part in
    UNREACHABLE = "unreachable"  # nothing acknowledged for the whole of an event's time
    CANCELLED = "cancelled"  # interrupted before it was acknowledged

    @property
    def stops_the_run(self) -> bool:
        return self in _STOPPING


_STOPPING = frozenset(
    {
        Outcome.KEY_REJECTED,
        Outcome.REDIRECTED,
        Outcome.UNTRUSTED,
        Outcome.TLS_FAILED,
        Outcome.UNREACHABLE,
    }
)


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    detail: str = ""
    attempts: int = 1


class DeliveryListener(Protocol):
    def delivered(self, event: Event, result: Result | None) -> None:
        """Called once per event: `result` is None when the target had it already."""

    def outage(self, detail: str | None) -> None:
        """The server went down (`detail`: its last answer) or, with None, is back."""


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
