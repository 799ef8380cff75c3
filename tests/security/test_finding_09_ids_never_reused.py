"""Finding 9: SQLite reused the id of a deleted newest row, so a key limited to a deleted zoo
gained write access to the next zoo created. Every integer surrogate id is AUTOINCREMENT on
SQLite now (models and migration 0009); PostgreSQL's sequences never reused ids."""

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, inspect, text
from sqlmodel import Session, SQLModel

import app.models  # noqa: F401 - registers every table
from app.core import migrations
from app.core.config import Settings
from app.core.db import make_engine
from app.models import Zoo
from app.models.api_key import Role
from app.seed.loader import load_seed
from tests.api.test_access import bearer
from tests.api.test_errors import assert_problem
from tests.dbutil import backend, create_database, drop_database
from tests.factories import make_key, make_zoo

API = "/api/v1"
sqlite_only = pytest.mark.skipif(backend() != "sqlite", reason="SQLite's rowid reuse")

# Tables keyed by one integer surrogate id; the others are keyed by a zoo or (zoo, subject).
ID_TABLES = sorted(
    t.name for t in SQLModel.metadata.tables.values() if [c.name for c in t.primary_key] == ["id"]
)


def test_every_table_with_a_surrogate_id_asks_for_autoincrement() -> None:
    assert len(ID_TABLES) == 11
    for table in SQLModel.metadata.tables.values():
        wanted = table.name in ID_TABLES
        assert bool(table.dialect_kwargs.get("sqlite_autoincrement")) is wanted, table.name


def test_a_key_for_a_deleted_zoo_does_not_reach_the_next_zoo(
    client: TestClient, anon_client: TestClient, session: Session
) -> None:
    zoo = make_zoo(session)
    headers = bearer(make_key(session, Role.admin, zoos=[zoo.slug]))
    old_id = zoo.id
    assert client.delete(f"{API}/zoos/{zoo.slug}").status_code == 204
    created = client.post(
        f"{API}/zoos", json={"slug": "next", "name": "Next", "country_code": "KP"}
    )
    assert created.status_code == 201, created.text
    assert created.json()["id"] != old_id
    patched = anon_client.patch(f"{API}/zoos/next", json={"city": "Mine"}, headers=headers)
    assert_problem(patched, 403)


@sqlite_only
def test_deleting_the_newest_zoo_frees_no_id(session: Session) -> None:
    newest = make_zoo(session)
    freed = newest.id
    session.delete(newest)
    session.commit()
    assert make_zoo(session).id == freed + 1  # type: ignore[operator]


@sqlite_only
def test_the_migrated_tables_are_autoincrement(engine: Engine) -> None:
    with engine.connect() as conn:
        query = text("SELECT name, sql FROM sqlite_master WHERE type = 'table'")
        sql = {name: definition for name, definition in conn.execute(query)}
    for name in ID_TABLES:
        assert "PRIMARY KEY AUTOINCREMENT" in sql[name], name
    assert "sqlite_sequence" in sql


# --- the migration keeps the data -----------------------------------------------------------


@pytest.fixture
def scratch_url() -> Iterator[str]:
    url = create_database("autoinc")
    yield url
    drop_database(url)


def _rows(url: str) -> dict[str, list[tuple[Any, ...]]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            names = sorted(set(inspect(conn).get_table_names()) - {"alembic_version"})
            return {
                n: [tuple(r) for r in conn.execute(text(f'SELECT * FROM "{n}" ORDER BY 1'))]
                for n in names
            }
    finally:
        engine.dispose()


def test_rows_and_ids_survive_the_migration(scratch_url: str) -> None:
    migrations.upgrade(scratch_url, "0008")
    engine = make_engine(Settings(database_url=scratch_url))
    try:
        assert load_seed(engine)["zoos"] > 0
        with Session(engine, expire_on_commit=False) as session:
            make_key(session, Role.admin)
            # A gap in the ids, and a deleted newest row: ids are kept as they were.
            gone = [make_zoo(session) for _ in range(3)]
            session.delete(gone[0])
            session.delete(gone[2])
            session.commit()
    finally:
        engine.dispose()
    before = _rows(scratch_url)
    assert before["zoo"] and before["animal"] and before["api_key"]

    migrations.upgrade(scratch_url)
    assert _rows(scratch_url) == before

    engine = make_engine(Settings(database_url=scratch_url))
    try:
        with Session(engine, expire_on_commit=False) as session:
            added = make_zoo(session)
            assert added.id > gone[1].id  # type: ignore[operator]
            assert session.get(Zoo, gone[1].id) is not None
            # Rows still refer to each other.
            if backend() == "sqlite":
                broken = session.connection().exec_driver_sql("PRAGMA foreign_key_check").all()
                assert broken == []
    finally:
        engine.dispose()

    migrations.downgrade(scratch_url, "0008")
    after_down = _rows(scratch_url)
    assert {k: v for k, v in after_down.items() if k != "zoo"} == {
        k: v for k, v in before.items() if k != "zoo"
    }
    assert set(before["zoo"]) < set(after_down["zoo"])  # plus the zoo added at head
