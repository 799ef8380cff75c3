"""Keyset (cursor) paging: a page starts after the last row of the one before, by the values
of the list's sort, so a page deep in a long list costs what the first one does (an `offset`
reads and discards every row before it).

A cursor is opaque to clients: base64url of the sort it was made for and the last row's sort
values, its id last. It is checked, never trusted: one made for another sort, or not made
here, is a 422 naming the `after` parameter.
"""

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar

from sqlalchemy import and_, false, or_, true, tuple_
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, SQLModel, col
from sqlmodel.sql.expression import SelectOfScalar

from app.core.errors import Unprocessable, field_error
from app.services.common import count_rows
from app.services.sorting import SortColumns, SortKey, sort_keys

M = TypeVar("M", bound=SQLModel)
CURSOR_MAX = 512  # characters: a cursor holds a few values


@dataclass(frozen=True)
class KeysetPage(Generic[M]):
    items: Sequence[M]
    total: int | None  # counted when asked, or on a first page
    next: str | None  # the cursor of the next page; None on the last


def _bad(message: str) -> Unprocessable:
    return Unprocessable(message, errors=[field_error(["query", "after"], message)])


def _to_json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def _from_json(key: SortKey, value: Any) -> Any:
    if value is None:
        if not key.nullable:
            raise _bad("The cursor is not one this list gave.")
        return None
    column_type = key.column.type
    # A TypeDecorator (UTCDateTime) says `object`; the type it stores as knows.
    kind = getattr(column_type, "impl_instance", column_type).python_type
    try:
        if kind is datetime:
            return datetime.fromisoformat(value)
        if kind is date:
            return date.fromisoformat(value)
        if kind is int and isinstance(value, int) and not isinstance(value, bool):
            return value
        if kind is str and isinstance(value, str):
            return value
    except (TypeError, ValueError):
        pass
    raise _bad("The cursor is not one this list gave.")


def encode(sort: str, keys: Sequence[SortKey], row: Any) -> str:
    values = [_to_json(getattr(row, key.name)) for key in keys]
    text = json.dumps([sort, *values], separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode(cursor: str, sort: str, keys: Sequence[SortKey]) -> list[Any]:
    """The last row's sort values the cursor holds, checked against this list's sort."""
    if len(cursor) > CURSOR_MAX:
        raise _bad("The cursor is not one this list gave.")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        made = json.loads(raw)
    except (binascii.Error, ValueError):
        raise _bad("The cursor is not one this list gave.") from None
    if not isinstance(made, list) or not made:
        raise _bad("The cursor is not one this list gave.")
    if made[0] != sort:
        raise _bad(f"The cursor was made for sort '{str(made[0])[:40]}', not '{sort}'.")
    if len(made) != len(keys) + 1:
        raise _bad("The cursor is not one this list gave.")
    return [_from_json(key, value) for key, value in zip(keys, made[1:], strict=True)]


def _after_one(key: SortKey, value: Any) -> ColumnElement[bool]:
    """Rows strictly after `value` in this key's order (NULL last)."""
    expression = col(key.attribute)
    if value is None:
        return false()  # nothing comes after NULL but more NULL, which ties
    beyond = expression < value if key.descending else expression > value
    return or_(beyond, expression.is_(None)) if key.nullable else beyond


def _same(key: SortKey, value: Any) -> ColumnElement[bool]:
    expression = col(key.attribute)
    return expression.is_(None) if value is None else expression == value


def after(keys: Sequence[SortKey], values: Sequence[Any]) -> ColumnElement[bool]:
    """WHERE for the rows after the given sort values: after on the first key, or tied on it
    and after on the next, and so on. Keys of one direction that cannot be NULL compare as one
    row value, which an index on those columns takes as its bound, so it reads from the cursor
    on, ties included; otherwise the first key's bound is repeated on its own, so an index on
    it is entered at the cursor rather than read from the start."""
    if len({k.descending for k in keys}) == 1 and not any(k.nullable for k in keys):
        row = tuple_(*(col(k.attribute) for k in keys))
        return row < tuple(values) if keys[0].descending else row > tuple(values)
    terms = []
    for i, (key, value) in enumerate(zip(keys, values, strict=True)):
        ties = [_same(k, v) for k, v in zip(keys[:i], values[:i], strict=True)]
        terms.append(and_(*ties, _after_one(key, value)))
    first, value = keys[0], values[0]
    expression = col(first.attribute)
    if value is None:
        bound: ColumnElement[bool] = expression.is_(None)
    else:
        bound = expression <= value if first.descending else expression >= value
        if first.nullable:
            bound = or_(bound, expression.is_(None))
    return and_(bound, or_(*terms)) if terms else true()


def paginate(
    session: Session,
    stmt: SelectOfScalar[M],
    *,
    sort: str,
    keys: Sequence[SortKey],
    limit: int,
    offset: int = 0,
    cursor: str | None = None,
    count: bool = False,
) -> KeysetPage[M]:
    """One page in `keys`' order, after `cursor` or else `offset` rows in, and the cursor of
    the next page. The total is counted on an offset page (as every list has it) or when
    asked: past a cursor, counting would cost what the cursor saves."""
    if cursor is not None and offset:
        message = "Page by `after` or by `offset`, not both."
        raise Unprocessable(message, errors=[field_error(["query", "offset"], message)])
    total = None
    if cursor is None or count:
        total = count_rows(session, stmt)
    if cursor is not None:
        stmt = stmt.where(after(keys, decode(cursor, sort, keys)))
    stmt = stmt.order_by(*(k.clause() for k in keys)).limit(limit + 1)
    rows = session.exec(stmt.offset(offset) if cursor is None else stmt).all()
    items = rows[:limit]
    following = encode(sort, keys, items[-1]) if len(rows) > limit else None
    return KeysetPage(items, total, following)


def sorted_page(
    session: Session,
    stmt: SelectOfScalar[M],
    *,
    sort: StrEnum,
    columns: Mapping[str, SortColumns],
    id_column: Any,
    ties_desc: bool = False,
    limit: int,
    offset: int = 0,
    cursor: str | None = None,
    count: bool = False,
) -> KeysetPage[M]:
    """`paginate` in the order of a list's `sort` value (app/services/sorting.py)."""
    keys = sort_keys(sort, columns, id_column=id_column, ties_desc=ties_desc)
    return paginate(
        session,
        stmt,
        sort=sort.value,
        keys=keys,
        limit=limit,
        offset=offset,
        cursor=cursor,
        count=count,
    )
