"""The rows of an import file, CSV or NDJSON, read one at a time (a file of any length in
flat memory), numbered as a person finds them: a CSV's header is row 1, an NDJSON file's
first line is row 1.

A CSV cell is text, kept as written but for the quote an export puts before text that could
start a formula (app/core/csvsafe.py), and an empty or blank cell is null; an NDJSON line is
one JSON object whose values keep their JSON types. What the values mean is the importer's
business (app/services/imports.py).
"""

import csv
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from app.core.csvsafe import restore


class FileFormat(StrEnum):
    csv = "csv"
    ndjson = "ndjson"


MEDIA_TYPES = {
    "text/csv": FileFormat.csv,
    "application/csv": FileFormat.csv,
    "application/x-ndjson": FileFormat.ndjson,
    "application/ndjson": FileFormat.ndjson,
}


class ImportFileError(ValueError):
    """The file cannot be read at all (empty, no header, not UTF-8)."""


@dataclass
class SourceRow:
    number: int
    values: dict[str, Any]
    error: str | None = None  # the row could not be read; values is empty


def format_of(name: str) -> FileFormat:
    """A file's format by its name's ending (.ndjson, .jsonl: NDJSON; else CSV)."""
    lowered = name.lower()
    return FileFormat.ndjson if lowered.endswith((".ndjson", ".jsonl")) else FileFormat.csv


class Rows:
    """A file's rows, and (for CSV) the columns its header names."""

    def __init__(self, lines: Iterable[str], file_format: FileFormat) -> None:
        self.format = file_format
        self._lines = iter(lines)
        self.columns: list[str] | None = None
        if file_format is FileFormat.csv:
            self._csv = csv.reader(self._lines)
            try:
                header = next(self._csv)
            except StopIteration:
                raise ImportFileError("The file is empty: a header row is needed.") from None
            except (csv.Error, UnicodeDecodeError) as exc:
                raise ImportFileError(f"The header row cannot be read: {exc}.") from None
            self.columns = [name.strip() for name in header]
            if not any(self.columns):
                raise ImportFileError("The header row is empty: it names the columns.")

    def __iter__(self) -> Iterator[SourceRow]:
        if self.format is FileFormat.csv:
            yield from self._csv_rows()
        else:
            yield from self._ndjson_rows()

    def _csv_rows(self) -> Iterator[SourceRow]:
        assert self.columns is not None
        width = len(self.columns)
        number = 1
        while True:
            number += 1
            try:
                cells = next(self._csv)
            except StopIteration:
                return
            except UnicodeDecodeError:
                raise ImportFileError(f"Row {number} is not UTF-8 text.") from None
            except csv.Error as exc:
                yield SourceRow(number, {}, f"cannot be read as CSV: {exc}")
                continue
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) > width:
                message = f"has {len(cells)} cells; the header names {width} columns"
                yield SourceRow(number, {}, message)
                continue
            values = {
                name: (restore(cell) if cell.strip() else None)
                for name, cell in zip(self.columns, cells, strict=False)
            }
            yield SourceRow(number, values)

    def _ndjson_rows(self) -> Iterator[SourceRow]:
        number = 0
        while True:
            number += 1
            try:
                line = next(self._lines)
            except StopIteration:
                return
            except UnicodeDecodeError:
                raise ImportFileError(f"Line {number} is not UTF-8 text.") from None
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except ValueError as exc:
                yield SourceRow(number, {}, f"is not JSON: {exc}")
                continue
            if not isinstance(value, dict):
                yield SourceRow(number, {}, "is not a JSON object")
                continue
            yield SourceRow(number, value)
