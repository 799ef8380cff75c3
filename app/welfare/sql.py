"""Portable SQL pieces the rules need that the two databases spell differently."""

from typing import Any

from sqlalchemy import Integer, String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import GenericFunction


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


class greatest(GenericFunction[int]):
    """The largest of its arguments, none of which may be NULL (GREATEST / scalar max):
    the two databases disagree on NULL arguments, so callers coalesce them first."""

    type = Integer()
    inherit_cache = True


@compiles(greatest, "sqlite")
def _greatest_sqlite(element: greatest, compiler: Any, **kw: Any) -> str:
    return f"max({compiler.process(element.clauses, **kw)})"


@compiles(greatest, "postgresql")
def _greatest_postgresql(element: greatest, compiler: Any, **kw: Any) -> str:
    return f"GREATEST({compiler.process(element.clauses, **kw)})"
