"""Dates as users type them (YYYY-MM-DD at UTC midnight, ISO 8601 date-times, epoch seconds),
and as Pulse takes them (RFC 3339)."""

from __future__ import annotations

import re
import time
from datetime import UTC, date, datetime

# The last second RFC 3339 (and Go, the standard CLI's language) can write: four-digit years.
LAST_SECOND = 253_402_300_799  # 9999-12-31T23:59:59Z


def rfc3339(epoch_seconds: int) -> str:
    """Go's time.Time JSON form for a UTC time."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch_seconds))


_EPOCH = re.compile(r"-?[0-9]+", re.ASCII)
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)


def parse_date(text: str) -> int:
    """Epoch seconds; ValueError naming the accepted forms when `text` is none of them."""
    value = text.strip()
    try:
        if _EPOCH.fullmatch(value) and not _DAY.fullmatch(value):
            return int(value)
        if _DAY.fullmatch(value):
            day = date.fromisoformat(value)
            return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())
        moment = datetime.fromisoformat(value)
    except (ValueError, OverflowError):
        moment = None
    if moment is None:
        raise ValueError(
            f"{text!r} is not a date: use YYYY-MM-DD, an ISO 8601 date-time "
            "(2020-10-01T12:00:00Z) or UNIX epoch seconds"
        )
    # A date-time without an offset is taken as UTC, like a bare date.
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())
