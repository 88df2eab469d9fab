"""A CD system's export of its deployments (Argo CD, Spinnaker, Jenkins, Heroku...): which rows
are deployments, and of what. Pure: the text comes in.
"""

from __future__ import annotations

from dataclasses import dataclass

from pulse_backfill.derive.sources import ExportFields
from pulse_backfill.documents.tables import TableError, missing, parse_time, rows


@dataclass(frozen=True)
class ExportedDeployment:
    identifier: str
    commit: str  # a commit-ish, as the export names it
    time: int  # epoch seconds
    where: str  # "line 7", "item 3": for messages


def parse_export(text: str, fields: ExportFields, *, csv_hint: bool) -> list[ExportedDeployment]:
    """The successful deployments of an export, as it lists them. A row without one of the
    fields, with a time that cannot be read or with an id used before is an error naming it."""
    deployments: list[ExportedDeployment] = []
    seen: dict[str, str] = {}
    for where, row in rows(text, csv_hint=csv_hint):
        for name in (fields.identifier, fields.commit, fields.time):
            if row.get(name) in (None, ""):
                raise missing(where, name, row, f"--{_option(name, fields)}")
        status = row.get(fields.status)
        if status not in (None, "") and str(status) != fields.success:
            continue  # a failed attempt, or one still running
        identifier = str(row[fields.identifier])
        if identifier in seen:
            raise TableError(
                f"{where}: the id {identifier!r} is {seen[identifier]}'s too: give each "
                "deployment its own id"
            )
        seen[identifier] = where
        time = parse_time(row[fields.time], f"{where}: {fields.time}")
        deployments.append(ExportedDeployment(identifier, str(row[fields.commit]), time, where))
    return deployments


def _option(name: str, fields: ExportFields) -> str:
    """The option that names the field `name` holds."""
    if name == fields.identifier:
        return "id-field"
    return "commit-field" if name == fields.commit else "time-field"
