"""The rows of the files people keep records in: a JSON array, NDJSON, or CSV with a header
row; and the times in them. Pure: the text comes in.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pulse_backfill.dates import LAST_SECOND

_MILLISECONDS = 100_000_000_000  # epoch numbers above this are milliseconds (after 1973 in ms)


class TableError(ValueError):
    """A file is not in the format it should be; the message says where."""


def rows(text: str, *, csv_hint: bool) -> list[tuple[str, Mapping[str, Any]]]:
    """The records of a JSON array, NDJSON or CSV file (CSV when hinted, or when it is not
    JSON at all), each with where it stands ("item 3", "line 7") for messages."""
    stripped = text.lstrip()
    if not csv_hint and stripped.startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError as error:
            raise TableError(f"not JSON ({error.msg}, line {error.lineno})") from None
        return [(f"item {n}", _mapping(item, f"item {n}")) for n, item in enumerate(items, 1)]
    if not csv_hint and stripped.startswith("{"):
        records = []
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                try:
                    item = json.loads(line)
                except json.JSONDecodeError as error:
                    raise TableError(f"line {number}: not JSON ({error.msg})") from None
                records.append((f"line {number}", _mapping(item, f"line {number}")))
        return records
    reader = csv.DictReader(io.StringIO(text))
    return [(f"line {reader.line_num}", _CsvRow(row)) for row in reader]


def missing(where: str, name: str, row: Mapping[str, Any], option: str) -> TableError:
    """A row without the field `name`: what it has instead (a CSV file's columns, a JSON
    object's keys), and the option that names the field. A field that is there, but empty on
    this row, is only said to be missing."""
    if name in row:
        return TableError(f"{where}: no {name!r}: name the field with {option}")
    names = [str(key) for key in row if key is not None]  # None: a CSV row's extra values
    shown = ", ".join(names[:_NAMES_SHOWN])
    if len(names) > _NAMES_SHOWN:
        shown += f" and {len(names) - _NAMES_SHOWN} more"
    has = f"the columns are {shown}" if isinstance(row, _CsvRow) else f"its fields are {shown}"
    if not names:
        has = "it has no fields"
    return TableError(f"{where}: no {name!r}: {has}; name the field with {option}")


_NAMES_SHOWN = 12


class _CsvRow(dict[str, Any]):
    """A row of a CSV file: its keys are the header's columns."""


def _mapping(item: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(item, dict):
        raise TableError(f"{where}: not an object")
    return item


def parse_time(value: Any, what: str) -> int:
    """Epoch seconds from epoch seconds or milliseconds (number or digits) or ISO 8601."""
    if isinstance(value, str) and value.strip() and not _is_number(value):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise TableError(
                f"{what} is not a time (epoch seconds or milliseconds, or ISO 8601): {value!r}"
            ) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return _in_range(int(moment.timestamp()), value, what)
    if isinstance(value, bool) or not (isinstance(value, int | float) or _is_number(value)):
        raise TableError(f"{what} is not a time: {value!r}")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise TableError(f"{what} is not a time: {value!r}")
    return _in_range(int(number / 1000 if abs(number) >= _MILLISECONDS else number), value, what)


def _is_number(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        float(value)
    except ValueError:
        return False
    return True


def _in_range(seconds: int, value: Any, what: str) -> int:
    if not 0 <= seconds <= LAST_SECOND:
        raise TableError(f"{what} is out of range (1970 to 9999): {value!r}")
    return seconds
