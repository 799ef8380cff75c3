"""Portable SQL pieces the rules need that the two databases spell differently."""

from collections.abc import Iterable
from typing import Any

from sqlalchemy import String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import GenericFunction
from sqlalchemy.types import NullType


class id_list(GenericFunction[str]):
    """Aggregates ids into a comma-separated string (group_concat / string_agg)."""

    type = String()
    inherit_cache = True


@compiles(id_list, "sqlite")
def _id_list_sqlite(element: id_list, compiler: Any, **kw: Any) -> str:
    return f"group_concat({compiler.process(element.clauses, **kw)}, ',')"


@compiles(id_list, "postgresql")
def _id_list_postgresql(element: id_list, compiler: Any, **kw: Any) -> str:
    return f"string_agg(CAST({compiler.process(element.clauses, **kw)} AS TEXT), ',')"


class among(GenericFunction[Any]):
    """`column IN (ids)` with the ids as one comma-separated string parameter: the statement's
    text stays the same whatever the number of ids, so it is compiled, converted and prepared
    once, where an expanding IN is rebuilt for every length (milliseconds for a few hundred)."""

    # Not Boolean: SQLite (no native booleans) would compare a Boolean condition with 1 in a
    # WHERE clause, and `(id IN (...)) = 1` cannot use the primary key.
    type = NullType()
    inherit_cache = True


def ids_param(ids: Iterable[int]) -> str:
    """The value for among()'s parameter."""
    return ",".join(map(str, ids))


@compiles(among, "sqlite")
def _among_sqlite(element: among, compiler: Any, **kw: Any) -> str:
    column, ids = (compiler.process(c, **kw) for c in element.clauses)
    return f"({column} IN (SELECT value FROM json_each('[' || {ids} || ']')))"


@compiles(among, "postgresql")
def _among_postgresql(element: among, compiler: Any, **kw: Any) -> str:
    column, ids = (compiler.process(c, **kw) for c in element.clauses)
    return f"({column} = ANY(CAST(string_to_array({ids}, ',') AS INTEGER[])))"
