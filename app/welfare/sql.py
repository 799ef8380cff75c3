"""Portable SQL pieces the rules need that the two databases spell differently."""

from typing import Any

from sqlalchemy import String
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
