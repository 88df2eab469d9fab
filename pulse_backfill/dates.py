"""Dates as users type them (YYYY-MM-DD at UTC midnight, ISO 8601 date-times, epoch seconds,
and relative forms as git takes them: "2 weeks ago", "yesterday"), and as Pulse takes them
(RFC 3339)."""

from __future__ import annotations

import re
import time
from datetime import UTC, date, datetime, timedelta

# The last second RFC 3339 (and Go, the standard CLI's language) can write: four-digit years.
LAST_SECOND = 253_402_300_799  # 9999-12-31T23:59:59Z


def rfc3339(epoch_seconds: int) -> str:
    """Go's time.Time JSON form for a UTC time."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch_seconds))


_EPOCH = re.compile(r"-?[0-9]+", re.ASCII)
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)


# As git's approxidate reads them: a count (or "a", "an", "last") and a unit, "ago" after it.
_AGO = re.compile(
    r"(?:([0-9]+|an?|one)\s+|last\s+)(second|minute|hour|day|week|month|year)s?(\s+ago)?",
    re.ASCII | re.IGNORECASE,
)
_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86_400, "week": 7 * 86_400}


def is_relative(text: str) -> bool:
    """Whether `text` names a moment relative to now ("2 weeks ago", "yesterday", "now")."""
    value = " ".join(text.lower().split())
    return value in ("now", "yesterday") or _relative_match(value) is not None


def _relative_match(value: str) -> re.Match[str] | None:
    match = _AGO.fullmatch(value)
    # "2 weeks" alone is no moment; "last week" is.
    if match is None or (match[1] is not None and match[3] is None):
        return None
    return match


def parse_date(text: str, *, now: float | None = None) -> int:
    """Epoch seconds; ValueError naming the accepted forms when `text` is none of them.
    Relative forms count back from `now` (default: the clock), in UTC, as git does: a month
    or year back is the same day and time of that month or year (or its last day)."""
    value = text.strip()
    relative = _relative(" ".join(value.lower().split()), time.time() if now is None else now)
    if relative is not None:
        return relative
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
            "(2020-10-01T12:00:00Z), UNIX epoch seconds, or a relative date ('2 weeks ago', "
            "'yesterday')"
        )
    # A date-time without an offset is taken as UTC, like a bare date.
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def _relative(value: str, now: float) -> int | None:
    moment = datetime.fromtimestamp(int(now), UTC)
    if value == "now":
        return int(now)
    if value == "yesterday":
        return int((moment - timedelta(days=1)).timestamp())
    match = _relative_match(value)
    if match is None:
        return None
    count_text, unit = match[1], match[2].lower()
    count = 1 if count_text is None or not count_text.isdigit() else int(count_text)
    if unit in _UNITS:
        return int(now) - count * _UNITS[unit]
    months = count * (12 if unit == "year" else 1)
    year, month = divmod(moment.year * 12 + moment.month - 1 - months, 12)
    if year < 1:
        raise ValueError(f"{value!r} is before the year 1")
    day = min(moment.day, _last_day(year, month + 1))
    return int(moment.replace(year=year, month=month + 1, day=day).timestamp())


def _last_day(year: int, month: int) -> int:
    following = date(year + month // 12, month % 12 + 1, 1)
    return (following - timedelta(days=1)).day


def retry_after_seconds(value: str | None, now: float) -> float | None:
    """Seconds a Retry-After header (RFC 9110) asks to wait, at epoch `now`: its delay-seconds,
    or the time until its HTTP date (none for a date past); None when it says neither."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    # Imported when a server sends a date: the email package costs every run's start-up.
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)
