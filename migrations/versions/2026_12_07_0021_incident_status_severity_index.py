"""The zoo-and-status index of incidents takes the severity too.

Hand-reviewed. The incident list's first page counts its total: a zoo's incidents of some
statuses at or above a severity. By (zoo_id, status) alone PostgreSQL counted them from the
severity index, checking every one of the zoo's rows of that severity for its status (EXPLAIN
at size XL, 1,000 zoos and 10,000,000 incidents: 6,000 index entries read for 1,200 counted,
2.3 ms); by (zoo_id, status, severity) it reads the 1,200 alone (0.25 ms). The new index
starts with the old one's columns, so it serves every query the old one did (the status
filters of the lists and the concern rules), and replaces it. Nothing to backfill; the
downgrade puts the old index back.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 23:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "welfare_incident"
OLD, OLD_COLUMNS = "ix_welfare_incident_zoo_id_status", ["zoo_id", "status"]
NEW, NEW_COLUMNS = "ix_welfare_incident_zoo_status_severity", ["zoo_id", "status", "severity"]


def upgrade() -> None:
    op.create_index(NEW, TABLE, NEW_COLUMNS)
    op.drop_index(OLD, table_name=TABLE)


def downgrade() -> None:
    op.create_index(OLD, TABLE, OLD_COLUMNS)
    op.drop_index(NEW, table_name=TABLE)
