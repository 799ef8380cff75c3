"""The migrations build exactly the schema the models describe, and unwind cleanly."""

from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlmodel import SQLModel

import app.models  # noqa: F401 - registers every table
from app.core import migrations
from tests.dbutil import create_database, drop_database


@pytest.fixture
def scratch_url() -> Iterator[str]:
    url = create_database("migrations")
    yield url
    drop_database(url)


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        names = set(inspect(engine).get_table_names()) - {"alembic_version"}
        return {name for name in names if not migrations.is_fulltext_table(name)}
    finally:
        engine.dispose()


# The search indexes (app/models/base.py search_indexes) are expression indexes on PostgreSQL
# only: there they are compared; SQLite has none and Alembic says it skips them.
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based")
def test_upgrade_downgrade_upgrade_matches_models(scratch_url: str) -> None:
    migrations.upgrade(scratch_url)
    assert _tables(scratch_url) == set(SQLModel.metadata.tables)

    migrations.downgrade(scratch_url, "base")
    assert _tables(scratch_url) == set()

    migrations.upgrade(scratch_url)
    engine = create_engine(scratch_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "include_name": migrations.include_name}
            )
            diff = compare_metadata(context, SQLModel.metadata)
    finally:
        engine.dispose()
    assert diff == [], f"migrations and models differ: {diff}"


def _columns(url: str, table: str) -> set[str]:
    engine = create_engine(url)
    try:
        return {c["name"] for c in inspect(engine).get_columns(table)}
    finally:
        engine.dispose()


def _search_indexes(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            if conn.dialect.name != "postgresql":
                return set()
            rows = conn.execute(
                text("SELECT indexname, indexdef FROM pg_indexes WHERE indexname LIKE '%_trgm'")
            ).all()
    finally:
        engine.dispose()
    assert all("gin (lower(" in d and "gin_trgm_ops" in d for _, d in rows), rows
    return {name for name, _ in rows}


def test_0010_stamps_existing_rows_and_unwinds(scratch_url: str) -> None:
    migrations.upgrade(scratch_url, "0009")
    engine = create_engine(scratch_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO species (id, scientific_name, common_name, taxon_class, "
                    "is_domestic, social_structure, min_group_size, climate_zones) "
                    "VALUES (1, 'Pan troglodytes', 'Chimpanzee', 'mammal', false, 'group', 6, "
                    "'[]')"
                )
            )
    finally:
        engine.dispose()

    migrations.upgrade(scratch_url, "0010")
    for table in ("species", "enclosure", "gift"):
        assert "updated_at" in _columns(scratch_url, table)
    engine = create_engine(scratch_url)
    try:
        with engine.connect() as conn:
            stamped = conn.execute(text("SELECT updated_at FROM species WHERE id = 1")).scalar()
            assert stamped is not None
            if conn.dialect.name == "sqlite":  # the rebuilt tables keep 0009's AUTOINCREMENT
                sql = conn.execute(
                    text("SELECT sql FROM sqlite_master WHERE name = 'species'")
                ).scalar()
                assert "AUTOINCREMENT" in sql
    finally:
        engine.dispose()
    expected = {
        i.name
        for t in SQLModel.metadata.tables.values()
        for i in t.indexes
        if i.name and i.name.endswith("_trgm")
    }
    assert len(expected) == 15
    indexed = _search_indexes(scratch_url)
    assert indexed == (expected if "postgresql" in scratch_url else set())

    migrations.downgrade(scratch_url, "0009")
    for table in ("species", "enclosure", "gift"):
        assert "updated_at" not in _columns(scratch_url, table)
    assert _search_indexes(scratch_url) == set()
    engine = create_engine(scratch_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM species")).scalar() == 1
    finally:
        engine.dispose()


def _fulltext_triggers(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            if conn.dialect.name != "sqlite":
                return set()
            rows = conn.execute(
                text(
                    "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE '%_fts_%'"
                )
            )
            return {name for (name,) in rows}
    finally:
        engine.dispose()


def test_every_later_migration_keeps_the_sqlite_search_triggers(scratch_url: str) -> None:
    """A table rebuild on SQLite drops its triggers (migration 0011 says so); at head, and
    after stepping down to 0011, all nine are there."""
    expected = {
        f"{table}_fts_{event}"
        for table in ("animal", "welfare_incident", "welfare_report")
        for event in ("insert", "delete", "update")
    }
    sqlite = "sqlite" in scratch_url
    migrations.upgrade(scratch_url)
    assert _fulltext_triggers(scratch_url) == (expected if sqlite else set())
    migrations.downgrade(scratch_url, "0011")
    assert _fulltext_triggers(scratch_url) == (expected if sqlite else set())
    migrations.downgrade(scratch_url, "0010")
    assert _fulltext_triggers(scratch_url) == set()
