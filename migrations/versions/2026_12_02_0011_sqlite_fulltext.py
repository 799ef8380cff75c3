"""SQLite: FTS5 trigram tables for searching the large tables.

Hand-written. SQLite only; on PostgreSQL it does nothing (the pg_trgm indexes of 0010 serve
the same searches there).

A leading-wildcard LIKE cannot use a btree index, so at size L (a million incidents and as many
reports) `/incidents?q=` scanned for seconds. FTS5's trigram tokenizer indexes every three
characters of a text, so a phrase MATCH finds substrings, as `q` promises (app/services/search.py
sends the query there). Each table is an external-content FTS5 table (it stores the index, not
a copy of the text: content= names the table, content_rowid= its id) kept in step by three
triggers, and filled here by 'rebuild'.

The triggers belong to the base table: a later migration that rebuilds animal, welfare_incident
or welfare_report on SQLite (batch "move and copy") drops them with the old table and must
create them again (`create_fulltext` below shows how); the search tests on SQLite fail if not.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 12:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FULLTEXT = {
    "animal": ("name", "identifier"),
    "welfare_incident": ("title",),
    "welfare_report": ("title", "description"),
}


def create_fulltext(table: str, columns: Sequence[str]) -> None:
    fts = f"{table}_fts"
    names = ", ".join(columns)
    new = ", ".join(f"new.{c}" for c in columns)
    old = ", ".join(f"old.{c}" for c in columns)
    delete = f"INSERT INTO {fts} ({fts}, rowid, {names}) VALUES ('delete', old.id, {old});"
    insert = f"INSERT INTO {fts} (rowid, {names}) VALUES (new.id, {new});"
    op.execute(
        f"CREATE VIRTUAL TABLE {fts} USING fts5({names}, content='{table}', "
        "content_rowid='id', tokenize='trigram')"
    )
    op.execute(f"CREATE TRIGGER {fts}_insert AFTER INSERT ON {table} BEGIN {insert} END")
    op.execute(f"CREATE TRIGGER {fts}_delete AFTER DELETE ON {table} BEGIN {delete} END")
    op.execute(
        f"CREATE TRIGGER {fts}_update AFTER UPDATE OF {names} ON {table} "
        f"BEGIN {delete} {insert} END"
    )
    op.execute(f"INSERT INTO {fts} ({fts}) VALUES ('rebuild')")


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table, columns in FULLTEXT.items():
        create_fulltext(table, columns)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in FULLTEXT:
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER {table}_fts_{trigger}")
        op.execute(f"DROP TABLE {table}_fts")
