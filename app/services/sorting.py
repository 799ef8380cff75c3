"""A list's sort: the terms of its ORDER BY, from the `sort` value a client asked for. Offset
pages order by them (`common.ordering`), and cursor pages (app/services/keyset.py) compare a
row's values with them."""

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, cast

from sqlmodel import col


@dataclass(frozen=True)
class SortKey:
    """One term of a list's ORDER BY: the model attribute, its direction, and whether it can
    be NULL (NULL sorts last both ways, as `common.ordering` orders)."""

    attribute: Any
    descending: bool
    nullable: bool

    @property
    def column(self) -> Any:
        """The table's Column behind the attribute."""
        return cast(Any, col(self.attribute)).expression

    @property
    def name(self) -> str:
        return str(self.column.key)

    def clause(self) -> Any:
        expression = col(self.attribute)
        clause = expression.desc() if self.descending else expression.asc()
        return clause.nulls_last() if self.nullable else clause


# A sort key's columns: one attribute, or several (the later ones break its ties).
SortColumns = Any | tuple[Any, ...]


def sort_keys(
    sort: StrEnum, columns: Mapping[str, SortColumns], *, id_column: Any, ties_desc: bool = False
) -> list[SortKey]:
    """The ORDER BY of a list's `sort` value: `field` ascending, `-field` descending, then the
    id (descending when `ties_desc`) so pages never overlap.

    Nullable columns put NULL last both ways, as PostgreSQL and SQLite otherwise disagree;
    NOT NULL columns keep the plain order, which a btree index serves in either direction."""
    value = sort.value
    descending = value.startswith("-")
    field = value.removeprefix("-")
    if field == "id":
        return [SortKey(id_column, descending, False)]
    found = columns[field]
    keys = [
        # The Column behind the attribute says whether it can be NULL.
        SortKey(attr, descending, bool(cast(Any, col(attr)).expression.nullable))
        for attr in (found if isinstance(found, tuple) else (found,))
    ]
    return [*keys, SortKey(id_column, ties_desc, False)]
