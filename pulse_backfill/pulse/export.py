"""Reading back an NDJSON export (what --output writes), checked line by line before any is sent."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any, cast

from pulse_backfill.errors import UsageError
from pulse_backfill.pulse.events import FIELDS, IDENTIFIER_FIELD, Event, EventKind

# RFC 3339, as Go's time.Time reads it: a "T", seconds, optional fraction, "Z" or an offset.
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})")
_STRING_LISTS = ("changes", "teams")


def read_events(text: str, source: str, default_system: str | None) -> list[Event]:
    """Every line as an event; the first bad line is a usage error naming it and why."""
    events: list[Event] = []
    seen: dict[tuple[str | None, str, str], int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            event = _event(line, default_system)
        except ValueError as error:
            raise UsageError(f"{source} line {number}: {error}; nothing was sent") from None
        key = (event.system, event.kind, event.identifier)
        if key in seen:
            raise UsageError(
                f"{source} line {number}: {event.kind} {event.identifier} is already on line "
                f"{seen[key]}; nothing was sent"
            )
        seen[key] = number
        events.append(event)
    if not events:
        raise UsageError(f"{source} holds no events: pass a file that --output wrote")
    # A deployment waits for those of its changes this file sends; others went before.
    changes = {(e.system, e.identifier) for e in events if e.kind == "change"}
    return [
        Event.from_body(
            e.kind,
            e.identifier,
            e.body,
            e.system,
            requires=[c for c in e.requires if (e.system, c) in changes],
        )
        if e.kind == "deployment"
        else e
        for e in events
    ]


def _event(line: str, default_system: str | None) -> Event:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as error:
        raise ValueError(f"not JSON ({error.msg} at column {error.colno})") from None
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    kind = data.get("$type")
    if kind not in FIELDS:
        raise ValueError(f'"$type" must be "change", "deployment" or "incident", not {kind!r}')
    system = data.pop("system", default_system)
    if system is not None and not isinstance(system, str):
        raise ValueError('"system" must be a string or null')
    fields = FIELDS[kind]
    missing = [name for name in fields if name not in data]
    if missing:
        raise ValueError(f"{kind} is missing {', '.join(repr(m) for m in missing)}")
    unknown = [name for name in data if name not in fields]
    if unknown:
        raise ValueError(f"{kind} has unknown field {', '.join(repr(u) for u in unknown)}")
    for name in fields:
        _check_field(name, data[name])
    if kind == "deployment" and not data["changes"]:
        raise ValueError("a deployment needs at least one change")
    if kind == "incident" and _time(data["time_resolved"]) < _time(data["time_created"]):
        raise ValueError("the incident is resolved before it was created")
    body = {name: data[name] for name in fields}  # the standard CLI's order
    checked = cast(EventKind, kind)  # one of FIELDS' keys, checked above
    return Event.from_body(checked, data[IDENTIFIER_FIELD[checked]], body, system)


def _check_field(name: str, value: Any) -> None:
    if name in _STRING_LISTS:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"{name!r} must be a list of strings")
        return
    if not isinstance(value, str):
        raise ValueError(f"{name!r} must be a string")
    if name.startswith("time_"):
        _time(value, name)
    elif not value and name != "source":
        raise ValueError(f"{name!r} is empty")


def _time(value: str, name: str = "time") -> datetime:
    if not _RFC3339.fullmatch(value):
        raise ValueError(f"{name!r} is not an RFC 3339 time like 2020-10-16T12:40:32Z: {value!r}")
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{name!r} is not a valid time: {value!r}") from None
