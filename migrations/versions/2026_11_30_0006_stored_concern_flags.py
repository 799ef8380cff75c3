"""Stored concern flags: each zoo's flags as last evaluated and explained (reason, incidents,
subject's name), the subjects writes made stale, and when each zoo was last evaluated in full.

Hand-reviewed: derived data, so nothing is backfilled (a zoo with no concern_state row is
evaluated in full on its first read); every table goes with its zoo (ON DELETE CASCADE); a
subject is marked dirty once (primary key, duplicates ignored);
concern_flag's index covers ranking a zoo's subjects (index-only once vacuumed).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 13:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _zoo(name: str, *, primary_key: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        "zoo_id",
        sa.Integer(),
        sa.ForeignKey("zoo.id", name=f"fk_{name}_zoo_id_zoo", ondelete="CASCADE"),
        nullable=False,
        primary_key=primary_key,
    )


def upgrade() -> None:
    op.create_table(
        "concern_flag",
        sa.Column("id", sa.Integer(), primary_key=True),
        _zoo("concern_flag"),
        sa.Column("subject_type", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=40), nullable=False),
        sa.Column("severity", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("incident_ids", sa.String(), nullable=False),
        sa.Column("subject", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_concern_flag"),
    )
    op.create_index(
        "ix_concern_flag_zoo_subject",
        "concern_flag",
        ["zoo_id", "subject_type", "subject_id", "rule", "severity"],
    )
    op.create_table(
        "concern_dirty",
        _zoo("concern_dirty", primary_key=True),
        sa.Column("subject_type", sa.String(length=16), nullable=False, primary_key=True),
        sa.Column("subject_id", sa.Integer(), nullable=False, primary_key=True),
        sa.PrimaryKeyConstraint("zoo_id", "subject_type", "subject_id", name="pk_concern_dirty"),
    )
    op.create_table(
        "concern_state",
        _zoo("concern_state", primary_key=True),
        sa.Column("evaluated_on", sa.Date(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("zoo_id", name="pk_concern_state"),
    )


def downgrade() -> None:
    op.drop_table("concern_state")
    op.drop_table("concern_dirty")
    op.drop_index("ix_concern_flag_zoo_subject", table_name="concern_flag")
    op.drop_table("concern_flag")
