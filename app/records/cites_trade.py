"""Reads the CITES Trade Database's comparative tabulation, the CSV file the database's
download gives, by its header names, in either layout:

* current, 16 columns: Year, App., Taxon, Class, Order, Family, Genus, Importer, Exporter,
  Origin, Importer reported quantity, Exporter reported quantity, Term, Unit, Purpose, Source;
* older, 13 columns: Year, App., Family, Taxon, Importer, Exporter, Origin, Importer reported
  quantity, Exporter reported quantity, Term, Unit, Purpose, Source.

Columns are found by name in any order and case; others are ignored. Term and Unit are words
(a blank Unit: a number of specimens); an empty quantity is unknown, not zero; a blank Origin
means the specimens came from the exporting country. Rows are numbered as a spreadsheet shows
them: the header is row 1.
"""

import csv
import hashlib
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from app.models.base import NAME_MAX, SHORT_MAX
from app.models.trade import APPENDICES, KEY_LENGTH

CURRENT = "16-column"
OLDER = "13-column"
# Header (lower case) -> the record's field.
COLUMNS = {
    "year": "year",
    "app.": "appendix",
    "taxon": "taxon",
    "class": "taxon_class",
    "order": "taxon_order",
    "family": "family",
    "genus": "genus",
    "importer": "importer",
    "exporter": "exporter",
    "origin": "origin",
    "importer reported quantity": "importer_quantity",
    "exporter reported quantity": "exporter_quantity",
    "term": "term",
    "unit": "unit",
    "purpose": "purpose",
    "source": "source",
}
HEADER_NAMES = {
    "year": "Year",
    "appendix": "App.",
    "taxon": "Taxon",
    "taxon_class": "Class",
    "taxon_order": "Order",
    "family": "Family",
    "genus": "Genus",
    "importer": "Importer",
    "exporter": "Exporter",
    "origin": "Origin",
    "importer_quantity": "Importer reported quantity",
    "exporter_quantity": "Exporter reported quantity",
    "term": "Term",
    "unit": "Unit",
    "purpose": "Purpose",
    "source": "Source",
}
# Both layouts have these; the current one adds Class, Order and Genus.
REQUIRED = (
    "year",
    "appendix",
    "taxon",
    "importer",
    "exporter",
    "origin",
    "importer_quantity",
    "exporter_quantity",
    "term",
    "unit",
    "purpose",
    "source",
)
CURRENT_ONLY = ("taxon_class", "taxon_order", "genus")
# The fields a record is known by; the quantities are what a newer download revises.
KEY_FIELDS = (
    "year",
    "appendix",
    "taxon",
    "importer",
    "exporter",
    "origin",
    "term",
    "unit",
    "purpose",
    "source",
)
FIRST_YEAR = 1975  # the Convention entered into force on 1 July 1975
CODE = re.compile(r"^[A-Z]{2}$")
TRADE_CODE = re.compile(r"^[A-Z]{1,2}$")  # purpose and source codes: one or two letters
SPECIMENS = {"number of specimens", "specimens", "number"}  # a Unit meaning "a count"


class TradeFileError(ValueError):
    """The file cannot be read at all (no header, a header without the needed columns, not
    UTF-8)."""


@dataclass
class Row:
    number: int
    record: dict[str, Any] | None  # None when the row has errors
    errors: list[tuple[str | None, str]] = field(default_factory=list)  # (header, message)


def key_of(record: dict[str, Any]) -> str:
    """The digest a record is known by: every field but the quantities."""
    text = "\x1f".join("" if record[f] is None else str(record[f]) for f in KEY_FIELDS)
    return hashlib.sha256(text.encode()).hexdigest()[:KEY_LENGTH]


def layout_of(header: list[str]) -> tuple[str, dict[str, int]]:
    """The layout's name and each field's column index, or TradeFileError."""
    at: dict[str, int] = {}
    for index, name in enumerate(header):
        wanted = COLUMNS.get(name.strip().lower())
        if wanted is not None and wanted not in at:
            at[wanted] = index
    missing = [HEADER_NAMES[f] for f in REQUIRED if f not in at]
    if missing:
        raise TradeFileError(
            "The header has no column "
            + ", ".join(f"'{m}'" for m in missing)
            + ": a CITES Trade Database comparative tabulation has Year, App., Taxon, "
            "Importer, Exporter, Origin, Importer reported quantity, Exporter reported "
            "quantity, Term, Unit, Purpose and Source."
        )
    return (CURRENT if all(f in at for f in CURRENT_ONLY) else OLDER), at


