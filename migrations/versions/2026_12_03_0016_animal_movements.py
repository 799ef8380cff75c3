"""animal_movement: where each animal has been (arrivals, enclosure moves, transfers out and
in, status changes), written by the flush hook from now on.

Hand-reviewed. The history begins with one arrival row per existing animal, backfilled from
its current zoo, enclosure, gift and status, dated its `arrived_on` (else the day it was
recorded): what came before was overwritten and cannot be recovered. The downgrade drops the
table and its history.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from app.models.base import UTCDateTime

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS = ("arrival", "enclosure_move", "transfer_in", "transfer_out", "status_change")


def upgrade() -> None:
    op.create_table(
        "animal_movement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("animal_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.Date(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(*KINDS, name="movement_kind", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("from_zoo_id", sa.Integer(), nullable=True),
        sa.Column("to_zoo_id", sa.Integer(), nullable=True),
        sa.Column("from_enclosure_id", sa.Integer(), nullable=True),
        sa.Column("to_enclosure_id", sa.Integer(), nullable=True),
        sa.Column("gift_id", sa.Integer(), nullable=True),
        sa.Column("from_status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("to_status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=5000), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["animal_id"],
            ["animal.id"],
            name=op.f("fk_animal_movement_animal_id_animal"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_animal_movement")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_animal_movement_animal_id_id", "animal_movement", ["animal_id", "id"])
    # created_at is text on SQLite (UTCDateTime) and timestamptz on PostgreSQL: its date part
    # either way.
    day = (
        "substr(created_at, 1, 10)"
        if op.get_bind().dialect.name == "sqlite"
        else "(created_at AT TIME ZONE 'UTC')::date"
    )
    op.execute(
        "INSERT INTO animal_movement (animal_id, at, kind, to_zoo_id, to_enclosure_id, gift_id,"
        " to_status, created_at)"
        f" SELECT id, COALESCE(arrived_on, {day}), 'arrival', zoo_id, enclosure_id, gift_id,"
        " status, created_at FROM animal ORDER BY id"
    )


def downgrade() -> None:
    op.drop_index("ix_animal_movement_animal_id_id", table_name="animal_movement")
    op.drop_table("animal_movement")
