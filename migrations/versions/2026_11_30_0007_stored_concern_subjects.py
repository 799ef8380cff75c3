"""Stored concern subjects: each flagged subject of a zoo's stored list with its score, worst
severity and rendered item, so an unfiltered page reads only the zoo's subjects (by one index).

Hand-reviewed: derived data, kept with the stored flags. Nothing is backfilled; instead every
zoo's state is dropped, so each zoo is evaluated in full (subjects included) on its next read.
The table goes with its zoo (ON DELETE CASCADE). The rank index finds a zoo's subjects in the
list's order read backwards, or finds them for a top-N sort (checked with EXPLAIN at size L:
PostgreSQL sorts the zoo's ~1,000 rows, 2.3 ms; about 1 ms in-process once prepared).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 16:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "concern_subject",
        sa.Column(
            "zoo_id",
            sa.Integer(),
            sa.ForeignKey("zoo.id", name="fk_concern_subject_zoo_id_zoo", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("subject_type", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("max_severity", sa.Integer(), nullable=False),
        sa.Column("item", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("zoo_id", "subject_type", "subject_id", name="pk_concern_subject"),
    )
    op.create_index(
        "ix_concern_subject_rank",
        "concern_subject",
        [
            "zoo_id",
            "score",
            "max_severity",
            "subject_type",
            "subject_id",
        ],
    )
    # Stored flags without their subjects: evaluated in full again on their next read.
    op.execute("DELETE FROM concern_state")


def downgrade() -> None:
    op.drop_index("ix_concern_subject_rank", table_name="concern_subject")
    op.drop_table("concern_subject")
