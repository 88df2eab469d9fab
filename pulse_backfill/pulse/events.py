"""Events as the standard CLI puts them on the wire: its JSON bodies, byte for byte."""

from __future__ import annotations

import functools
import json
import re
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pulse_backfill.dates import rfc3339
from pulse_backfill.derive.derivation import Deployment, Derivation
from pulse_backfill.derive.failures import Failure
from pulse_backfill.derive.history import Change

EventKind = Literal["change", "deployment", "incident"]
GIT_SOURCE = "git"  # what the standard CLI's git helper sends
CLI_SOURCE = "cli"  # the standard CLI's default for its plain push commands
# Each kind's body fields, in the order the standard CLI's Go structs declare them.
FIELDS: dict[EventKind, tuple[str, ...]] = {
    "change": ("source", "change_id", "time_created", "event_type", "$type"),
    "deployment": ("source", "deploy_id", "time_created", "changes", "teams", "$type"),
    "incident": ("source", "incident_id", "time_created", "time_resolved", "$type"),
}
IDENTIFIER_FIELD: dict[EventKind, str] = {
    "change": "change_id",
    "deployment": "deploy_id",
    "incident": "incident_id",
}


# Not frozen: a frozen dataclass's constructor costs four times as much, and a large history
# builds hundreds of thousands of events. Nothing changes an event once built.
@dataclass(slots=True)
class Event:
    kind: EventKind
    identifier: str
    # The JSON body exactly as it is POSTed: Go's encoding, keys in the order the standard CLI's
    # structs declare them. Kept encoded: a large history holds hundreds of thousands of events.
    payload: bytes
    system: str | None
    # For a deployment: the change ids that must be acknowledged before it is sent.
    requires: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def from_body(
        cls,
        kind: EventKind,
        identifier: str,
        body: dict[str, Any],
        system: str | None,
        requires: Sequence[str] | None = None,
    ) -> Event:
        """An event from its JSON body (read back from the store or an --output file); a
        deployment waits for all its changes unless `requires` says otherwise."""
        if requires is None:
            requires = body.get("changes", ()) if kind == "deployment" else ()
        return cls(kind, identifier, encode_json(body), system, tuple(requires))

    @property
    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = json.loads(self.payload)
        return body

    def encode(self) -> bytes:
        return self.payload

    def ndjson_line(self) -> bytes:
        """The body plus a top-level "system", as `--output` writes it, with its newline."""
        return self.payload[:-1] + _ndjson_suffix(self.system)


def _rfc3339(epoch_seconds: int) -> bytes:
    """`dates.rfc3339`, from each day's text formatted once: a history has a date per commit."""
    day, second = divmod(epoch_seconds, _DAY)
    return (_DATES[day] + _clock()[second]).encode()


_DAY = 86_400


class _Dates(dict[int, str]):
    """Each day's "YYYY-MM-DDT", formatted the first time it is asked for: a history has a
    change per commit, and far fewer days than commits."""

    def __missing__(self, day: int) -> str:
        date = self[day] = time.strftime("%Y-%m-%dT", time.gmtime(day * _DAY))
        return date


_DATES = _Dates()


@functools.cache
def _clock() -> list[str]:
    """Every second of a day as "HH:MM:SSZ"."""
    minutes = [f"{hour:02d}:{minute:02d}:" for hour in range(24) for minute in range(60)]
    seconds = [f"{second:02d}Z" for second in range(60)]
    return [minute + second for minute in minutes for second in seconds]


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
    # Formatted rather than built as a dict and dumped: the same bytes, several times faster,
    # and a history has as many changes as commits.
    payload = _CHANGE % (
        _json_value(source),
        _json_string(change_id),
        _rfc3339(time_created),
        _json_value(event_type),
    )
    return Event("change", change_id, payload, system)


_CHANGE = b'{"source":%s,"change_id":%s,"time_created":"%s","event_type":%s,"$type":"change"}'
# The standard CLI's git helper's change, around its id and its time as a date and a time of
# day (`_DATES`, `_clock`): the loops that run per commit of a history format no more than
# this, in an f-string, encoded once (a third faster than bytes' % with each id encoded).
_GIT_CHANGE_START = '{"source":"git","change_id":"'
_GIT_CHANGE_TIME = '","time_created":"'
_GIT_CHANGE_END = '","event_type":"commit","$type":"change"}'
_GIT_DEPLOYMENT = (
    b'{"source":"git","deploy_id":%s,"time_created":"%s","changes":[%s],"teams":%s,'
    b'"$type":"deployment"}'
)


