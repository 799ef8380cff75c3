"""The portable SQL pieces, run on the test database."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from app.concerns.rules import GROUPS, Context
from app.concerns.sql import among, ids_param
from app.core.config import Settings
from app.models import Zoo
from tests.factories import make_zoo


def _ids_among(session: Session, ids: list[int]) -> list[int]:
    stmt = select(Zoo.id).where(among(Zoo.id, ids_param(ids))).order_by(Zoo.id)
    return list(session.connection().execute(stmt).scalars())


def test_among_selects_exactly_the_ids_given(session: Session) -> None:
    zoos = [make_zoo(session, slug=f"among-{n}") for n in range(4)]
    ids = [z.id for z in zoos]
    assert _ids_among(session, [ids[2], ids[0], max(ids) + 1000]) == [ids[0], ids[2]]
    assert _ids_among(session, ids) == sorted(ids)
    assert _ids_among(session, [ids[3]]) == [ids[3]]
    assert _ids_among(session, []) == []


def test_among_sends_the_same_statement_whatever_the_number_of_ids(session: Session) -> None:
    """Its point: one statement text, so it is compiled, converted and prepared once."""
    sent: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "zoo.id" in statement:  # not the test session's SAVEPOINTs
            sent.append(statement)

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", record)
    try:
        _ids_among(session, [1])
        _ids_among(session, list(range(1, 300)))
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert len(sent) == 2
    assert sent[0] == sent[1]


def test_open_incident_groups_spell_the_open_statuses_as_literals(settings: Settings) -> None:
    """A prepared statement's generic plan can use the partial indexes on open incidents
    (`status IN ('reported', 'under_review', 'confirmed')`) only if the query spells the same
    values out; as parameters, PostgreSQL planned a sequential scan over every animal."""
    ctx = Context(settings=settings, zoo_id=1, now=datetime(2026, 1, 1, tzinfo=UTC))
    open_groups = [g for g in GROUPS if g.name.endswith("_open_incidents")]
    assert len(open_groups) == 2
    for group in open_groups:
        sql = str(group.query(ctx).compile(dialect=postgresql.dialect()))
        assert "status IN ('reported', 'under_review', 'confirmed')" in sql, group.name


def test_among_is_searched_by_the_primary_key_on_sqlite(session: Session) -> None:
    """Typed Boolean, the condition was compared with 1 on SQLite (`(id IN (...)) = 1`), which
    turned each lookup of incident titles into a scan of every incident (300 ms at size L)."""
    stmt = select(Zoo.id).where(among(Zoo.id, ids_param([1, 2])))
    sql = str(stmt.compile(dialect=sqlite.dialect()))
    assert sql.rstrip().endswith("json_each('[' || ? || ']')))"), sql
    if session.get_bind().dialect.name == "sqlite":
        plan = session.connection().exec_driver_sql("EXPLAIN QUERY PLAN " + sql, ("1,2",))
        assert any("PRIMARY KEY" in row[-1] for row in plan), plan
