"""The cells the database writes itself, as the two databases spell them: a time as ISO 8601
text in UTC with `Z`, so that millions of them never pass through Python's datetimes."""

from typing import Any

from sqlalchemy import String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class iso_utc(FunctionElement[str]):
    """A stored UTC time (UTCDateTime) as `YYYY-MM-DDTHH:MM:SS.ffffffZ`."""

    type = String()
    inherit_cache = True


@compiles(iso_utc, "postgresql")
def _iso_utc_postgresql(element: iso_utc, compiler: Any, **kw: Any) -> str:
    # to_char, not a cast to text: the text form of a timestamp follows the DateStyle setting.
    column = compiler.process(element.clauses, **kw)
    return f"""to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""


@compiles(iso_utc, "sqlite")
def _iso_utc_sqlite(element: iso_utc, compiler: Any, **kw: Any) -> str:
    # SQLAlchemy stores SQLite's times as `YYYY-MM-DD HH:MM:SS.ffffff`, in UTC (UTCDateTime).
    column = compiler.process(element.clauses, **kw)
    return f"(replace({column}, ' ', 'T') || 'Z')"
