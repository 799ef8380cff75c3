"""Zoo concern_version: the stamp that keys cached concern lists.

Hand-reviewed: existing zoos start at 0 through the server default; batch mode lets SQLite
drop the column on downgrade.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 12:50:58.661968
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401 - autogenerate renders AutoString through it
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("zoo", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("concern_version", sa.Integer(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("zoo", schema=None) as batch_op:
        batch_op.drop_column("concern_version")