def git_change_events(changes: Iterable[Change], *, system: str | None) -> Iterator[Event]:
    """`change_event` for each of a deployment's commits, as the standard CLI's git helper
    sends them."""
    dates, clock = _DATES, _clock()
    start, middle, end = _GIT_CHANGE_START, _GIT_CHANGE_TIME, _GIT_CHANGE_END
    for time_created, change_id in changes:
        # A commit id is hex: JSON writes it as it is.
        day, second = divmod(time_created, _DAY)
        payload = f"{start}{change_id}{middle}{dates[day]}{clock[second]}{end}".encode()
        yield Event("change", change_id, payload, system)


# Strings that JSON (and Go) write as they are, between quotes: commit ids, versions.
_PLAIN = re.compile(r"[A-Za-z0-9 ._/+:@-]*")


def _json_string(value: str) -> bytes:
    if _PLAIN.fullmatch(value):
        return b'"' + value.encode() + b'"'
    return encode_json(value)


@functools.lru_cache(maxsize=64)
def _json_value(value: str | None) -> bytes:
    """A value repeated across events (a source, a system), encoded once."""
    return encode_json(value)


@functools.lru_cache(maxsize=64)
def _ndjson_suffix(system: str | None) -> bytes:
    """What `--output` puts after an event's last field: its system, the brace, the newline."""
    return b',"system":' + encode_json(system) + b"}\n"


def deployment_event(
    deploy_id: str,
    time_created: int,
    changes: Sequence[str],
    *,
    system: str | None,
    teams: Sequence[str] = (),
    source: str = GIT_SOURCE,
    requires: Sequence[str] | None = None,
) -> Event:
    """`requires`: the changes it waits for (default: all of them; none for a plain push)."""
    body = {
        "source": source,
        "deploy_id": deploy_id,
        "time_created": rfc3339(time_created),
        "changes": list(changes),
        "teams": list(teams),
        "$type": "deployment",
    }
    waits_for = tuple(changes if requires is None else requires)
    return Event("deployment", deploy_id, encode_json(body), system, requires=waits_for)


def incident_event(
    incident_id: str,
    time_created: int,
    time_resolved: int,
    *,
    system: str | None,
    source: str = CLI_SOURCE,
) -> Event:
    body = {
        "source": source,
        "incident_id": incident_id,
        "time_created": rfc3339(time_created),
        "time_resolved": rfc3339(time_resolved),
        "$type": "incident",
    }
    return Event("incident", incident_id, encode_json(body), system)


def events_in_order(
    derivation: Derivation, *, system: str | None, teams: Sequence[str] = ()
) -> Iterator[Event]:
    """Sending order: deployments in order, each after its own changes (by time, then id)."""
    for deployment in derivation.sent:
        yield from git_change_events(deployment.changes, system=system)
        yield deployment_event(
            deployment.id,
            deployment.time,
            [change.id for change in deployment.changes],
            system=system,
            teams=teams,
        )


def failure_incidents(failures: Iterable[Failure], *, system: str | None) -> list[Event]:
    """An incident per failed deployment, sent after the deployments: created a second after
    the failed deployment, resolved when the recovering one was made, its rule as `source`."""
    return [
        incident_event(
            failure.incident_id,
            failure.incident_created,
            failure.incident_resolved,
            system=system,
            source=str(failure.rule),
        )
        for failure in failures
    ]


class NdjsonLines:
    """`events_in_order` as `--output` writes them, a deployment's lines at a time, without an
    event per commit: what a dry run writes."""

    def __init__(self, *, system: str | None, teams: Sequence[str] = ()) -> None:
        suffix = _ndjson_suffix(system)
        self._change_end = _GIT_CHANGE_END[:-1] + suffix.decode()
        # The suffix goes into a %-template: a % in a system's name must stay itself.
        self._deployment_line = _GIT_DEPLOYMENT[:-1] + suffix.replace(b"%", b"%%")
        self._team_list = encode_json(list(teams))

    def in_order(self, derivation: Derivation) -> Iterator[bytes]:
        """Each sent deployment's lines, its changes' then its own."""
        for deployment in derivation.sent:
            yield self._lines(deployment)

    def _lines(self, deployment: Deployment) -> bytes:
        dates, clock, day_length = _DATES, _clock(), _DAY
        start, middle, end = _GIT_CHANGE_START, _GIT_CHANGE_TIME, self._change_end
        changes = deployment.changes
        text = "".join(
            [
                f"{start}{change_id}{middle}{dates[created // day_length]}"
                f"{clock[created % day_length]}{end}"
                for created, change_id in changes
            ]
        )
        # Commit ids are hex: the list is the ids between quotes.
        ids = '"' + '","'.join([change_id for _, change_id in changes]) + '"' if changes else ""
        own = self._deployment_line % (
            _json_string(deployment.id),
            _rfc3339(deployment.time),
            ids.encode(),
            self._team_list,
        )
        return text.encode() + own
