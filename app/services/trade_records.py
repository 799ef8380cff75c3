"""CITES trade records: importing the Trade Database's comparative tabulation, and reading it.

A file lands whole or not at all. It is read twice: first every row is checked (any bad row
rejects the file, with each bad row's number, column and message), then the rows are written
in batches in one transaction. A record twice in the file is an error (the reader's). A row
already imported (the same year, appendix, taxon,
countries, term, unit, purpose and source) is unchanged, or updated when a newer download
revised its quantities; the rest are created. Importing a file twice changes nothing.

The concern lists that trade records decide (app/concerns: unmatched_trade) are invalidated by
the concern package's write hook, which sees the inserts pass through the session.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlmodel import Session, col
from sqlmodel import select as model_select

from app.core.db import deferred_invalidation
from app.core.errors import Unprocessable, field_error
from app.models import ApiKey
from app.models.base import table_of, utcnow
from app.models.trade import TradeImportResult, TradeRecord
from app.records.cites_trade import Reader, TradeFileError
from app.services import keyset
from app.services.access import ensure_zoo_scope
from app.services.common import commit
from app.services.keyset import KeysetPage

TRADE = table_of(TradeRecord)
BATCH = 2000
ERRORS_SHOWN = 100  # bad rows listed in the answer (all are counted)
QUANTITIES = ("importer_quantity", "exporter_quantity")

OpenText = Callable[[], Iterable[str]]
Progress = Callable[[int], None]


@dataclass
class _Counts:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0


def _reader(open_text: OpenText) -> Reader:
    try:
        return Reader(open_text(), today=utcnow().date())
    except TradeFileError as exc:
        raise Unprocessable(str(exc), errors=[field_error(["body"], str(exc))]) from None


def _check(open_text: OpenText) -> None:
    """Reads every row; a bad one rejects the file with every bad row's errors."""
    errors: list[dict[str, Any]] = []
    bad, rows, found = 0, 0, 0
    try:
        for row in _reader(open_text):
            rows += 1
            if row.errors:
                bad += 1
                for column, message in row.errors:
                    found += 1
                    if len(errors) < ERRORS_SHOWN:
                        errors.append(field_error(["body", row.number, column or "row"], message))
    except TradeFileError as exc:
        raise Unprocessable(str(exc), errors=[field_error(["body"], str(exc))]) from None
    if bad:
        listed = "" if found <= ERRORS_SHOWN else f"; the first {ERRORS_SHOWN} errors are listed"
        raise Unprocessable(
            f"{bad} of the file's {rows} rows are not valid; nothing was imported. Each error "
            f"names the row (the header is row 1) and the column{listed}.",
            errors=errors,
        )


def import_file(
    *,
    session: Session,
    open_text: OpenText,
    actor: ApiKey | None,
    progress: Progress | None = None,
) -> TradeImportResult:
    """Imports a comparative-tabulation file; `open_text` opens it (it is read twice).
    `progress` hears the number of rows written so far."""
    if actor is not None:
        ensure_zoo_scope(actor, None)  # trade records belong to no zoo
    _check(open_text)
    reader = _reader(open_text)
    counts = _Counts()
    batch: dict[str, dict[str, object]] = {}
    with deferred_invalidation(session):  # the concern lists invalidated once, at commit
        for row in reader:
            assert row.record is not None, "checked above"
            counts.rows += 1
            batch[str(row.record["key"])] = row.record  # no key twice: the reader refuses it
            if len(batch) >= BATCH:
                _write(session, batch, counts)
                if progress is not None:
                    progress(counts.rows)
        _write(session, batch, counts)
        commit(session)
    if progress is not None:
        progress(counts.rows)
    return TradeImportResult(
        layout=reader.layout,
        rows=counts.rows,
        created=counts.created,
        updated=counts.updated,
        unchanged=counts.unchanged,
    )


def _write(session: Session, batch: dict[str, dict[str, object]], counts: _Counts) -> None:
    if not batch:
        return
    now = utcnow()
    stored = session.execute(
        select(TRADE.c.key, TRADE.c.id, *(TRADE.c[q] for q in QUANTITIES)).where(
            TRADE.c.key.in_(list(batch))
        )
    ).all()
    known = {row.key: row for row in stored}
    new, revised = [], []
    for key, record in batch.items():
        row = known.get(key)
        if row is None:
            new.append(record | {"imported_at": now})
        elif all(getattr(row, q) == record[q] for q in QUANTITIES):
            counts.unchanged += 1
        else:
            revised.append({"row_id": row.id, **{q: record[q] for q in QUANTITIES}})
    if new:
        session.execute(insert(TRADE), new)
    if revised:
        session.execute(
            update(TRADE)
            .where(TRADE.c.id == bindparam("row_id"))
            .values(imported_at=now, **{q: bindparam(q) for q in QUANTITIES}),
            revised,
        )
    counts.created += len(new)
    counts.updated += len(revised)
    batch.clear()


class TradeOrder(StrEnum):
    """The list's one order (a cursor names it)."""

    year = "year"


TRADE_ORDER = {
    "year": (TradeRecord.year, TradeRecord.taxon, TradeRecord.exporter, TradeRecord.importer)
}


def list_records(
    *,
    session: Session,
    taxon: str | None,
    importer: str | None,
    exporter: str | None,
    year: int | None,
    purpose: str | None,
    source: str | None,
    term: str | None,
    limit: int,
    offset: int = 0,
    after: str | None = None,
    count: bool = False,
) -> KeysetPage[TradeRecord]:
    """Trade records by year, then taxon, then countries: a page `offset` rows in, or after
    the cursor `after`."""
    stmt = model_select(TradeRecord)
    for column, value in (
        (TradeRecord.taxon, taxon),
        (TradeRecord.importer, importer and importer.upper()),
        (TradeRecord.exporter, exporter and exporter.upper()),
        (TradeRecord.year, year),
        (TradeRecord.purpose, purpose and purpose.upper()),
        (TradeRecord.source, source and source.upper()),
        (TradeRecord.term, term and term.lower()),
    ):
        if value is not None:
            stmt = stmt.where(col(column) == value)
    return keyset.sorted_page(
        session,
        stmt,
        sort=TradeOrder.year,
        columns=TRADE_ORDER,
        id_column=TradeRecord.id,
        limit=limit,
        offset=offset,
        cursor=after,
        count=count,
    )
