"""Alembic, driven from the package so `zoo-registry db upgrade` works from anywhere."""

import re
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"
# SQLite's FTS5 search tables and their shadow tables (migration 0011): the schema's, not the
# models'; autogenerate must neither drop them nor count them.
_FULLTEXT_TABLE = re.compile(r".+_fts(_(data|idx|docsize|config|content))?")


def is_fulltext_table(name: str | None) -> bool:
    return name is not None and _FULLTEXT_TABLE.fullmatch(name) is not None


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic's include_name hook: compare every table but the full-text ones."""
    return not (type_ == "table" and is_fulltext_table(name))


def alembic_config(database_url: str) -> Config:
    """An Alembic config pointing at our migrations and the given database."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("file_template", "%%(year)d_%%(month).2d_%%(day).2d_%%(rev)s_%%(slug)s")
    # Escaped because Alembic's config interpolates percent signs.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)


@cache
def head_revision() -> str:
    """The latest revision in the package's migrations (read once)."""
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None before the first migration)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
