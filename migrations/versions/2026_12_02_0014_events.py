"""The change feed's outbox: event (one row per change, positioned after commit by the
sequencer) and event_sequence (its one row, the last position given).

Hand-reviewed. No foreign keys: an event outlives its zoo and its subject. The partial index
finds the events still waiting for a position; the unique one orders the feed. Nothing is
backfilled: the feed starts with this revision.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.models.base import UTCDateTime

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "event",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("position", sa.BigInteger(), nullable=True),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.Column("zoo_id", sa.Integer(), nullable=True),
        sa.Column("subject_type", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_event_position", "event", ["position"], unique=True)
    op.create_index(
        "ix_event_unplaced",
        "event",
        ["id"],
        postgresql_where=sa.text("position IS NULL"),
        sqlite_where=sa.text("position IS NULL"),
    )
    op.create_index("ix_event_zoo_position", "event", ["zoo_id", "position"])
    op.create_table(
        "event_sequence",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.execute("INSERT INTO event_sequence (id, position) VALUES (1, 0)")


def downgrade() -> None:
    op.drop_table("event_sequence")
    op.drop_index("ix_event_zoo_position", table_name="event")
    op.drop_index("ix_event_unplaced", table_name="event")
    op.drop_index("ix_event_position", table_name="event")
    op.drop_table("event")
