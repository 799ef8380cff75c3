"""A resource's rows as CSV: read in batches from one statement (a server-side cursor on
PostgreSQL), so a table of any size passes through in flat memory, each cell written as its
Table Schema type reads it.

Cells: empty for null, booleans `true`/`false`, dates ISO 8601, datetimes ISO 8601 in UTC
with `Z`, numbers as Python writes them (never prefixed: `-33.9` stays a number), lists joined,
and text neutralised against formulas by app/core/csvsafe.py.
"""

import csv
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import Connection

from app.core.csvsafe import neutralise
from app.exports.resources import Column, Resource
from app.exports.schema import Kind

BATCH = 2000  # rows fetched (and written) at a time

Format = Callable[[Any], Any]


class _Writable(Protocol):
    def write(self, s: str, /) -> Any: ...


def _boolean(value: Any) -> str:
    return "true" if value else "false"


def _datetime(value: Any) -> str:
    """A time stored as ISO 8601 text, in UTC with Z."""
    value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    text: str = value.astimezone(UTC).isoformat()
    return text.removesuffix("+00:00") + "Z"


def _joined(separator: str) -> Format:
    """A list read as its JSON text (or, from the concern flags, already joined)."""

    def join(value: Any) -> Any:
        if value == "[]":
            return None
        if value.startswith("["):
            value = separator.join(map(str, json.loads(value)))
        return neutralise(value)

    return join


def _format(column: Column) -> Format | None:
    """How a column's values are written; None: as they are read (numbers, ISO dates, times
    the database wrote as text, enumerations' values, which cannot start a formula)."""
    field = column.field
    if field.joined is not None:
        return _joined(field.joined)
    if field.kind is Kind.string and field.enum is None:
        return neutralise
    if field.kind is Kind.boolean:
        return _boolean
    if field.kind is Kind.datetime and column.iso_text:
        return _datetime
    return None


def header(resource: Resource) -> list[str]:
    return [f.name for f in resource.fields]


def write(resource: Resource, connection: Connection, out: _Writable) -> Iterator[int]:
    """Writes the resource's header and rows to `out`, yielding the rows written so far after
    each batch (the last value is the total)."""
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header(resource))
    formats = [(i, f) for i, column in enumerate(resource.columns) if (f := _format(column))]
    # On the statement: a connection's own options would stay set after the export.
    result = connection.execute(resource.statement().execution_options(yield_per=BATCH))
    written = 0
    yield written
    try:
        for batch in result.partitions():
            for row in batch:
                cells = list(row)
                for i, format_ in formats:
                    value = cells[i]
                    if value is not None:
                        cells[i] = format_(value)
                writer.writerow(cells)
            written += len(batch)
            yield written
    finally:
        result.close()  # a reader that stopped early frees the cursor at once
