"""species_status: a species' dated IUCN Red List categories and CITES appendices, each from
`valid_from` to `valid_to` (both days included; null `valid_to`: still in force).

Hand-reviewed. No backfill: the current `species.iucn_category` and `species.cites_appendix`
say nothing of since when, and a made-up start date (the row's creation, say) would later be
read as the listing in force on an animal's arrival. A species without listings of a kind
keeps its column as it is; the first listing of a kind written through the API (or the seed)
makes that column the listing in force today. The CHECK constraints keep each value within its
kind and each range the right way round; that two listings of a kind never overlap is the
service's rule, under the species row's lock. The index serves "the listing of this kind in
force on day D" (species_id, kind, valid_from <= D). Deleting a species deletes its listings
(ON DELETE CASCADE); the downgrade drops the table and the listings.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from app.models.base import UTCDateTime

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

IUCN = ("EX", "EW", "CR", "EN", "VU", "NT", "LC", "DD", "NE")
CITES = ("I", "II", "III")


def _values(values: Sequence[str]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def upgrade() -> None:
    op.create_table(
        "species_status",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("species_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "iucn", "cites", name="listing_kind", native_enum=False, create_constraint=True
            ),
            nullable=False,
        ),
        sa.Column("value", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("source_url", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            f"(kind = 'iucn' AND value IN ({_values(IUCN)}))"
            f" OR (kind = 'cites' AND value IN ({_values(CITES)}))",
            name=op.f("ck_species_status_value_fits_kind"),
        ),
        sa.CheckConstraint(
            "valid_to IS NULL OR valid_to >= valid_from",
            name=op.f("ck_species_status_valid_range"),
        ),
        sa.ForeignKeyConstraint(
            ["species_id"],
            ["species.id"],
            name=op.f("fk_species_status_species_id_species"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_species_status")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_species_status_species_id_kind_valid_from",
        "species_status",
        ["species_id", "kind", "valid_from"],
    )


def downgrade() -> None:
    op.drop_index("ix_species_status_species_id_kind_valid_from", table_name="species_status")
    op.drop_table("species_status")
