"""SQLite AUTOINCREMENT on every integer surrogate id, so no id of any table is ever reused.

Hand-written. Without AUTOINCREMENT SQLite hands out max(id) + 1, so deleting the newest row
frees its id: a key limited to a deleted zoo gained the next zoo created, which got its id.
AUTOINCREMENT keeps the high-water mark in sqlite_sequence. SQLite cannot alter a primary key,
so each table is rebuilt (copied) with foreign keys off, and the foreign keys are checked after.
The tables keyed by a zoo or by (zoo, subject) have no surrogate id and are left as they are.
PostgreSQL: nothing to do (serial and identity sequences never hand out an id twice).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 09:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Every table whose primary key is one integer `id` (as of this revision).
TABLES = (
    "zoo",
    "species",
    "enclosure",
    "gift",
    "animal",
    "api_key",
    "idempotency_record",
    "welfare_incident",
    "welfare_report",
    "incident_event",
    "concern_flag",
)


def upgrade() -> None:
    _rebuild(autoincrement=True)


def downgrade() -> None:
    _rebuild(autoincrement=False)


def _rebuild(*, autoincrement: bool) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    # Dropping a table that others refer to with foreign keys on would delete (cascade) rows.
    op.execute("PRAGMA foreign_keys=OFF")
    if bind.exec_driver_sql("PRAGMA foreign_keys").scalar():
        raise RuntimeError(
            "SQLite foreign keys are still on (a transaction was open); "
            "run this migration on its own connection."
        )
    for table in TABLES:
        with op.batch_alter_table(
            table, recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
        ):
            pass
    broken = bind.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise RuntimeError(f"foreign keys broken by the rebuild: {broken[:10]}")
    op.execute("PRAGMA foreign_keys=ON")
