"""trade_record: rows of the CITES Trade Database's comparative tabulation, imported from the
file its download gives (app/records/cites_trade.py).

Hand-reviewed. `key` (unique) is a digest of every field but the quantities: re-importing a
file finds its rows, and a newer download updates the quantities it revised. Country codes are
not foreign keys: the trade data use codes the country table may lack (XX, unknown), and a
record outlives any edit there. The first index answers the trade rule's question (this taxon,
from this exporter to this importer, in these years); the others serve the list's filters.
Nothing to backfill; the downgrade drops the table and the records.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from app.models.base import UTCDateTime

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    "ix_trade_record_taxon_exporter_importer_year": ["taxon", "exporter", "importer", "year"],
    "ix_trade_record_importer_year": ["importer", "year"],
    "ix_trade_record_exporter_year": ["exporter", "year"],
    "ix_trade_record_year": ["year"],
}


def _text(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    op.create_table(
        "trade_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", _text(32), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("appendix", _text(3), nullable=False),
        sa.Column("taxon", _text(200), nullable=False),
        sa.Column("taxon_class", _text(120), nullable=True),
        sa.Column("taxon_order", _text(120), nullable=True),
        sa.Column("family", _text(120), nullable=True),
        sa.Column("genus", _text(120), nullable=True),
        sa.Column("importer", _text(2), nullable=False),
        sa.Column("exporter", _text(2), nullable=False),
        sa.Column("origin", _text(2), nullable=False),
        sa.Column("importer_quantity", sa.Float(), nullable=True),
        sa.Column("exporter_quantity", sa.Float(), nullable=True),
        sa.Column("term", _text(120), nullable=False),
        sa.Column("unit", _text(120), nullable=True),
        sa.Column("purpose", _text(2), nullable=True),
        sa.Column("source", _text(2), nullable=True),
        sa.Column("imported_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trade_record")),
        sa.UniqueConstraint("key", name=op.f("uq_trade_record_key")),
        sqlite_autoincrement=True,
    )
    for name, columns in INDEXES.items():
        op.create_index(name, "trade_record", columns)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="trade_record")
    op.drop_table("trade_record")
