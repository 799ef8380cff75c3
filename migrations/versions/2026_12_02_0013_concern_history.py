"""Concern history: each zoo's totals on its concern_state row (the ranking reads them), the
flags raised and cleared (concern_change), a daily snapshot of each zoo's totals
(concern_snapshot, the timeline), and each stored flag's evidence and the zoo's last reply
(concern_flag.evidence, .zoo_replied_at); submissions found by the report they became.

Hand-reviewed: derived data, so nothing is backfilled. The existing concern_state rows are
deleted, which makes each zoo's next update a full evaluation that fills the new columns (the
server defaults only let the columns be added to a table SQLite cannot alter otherwise; the
stored flags are replaced by that evaluation, so their evidence default is never read). Both
new tables go with their zoo (ON DELETE CASCADE); changes are read by zoo in order.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 18:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.models.base import UTCDateTime

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TOTALS = (
    "version",
    "flagged_animals",
    "flagged_enclosures",
    "total_score",
    "max_severity",
    "open_incidents",
)


def _zoo(name: str, *, primary_key: bool = False) -> sa.Column:  # type: ignore[type-arg]  # SQLAlchemy's Column is generic; a migration builds untyped ones
    return sa.Column(
        "zoo_id",
        sa.Integer(),
        sa.ForeignKey("zoo.id", name=f"fk_{name}_zoo_id_zoo", ondelete="CASCADE"),
        nullable=False,
        primary_key=primary_key,
    )


def upgrade() -> None:
    op.execute("DELETE FROM concern_state")
    for name in TOTALS:
        op.add_column(
            "concern_state", sa.Column(name, sa.Integer(), server_default="0", nullable=False)
        )
    op.add_column(
        "concern_state",
        sa.Column(
            "evaluated_at",
            UTCDateTime(),
            server_default="1970-01-01 00:00:00",
            nullable=False,
        ),
    )
    op.add_column(
        "concern_flag", sa.Column("evidence", sa.Integer(), server_default="1", nullable=False)
    )
    op.add_column("concern_flag", sa.Column("zoo_replied_at", sa.String(), nullable=True))
    op.create_index("ix_submission_report_id", "submission", ["report_id"])
    op.create_table(
        "concern_change",
        sa.Column("id", sa.Integer(), primary_key=True),
        _zoo("concern_change"),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("rule", sa.String(length=40), nullable=False),
        sa.Column("subject_type", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("severity", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_concern_change"),
        sqlite_autoincrement=True,  # ids never reused, as every id-keyed table's
    )
    op.create_index("ix_concern_change_zoo", "concern_change", ["zoo_id", "id"])
    op.create_table(
        "concern_snapshot",
        _zoo("concern_snapshot", primary_key=True),
        sa.Column("day", sa.Date(), nullable=False, primary_key=True),
        sa.Column("flagged_animals", sa.Integer(), nullable=False),
        sa.Column("flagged_enclosures", sa.Integer(), nullable=False),
        sa.Column("total_score", sa.Integer(), nullable=False),
        sa.Column("max_severity", sa.Integer(), nullable=False),
        sa.Column("open_incidents", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("zoo_id", "day", name="pk_concern_snapshot"),
    )


def downgrade() -> None:
    op.drop_table("concern_snapshot")
    op.drop_index("ix_concern_change_zoo", table_name="concern_change")
    op.drop_table("concern_change")
    op.drop_index("ix_submission_report_id", table_name="submission")
    with op.batch_alter_table("concern_flag") as batch_op:
        batch_op.drop_column("zoo_replied_at")
        batch_op.drop_column("evidence")
    with op.batch_alter_table("concern_state") as batch_op:
        for name in ("evaluated_at", *TOTALS):
            batch_op.drop_column(name)
