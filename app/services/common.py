"""Helpers every service shares: loading by id, paging, committing as one unit."""

from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum
from typing import Any, TypeVar, TypeVarTuple, overload

from sqlalchemy import func
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, select
from sqlmodel.sql.expression import Select, SelectOfScalar

from app.core.errors import Conflict, NotFound, Unprocessable, field_error
from app.models.base import utcnow
from app.services.sorting import SortColumns, sort_keys

M = TypeVar("M", bound=SQLModel)
Ts = TypeVarTuple("Ts")


def by_ids(session: Session, model: type[M], ids: Iterable[int | None]) -> dict[int, M]:
    """The rows of these ids (nulls ignored), by id: what a page names beside its subject."""
    wanted = sorted({i for i in ids if i})
    if not wanted:
        return {}
    primary = sa_inspect(model).primary_key[0]
    found = session.exec(select(model).where(primary.in_(wanted)))
    return {int(getattr(row, primary.key)): row for row in found}


def counts(session: Session, model: type[M], column: str, *, zoo_id: int) -> dict[Any, int]:
    """How many of the zoo's rows have each value of the column (a page's chart)."""
    table = sa_inspect(model).local_table
    stmt = (
        sa_select(table.c[column], func.count())
        .where(table.c.zoo_id == zoo_id)
        .group_by(table.c[column])
    )
    return {value: int(n) for value, n in session.execute(stmt)}


def get_or_404(session: Session, model: type[M], id_: int, label: str) -> M:
    """Loads a row by primary key or raises NotFound naming what was missing."""
    row = session.get(model, id_)
    if row is None:
        raise NotFound(f"No {label} with id {id_}.")
    return row


def require_ref(session: Session, model: type[M], id_: int, field: str, label: str) -> M:
    """Loads a row a request body refers to; a dangling reference is a 422 on that field."""
    row = session.get(model, id_)
    if row is None:
        raise Unprocessable(
            f"No {label} with id {id_}.",
            errors=[field_error(["body", field], f"no {label} with id {id_}")],
        )
    return row


@overload
def paginate(
    session: Session, stmt: SelectOfScalar[M], *, limit: int, offset: int
) -> tuple[Sequence[M], int]: ...


@overload
def paginate(
    session: Session, stmt: Select[*Ts], *, limit: int, offset: int
) -> tuple[Sequence[tuple[*Ts]], int]: ...


def paginate(
    session: Session, stmt: SelectOfScalar[M] | Select[*Ts], *, limit: int, offset: int
) -> tuple[Sequence[M] | Sequence[tuple[*Ts]], int]:
    """Returns one page of rows (models, or tuples of columns) and the total the filters
    match."""
    total = count_rows(session, stmt)
    items = session.exec(stmt.limit(limit).offset(offset)).all()
    return items, total


def count_rows(session: Session, stmt: SelectOfScalar[Any] | Select[*tuple[Any, ...]]) -> int:
    """How many rows the query's filters match, whatever its order and page."""
    return int(session.exec(select(func.count()).select_from(stmt.order_by(None).subquery())).one())


def apply_update(row: SQLModel, changes: dict[str, Any]) -> None:
    """Copies a PATCH body's set fields onto a row and stamps updated_at where it has one."""
    row.sqlmodel_update(changes)
    if hasattr(row, "updated_at"):
        row.updated_at = utcnow()


def commit(session: Session, *, conflict: str = "The change conflicts with existing data.") -> None:
    """Commits the unit of work; a constraint race lost to another writer becomes a 409."""
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict(conflict) from exc


def ensure_absent(session: Session, stmt: SelectOfScalar[Any], message: str) -> None:
    """Raises Conflict when the query finds a row (used for unique keys, with a clear reason)."""
    if session.exec(stmt.limit(1)).first() is not None:
        raise Conflict(message)


def ensure_unused(session: Session, checks: list[tuple[SelectOfScalar[Any], str]]) -> None:
    """Refuses a delete while anything still refers to the row (history is never orphaned)."""
    for stmt, noun in checks:
        count = session.exec(select(func.count()).select_from(stmt.subquery())).one()
        if count:
            raise Conflict(f"It still has {count} {noun}; remove or move them first.")


def like_filter(column: Any, q: str) -> Any:
    """A case-insensitive substring match that treats % and _ in q literally."""
    return func.lower(column).contains(q.lower(), autoescape=True)


def ordering(
    sort: StrEnum, columns: Mapping[str, SortColumns], *, id_column: Any, ties_desc: bool = False
) -> list[Any]:
    """ORDER BY for a list's `sort` value (app/services/sorting.py, `sort_keys`)."""
    keys = sort_keys(sort, columns, id_column=id_column, ties_desc=ties_desc)
    return [key.clause() for key in keys]
