"""`q`: a case-insensitive substring match over some of a table's columns, indexed on both
databases.

PostgreSQL: lower(column) LIKE '%q%', which the pg_trgm GIN indexes of migration 0010 answer.
SQLite: the large tables (animal, welfare_incident, welfare_report) have an FTS5 table with the
trigram tokenizer (migration 0011), which matches substrings, not words; a phrase MATCH on it
finds the same rows as the LIKE, from an index. A q shorter than a trigram (3 characters) has
no trigram to look up, so it scans with LIKE there too.
"""

from typing import Any

from sqlalchemy import ColumnElement, Table, column, literal, or_, select, table
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlmodel import SQLModel

from app.models.base import table_of
from app.services.common import like_filter

# The tables with an FTS5 twin on SQLite, and the columns it holds (migration 0011).
FULLTEXT: dict[str, tuple[str, ...]] = {
    "animal": ("name", "identifier"),
    "welfare_incident": ("title",),
    "welfare_report": ("title", "description"),
}
TRIGRAM = 3


class TextSearch(ColumnElement[bool]):
    """Rows of `table` where one of `columns` contains q; compiled per database below."""

    inherit_cache = False  # q decides the SQL's shape (index or scan), so no shared cache

    def __init__(self, source: Table, columns: tuple[str, ...], q: str) -> None:
        self.source, self.columns, self.q = source, columns, q

    def scan(self) -> Any:
        return or_(*(like_filter(self.source.c[name], self.q) for name in self.columns))

    def indexed(self) -> Any | None:
        """The FTS5 lookup, when the table has one covering the columns and q has a trigram."""
        covered = FULLTEXT.get(self.source.name, ())
        if len(self.q) < TRIGRAM or not set(self.columns) <= set(covered):
            return None
        twin = table(f"{self.source.name}_fts", column("rowid"))
        # A phrase in double quotes (its own quotes doubled) within a {column ...} filter.
        names, quoted = " ".join(self.columns), self.q.replace('"', '""')
        phrase = "{" + names + "} : " + f'"{quoted}"'
        match = column(twin.name).op("MATCH")(literal(phrase))
        return self.source.c.id.in_(select(twin.c.rowid).select_from(twin).where(match))


@compiles(TextSearch)
def _compile_scan(element: TextSearch, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.scan(), **kw)


@compiles(TextSearch, "sqlite")
def _compile_sqlite(element: TextSearch, compiler: SQLCompiler, **kw: Any) -> str:
    indexed = element.indexed()
    return compiler.process(element.scan() if indexed is None else indexed, **kw)


def text_search(model: type[SQLModel], q: str, *columns: str) -> Any:
    """WHERE clause: a row of the model whose named columns contain q (any of them)."""
    return TextSearch(table_of(model), columns, q)