class Reader:
    """The rows of one file, parsed and checked, as an iterator of Row. A record twice in one
    file (the comparative tabulation has one row per year, appendix, taxon, countries, term,
    unit, purpose and source) is an error of its second row."""

    def __init__(self, lines: Iterable[str], *, today: date) -> None:
        self._rows = csv.reader(lines)
        self._today = today
        self._seen: dict[str, int] = {}  # key -> the row that had it first
        try:
            header = next(self._rows)
        except StopIteration:
            raise TradeFileError("The file is empty: a header row is needed.") from None
        except (csv.Error, UnicodeDecodeError) as exc:
            raise TradeFileError(f"The header row cannot be read: {exc}.") from None
        self.layout, self._at = layout_of(header)

    def __iter__(self) -> Iterator[Row]:
        number = 1
        while True:
            number += 1
            try:
                cells = next(self._rows)
            except StopIteration:
                return
            except UnicodeDecodeError:
                raise TradeFileError(f"Row {number} is not UTF-8 text.") from None
            except csv.Error as exc:
                yield Row(number, None, [(None, f"cannot be read as CSV: {exc}")])
                continue
            if not any(cell.strip() for cell in cells):
                continue  # a blank line
            yield self._row(number, cells)

    def _row(self, number: int, cells: list[str]) -> Row:
        def cell(name: str) -> str:
            index = self._at.get(name)
            return cells[index].strip() if index is not None and index < len(cells) else ""

        errors: list[tuple[str | None, str]] = []

        def fail(name: str, message: str) -> None:
            errors.append((HEADER_NAMES[name], message))

        record: dict[str, Any] = {}
        year_text = cell("year")
        if not year_text.isdigit() or not FIRST_YEAR <= int(year_text) <= self._today.year:
            fail("year", f"a year from {FIRST_YEAR} to {self._today.year} is needed")
        else:
            record["year"] = int(year_text)
        appendix = cell("appendix").upper()
        if appendix not in APPENDICES:
            fail("appendix", "I, II, III or N is needed")
        record["appendix"] = appendix
        for name, limit, needed in (
            ("taxon", NAME_MAX, True),
            ("taxon_class", SHORT_MAX, False),
            ("taxon_order", SHORT_MAX, False),
            ("family", SHORT_MAX, False),
            ("genus", SHORT_MAX, False),
            ("term", SHORT_MAX, True),
            ("unit", SHORT_MAX, False),
        ):
            text = " ".join(cell(name).split())
            if needed and not text:
                fail(name, "is empty")
            elif len(text) > limit:
                fail(name, f"is longer than {limit} characters")
            record[name] = text or None
        if record["term"]:
            record["term"] = record["term"].lower()
        if record["unit"]:
            record["unit"] = record["unit"].lower()
            if record["unit"] in SPECIMENS:
                record["unit"] = None
        for name in ("importer", "exporter"):
            code = cell(name).upper()
            if not CODE.match(code):
                fail(name, "a two-letter ISO 3166 code is needed")
            record[name] = code
        origin = cell("origin").upper()
        if origin and not CODE.match(origin):
            fail("origin", "a two-letter ISO 3166 code, or blank (the exporter), is needed")
        record["origin"] = origin or record["exporter"]
        for name in ("importer_quantity", "exporter_quantity"):
            record[name] = _quantity(cell(name), lambda m, n=name: fail(n, m))
        for name in ("purpose", "source"):
            code = cell(name).upper()
            if code and not TRADE_CODE.match(code):
                fail(name, "a CITES code of one or two letters, or blank, is needed")
            record[name] = code or None
        if errors:
            return Row(number, None, errors)
        key = record["key"] = key_of(record)
        first = self._seen.setdefault(key, number)
        if first != number:
            message = (
                f"repeats row {first}: the same year, appendix, taxon, countries, term, unit, "
                "purpose and source"
            )
            return Row(number, None, [(None, message)])
        return Row(number, record)


def _quantity(text: str, fail: Any) -> float | None:
    if not text:
        return None  # not reported: unknown, not zero
    try:
        value = float(text)
    except ValueError:
        fail("a number, or empty when not reported, is needed")
        return None
    if not math.isfinite(value) or value < 0:
        fail("a number of 0 or more is needed")
        return None
    return value
