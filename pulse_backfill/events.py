"""Events as the standard CLI puts them on the wire: its JSON bodies, byte for byte."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pulse_backfill.derive import Derivation

EventKind = Literal["change", "deployment", "incident"]
GIT_SOURCE = "git"


@dataclass(frozen=True)
class Event:
    kind: EventKind
    identifier: str
    # The JSON body, keys in the order the standard CLI's Go structs declare them.
    body: dict[str, Any]
    system: str | None
    # For a deployment: the change ids that must be acknowledged before it is sent.
    requires: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def from_body(
        cls, kind: EventKind, identifier: str, body: dict[str, Any], system: str | None
    ) -> Event:
        """An event read back from its JSON body (the store, an --output file)."""
        requires = tuple(body.get("changes", ())) if kind == "deployment" else ()
        return cls(kind, identifier, body, system, requires)

    def encode(self) -> bytes:
        return encode_json(self.body)

    def ndjson_line(self) -> str:
        """The body plus a top-level "system", as `--output` writes it."""
        return encode_json({**self.body, "system": self.system}).decode("utf-8")


def rfc3339(epoch_seconds: int) -> str:
    """Go's time.Time JSON form for a UTC time."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch_seconds))


def encode_json(value: Any) -> bytes:
    """JSON as Go's encoding/json writes it: compact, UTF-8, with <, >, & and U+2028/9 escaped."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    for raw, escaped in _GO_ESCAPES:
        text = text.replace(raw, escaped)
    return text.encode("utf-8")


_GO_ESCAPES = (
    ("<", "\\u003c"),
    (">", "\\u003e"),
    ("&", "\\u0026"),
    ("\u2028", "\\u2028"),
    ("\u2029", "\\u2029"),
)


def change_event(
    change_id: str,
    time_created: int,
    *,
    system: str | None,
    source: str = GIT_SOURCE,
    event_type: str = "commit",
) -> Event:
    body = {
        "source": source,
        "change_id": change_id,
        "time_created": rfc3339(time_created),
        "event_type": event_type,
        "$type": "change",
    }
    return Event("change", change_id, body, system)


def deployment_event(
    deploy_id: str,
    time_created: int,
    changes: Sequence[str],
    *,
    system: str | None,
    teams: Sequence[str] = (),
    source: str = GIT_SOURCE,
) -> Event:
    body = {
        "source": source,
        "deploy_id": deploy_id,
        "time_created": rfc3339(time_created),
        "changes": list(changes),
        "teams": list(teams),
        "$type": "deployment",
    }
    return Event("deployment", deploy_id, body, system, requires=tuple(changes))


def events_in_order(
    derivation: Derivation, *, system: str | None, teams: Sequence[str] = ()
) -> Iterator[Event]:
    """Sending order: deployments in order, each after its own changes (by time, then id)."""
    for deployment in derivation.sent:
        for change in deployment.changes:
            yield change_event(change.id, change.time, system=system)
        yield deployment_event(
            deployment.tag,
            deployment.time,
            [change.id for change in deployment.changes],
            system=system,
            teams=teams,
        )
