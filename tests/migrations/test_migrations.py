"""The migrations build exactly the schema the models describe, and unwind cleanly."""

from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect
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
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade_matches_models(scratch_url: str) -> None:
    migrations.upgrade(scratch_url)
    assert _tables(scratch_url) == set(SQLModel.metadata.tables)

    migrations.downgrade(scratch_url, "base")
    assert _tables(scratch_url) == set()

    migrations.upgrade(scratch_url)
    engine = create_engine(scratch_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, SQLModel.metadata)
    finally:
        engine.dispose()
    assert diff == [], f"migrations and models differ: {diff}"
