"""Covering, partial indexes for the concern rule groups.

Hand-reviewed: each index serves one rule group as an index-only scan for one zoo (checked
with EXPLAIN on both databases at size L): open incidents about animals, recent incidents
about animals, open incidents about enclosures. The WHERE clauses repeat the queries'
predicates word for word, which SQLite needs to use a partial index.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 13:13:44.009474
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = "status IN ('reported', 'under_review', 'confirmed')"
INDEXES = {
    "ix_welfare_incident_open_animal": (
        ["zoo_id", "animal_id", "severity", "category", "status", "id"],
        f"{OPEN} AND animal_id IS NOT NULL",
    ),
    "ix_welfare_incident_recent_animal": (
        ["zoo_id", "last_observed_at", "animal_id", "status", "id"],
        "animal_id IS NOT NULL",
    ),
    "ix_welfare_incident_open_enclosure": (
        ["zoo_id", "enclosure_id", "status", "severity", "id"],
        f"{OPEN} AND animal_id IS NULL",
    ),
}


def upgrade() -> None:
    for name, (columns, where) in INDEXES.items():
        op.create_index(
            name,
            "welfare_incident",
            columns,
            postgresql_where=sa.text(where),
            sqlite_where=sa.text(where),
        )


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="welfare_incident")
