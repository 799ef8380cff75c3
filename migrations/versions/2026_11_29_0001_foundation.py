"""Foundation: zoos, species, enclosures, gifts and animals.

Hand-reviewed: constraint names follow the metadata naming convention; enumerations are
VARCHAR plus a CHECK so both SQLite and PostgreSQL enforce them; an animal's enclosure is
tied to its zoo by a composite foreign key.

Revision ID: 0001
Revises:
Create Date: 2026-11-29 12:33:22.511720
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "species",
        sa.Column("scientific_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("common_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column(
            "taxon_class",
            sa.Enum(
                "mammal",
                "bird",
                "reptile",
                "amphibian",
                "fish",
                "invertebrate",
                name="taxon_class",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("is_domestic", sa.Boolean(), nullable=False),
        sa.Column(
            "iucn_category",
            sa.Enum(
                "EX",
                "EW",
                "CR",
                "EN",
                "VU",
                "NT",
                "LC",
                "DD",
                "NE",
                name="iucn_category",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=True,
        ),
        sa.Column(
            "cites_appendix",
            sa.Enum(
                "I", "II", "III", name="cites_appendix", native_enum=False, create_constraint=True
            ),
            nullable=True,
        ),
        sa.Column(
            "social_structure",
            sa.Enum(
                "solitary",
                "pair",
                "group",
                name="social_structure",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("min_group_size", sa.Integer(), nullable=False),
        sa.Column("min_area_m2", sa.Float(), nullable=True),
        sa.Column("climate_zones", sa.JSON(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "min_area_m2 IS NULL OR min_area_m2 > 0", name=op.f("ck_species_min_area_positive")
        ),
        sa.CheckConstraint("min_group_size >= 1", name=op.f("ck_species_min_group_size_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_species")),
        sa.UniqueConstraint("scientific_name", name=op.f("uq_species_scientific_name")),
    )
    op.create_index(op.f("ix_species_cites_appendix"), "species", ["cites_appendix"], unique=False)
    op.create_index(op.f("ix_species_iucn_category"), "species", ["iucn_category"], unique=False)
    op.create_index(op.f("ix_species_taxon_class"), "species", ["taxon_class"], unique=False)

    op.create_table(
        "zoo",
        sa.Column("slug", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("city", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
        sa.Column("country_code", sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("opened_year", sa.Integer(), nullable=True),
        sa.Column("notes", sqlmodel.sql.sqltypes.AutoString(length=5000), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("latitude BETWEEN -90 AND 90", name=op.f("ck_zoo_latitude_range")),
        sa.CheckConstraint("longitude BETWEEN -180 AND 180", name=op.f("ck_zoo_longitude_range")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_zoo")),
        sa.UniqueConstraint("slug", name=op.f("uq_zoo_slug")),
    )
    op.create_index(op.f("ix_zoo_country_code"), "zoo", ["country_code"], unique=False)

    op.create_table(
        "enclosure",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "indoor",
                "outdoor",
                "mixed",
                "aviary",
                "aquatic",
                "terrarium",
                name="enclosure_kind",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("area_m2", sa.Float(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column(
            "climate",
            sa.Enum(
                "tropical",
                "arid",
                "temperate",
                "cold",
                "controlled",
                name="enclosure_climate",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("has_enrichment", sa.Boolean(), nullable=False),
        sa.Column("last_inspected_on", sa.Date(), nullable=True),
        sa.Column("notes", sqlmodel.sql.sqltypes.AutoString(length=5000), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("zoo_id", sa.Integer(), nullable=False),
        sa.CheckConstraint("area_m2 > 0", name=op.f("ck_enclosure_area_positive")),
        sa.CheckConstraint("capacity >= 1", name=op.f("ck_enclosure_capacity_positive")),
        sa.ForeignKeyConstraint(["zoo_id"], ["zoo.id"], name=op.f("fk_enclosure_zoo_id_zoo")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enclosure")),
        sa.UniqueConstraint("id", "zoo_id", name=op.f("uq_enclosure_id_zoo_id")),
        sa.UniqueConstraint("zoo_id", "name", name=op.f("uq_enclosure_zoo_id_name")),
    )
    op.create_index(op.f("ix_enclosure_zoo_id"), "enclosure", ["zoo_id"], unique=False)

    op.create_table(
        "gift",
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("donor_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("donor_country", sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
        sa.Column("recipient_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("recipient_country", sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
        sa.Column("delivered_on", sa.Date(), nullable=True),
        sa.Column("occasion", sqlmodel.sql.sqltypes.AutoString(length=5000), nullable=True),
        sa.Column("transport", sqlmodel.sql.sqltypes.AutoString(length=5000), nullable=True),
        sa.Column("cites_permit_ref", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("source_url", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("notes", sqlmodel.sql.sqltypes.AutoString(length=5000), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recipient_zoo_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["recipient_zoo_id"], ["zoo.id"], name=op.f("fk_gift_recipient_zoo_id_zoo")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gift")),
    )
    op.create_index(op.f("ix_gift_delivered_on"), "gift", ["delivered_on"], unique=False)
    op.create_index(op.f("ix_gift_donor_country"), "gift", ["donor_country"], unique=False)
    op.create_index(op.f("ix_gift_recipient_country"), "gift", ["recipient_country"], unique=False)
    op.create_index(op.f("ix_gift_recipient_zoo_id"), "gift", ["recipient_zoo_id"], unique=False)

    op.create_table(
        "animal",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("identifier", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
        sa.Column(
            "sex",
            sa.Enum(
                "male",
                "female",
                "unknown",
                "mixed",
                name="sex",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column(
            "origin",
            sa.Enum(
                "diplomatic_gift",
                "donation",
                "loan",
                "purchase",
                "exchange",
                "captive_born",
                "wild_caught",
                "confiscation",
                "rescue",
                "unknown",
                name="origin",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("arrived_on", sa.Date(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "alive",
                "deceased",
                "transferred_out",
                name="animal_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("notes", sqlmodel.sql.sqltypes.AutoString(length=5000), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("zoo_id", sa.Integer(), nullable=False),
        sa.Column("species_id", sa.Integer(), nullable=False),
        sa.Column("enclosure_id", sa.Integer(), nullable=True),
        sa.Column("gift_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "origin <> 'diplomatic_gift' OR gift_id IS NOT NULL",
            name=op.f("ck_animal_diplomatic_gift_has_gift"),
        ),
        sa.CheckConstraint("count >= 1", name=op.f("ck_animal_count_positive")),
        sa.ForeignKeyConstraint(
            ["enclosure_id", "zoo_id"],
            ["enclosure.id", "enclosure.zoo_id"],
            name="fk_animal_enclosure_id_zoo_id_enclosure",
        ),
        sa.ForeignKeyConstraint(["gift_id"], ["gift.id"], name=op.f("fk_animal_gift_id_gift")),
        sa.ForeignKeyConstraint(
            ["species_id"], ["species.id"], name=op.f("fk_animal_species_id_species")
        ),
        sa.ForeignKeyConstraint(["zoo_id"], ["zoo.id"], name=op.f("fk_animal_zoo_id_zoo")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_animal")),
        sa.UniqueConstraint("zoo_id", "identifier", name=op.f("uq_animal_zoo_id_identifier")),
    )
    op.create_index(op.f("ix_animal_enclosure_id"), "animal", ["enclosure_id"], unique=False)
    op.create_index(op.f("ix_animal_gift_id"), "animal", ["gift_id"], unique=False)
    op.create_index(op.f("ix_animal_species_id"), "animal", ["species_id"], unique=False)
    op.create_index("ix_animal_zoo_id_status", "animal", ["zoo_id", "status"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_animal_zoo_id_status", table_name="animal")
    op.drop_index(op.f("ix_animal_species_id"), table_name="animal")
    op.drop_index(op.f("ix_animal_gift_id"), table_name="animal")
    op.drop_index(op.f("ix_animal_enclosure_id"), table_name="animal")

    op.drop_table("animal")
    op.drop_index(op.f("ix_gift_recipient_zoo_id"), table_name="gift")
    op.drop_index(op.f("ix_gift_recipient_country"), table_name="gift")
    op.drop_index(op.f("ix_gift_donor_country"), table_name="gift")
    op.drop_index(op.f("ix_gift_delivered_on"), table_name="gift")

    op.drop_table("gift")
    op.drop_index(op.f("ix_enclosure_zoo_id"), table_name="enclosure")

    op.drop_table("enclosure")
    op.drop_index(op.f("ix_zoo_country_code"), table_name="zoo")

    op.drop_table("zoo")
    op.drop_index(op.f("ix_species_taxon_class"), table_name="species")
    op.drop_index(op.f("ix_species_iucn_category"), table_name="species")
    op.drop_index(op.f("ix_species_cites_appendix"), table_name="species")

    op.drop_table("species")
