"""Search indexes, and updated_at on species, enclosures and gifts.

Hand-written.

Search: every `q` is a case-insensitive substring match, lower(column) LIKE '%q%'
(app/services/common.py like_filter). On PostgreSQL a pg_trgm GIN index on lower(column)
answers it; one per searched column (models: app/models/base.py search_indexes). The
extension is created if missing (it needs a role allowed to create it; pg_trgm is a trusted
extension from PostgreSQL 13, so a database owner may). The downgrade drops the indexes but
leaves the extension, which other objects in the database may have come to use.
SQLite: no index. A leading-wildcard LIKE cannot use a btree index, and FTS5 matches tokens,
not substrings, so it would change what `q` finds; for the embedded default a scan of the
searched tables is acceptable.

updated_at: species, enclosures and gifts get the column the other entities have, stamped by
every update (app/services/common.py apply_update). None of the three has a created_at, so
existing rows are stamped with the time of the migration. Added nullable, filled, then made
NOT NULL; on SQLite that last step rebuilds the table (with foreign keys off, and the
AUTOINCREMENT of migration 0009 kept), as does the downgrade's drop of the column.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 12:00:00
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEARCHED = {
    "zoo": ("name", "city", "slug"),
    "species": ("scientific_name", "common_name"),
    "enclosure": ("name",),
    "gift": ("title", "donor_name", "recipient_name", "occasion"),
    "animal": ("name", "identifier"),
    "welfare_incident": ("title",),
    "welfare_report": ("title", "description"),
}
STAMPED = ("species", "enclosure", "gift")
KEEP_AUTOINCREMENT = {"sqlite_autoincrement": True}


def upgrade() -> None:
    bind = op.get_bind()
    with _sqlite_foreign_keys_off(bind):  # before any write: SQLite ignores it in a transaction
        if bind.dialect.name == "postgresql":
            op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            for table, columns in SEARCHED.items():
                for column in columns:
                    op.execute(
                        f"CREATE INDEX ix_{table}_{column}_trgm ON {table} "
                        f"USING gin (lower({column}) gin_trgm_ops)"
                    )
        now = datetime.now(UTC)
        for table in STAMPED:
            with op.batch_alter_table(table) as batch_op:
                batch_op.add_column(
                    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True)
                )
            stamped = sa.table(table, sa.column("updated_at", sa.DateTime(timezone=True)))
            op.execute(stamped.update().values(updated_at=now))
            with op.batch_alter_table(table, table_kwargs=KEEP_AUTOINCREMENT) as batch_op:
                batch_op.alter_column(
                    "updated_at", existing_type=sa.DateTime(timezone=True), nullable=False
                )


def downgrade() -> None:
    bind = op.get_bind()
    with _sqlite_foreign_keys_off(bind):
        for table in STAMPED:
            with op.batch_alter_table(table, table_kwargs=KEEP_AUTOINCREMENT) as batch_op:
                batch_op.drop_column("updated_at")
        if bind.dialect.name == "postgresql":
            for table, columns in SEARCHED.items():
                for column in columns:
                    op.execute(f"DROP INDEX ix_{table}_{column}_trgm")


@contextmanager
def _sqlite_foreign_keys_off(bind: sa.Connection) -> Iterator[None]:
    """SQLite: rebuilding a table that others refer to must neither cascade nor fail on their
    rows (as in 0009); the foreign keys are checked once the rebuilds are done."""
    if bind.dialect.name != "sqlite":
        yield
        return
    op.execute("PRAGMA foreign_keys=OFF")
    if bind.exec_driver_sql("PRAGMA foreign_keys").scalar():
        raise RuntimeError(
            "SQLite foreign keys are still on (a transaction was open); "
            "run this migration on its own connection."
        )
    yield
    broken = bind.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise RuntimeError(f"foreign keys broken by the rebuild: {broken[:10]}")
    op.execute("PRAGMA foreign_keys=ON")  # as 0009 leaves it (a no-op in an open transaction)
