"""Welfare reports, incidents, their audit events, and idempotency records.

Hand-reviewed: composite indexes serve the incident filters and the concern rules
(zoo/animal/enclosure with status, last observed time); reports are indexed by incident
for the per-incident listing; idempotency keys are unique per API key.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 12:40:15.534822
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401 - autogenerate renders AutoString through it
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "idempotency_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("api_key_id", sa.Integer(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("request_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("location", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("response_body", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["api_key_id"], ["api_key.id"], name=op.f("fk_idempotency_record_api_key_id_api_key")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_record")),
        sa.UniqueConstraint("api_key_id", "key", name=op.f("uq_idempotency_record_api_key_id_key")),
    )
    op.create_index(
        op.f("ix_idempotency_record_created_at"), "idempotency_record", ["created_at"], unique=False
    )

    op.create_table(
        "welfare_incident",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("zoo_id", sa.Integer(), nullable=False),
        sa.Column("animal_id", sa.Integer(), nullable=True),
        sa.Column("enclosure_id", sa.Integer(), nullable=True),
        sa.Column(
            "category",
            sa.Enum(
                "nutrition",
                "environment",
                "health",
                "behaviour",
                "human_interaction",
                "transport",
                "mortality",
                "other",
                name="category",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("severity", sa.Integer(), nullable=False),
        sa.Column("severity_set_by_inspector", sa.Boolean(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "reported",
                "under_review",
                "confirmed",
                "resolved",
                "dismissed",
                name="incident_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("first_observed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_observed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("report_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "report_count >= 0", name=op.f("ck_welfare_incident_report_count_positive")
        ),
        sa.CheckConstraint(
            "severity BETWEEN 1 AND 5", name=op.f("ck_welfare_incident_severity_range")
        ),
        sa.CheckConstraint("version >= 1", name=op.f("ck_welfare_incident_version_positive")),
        sa.ForeignKeyConstraint(
            ["animal_id"], ["animal.id"], name=op.f("fk_welfare_incident_animal_id_animal")
        ),
        sa.ForeignKeyConstraint(
            ["enclosure_id"],
            ["enclosure.id"],
            name=op.f("fk_welfare_incident_enclosure_id_enclosure"),
        ),
        sa.ForeignKeyConstraint(
            ["zoo_id"], ["zoo.id"], name=op.f("fk_welfare_incident_zoo_id_zoo")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_welfare_incident")),
    )
    op.create_index(
        "ix_welfare_incident_animal_id_status",
        "welfare_incident",
        ["animal_id", "status"],
        unique=False,
    )
    op.create_index(
        op.f("ix_welfare_incident_category"), "welfare_incident", ["category"], unique=False
    )
    op.create_index(
        "ix_welfare_incident_enclosure_id_status",
        "welfare_incident",
        ["enclosure_id", "status"],
        unique=False,
    )
    op.create_index(
        "ix_welfare_incident_last_observed_at",
        "welfare_incident",
        ["last_observed_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_welfare_incident_severity"), "welfare_incident", ["severity"], unique=False
    )
    op.create_index(
        "ix_welfare_incident_zoo_id_status", "welfare_incident", ["zoo_id", "status"], unique=False
    )

    op.create_table(
        "welfare_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("zoo_id", sa.Integer(), nullable=False),
        sa.Column("animal_id", sa.Integer(), nullable=True),
        sa.Column("enclosure_id", sa.Integer(), nullable=True),
        sa.Column(
            "category",
            sa.Enum(
                "nutrition",
                "environment",
                "health",
                "behaviour",
                "human_interaction",
                "transport",
                "mortality",
                "other",
                name="category",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("severity", sa.Integer(), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=5000), nullable=True),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reporter_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("reporter_contact", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("source_url", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("evidence_urls", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("api_key_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["animal_id"], ["animal.id"], name=op.f("fk_welfare_report_animal_id_animal")
        ),
        sa.ForeignKeyConstraint(
            ["api_key_id"], ["api_key.id"], name=op.f("fk_welfare_report_api_key_id_api_key")
        ),
        sa.ForeignKeyConstraint(
            ["enclosure_id"],
            ["enclosure.id"],
            name=op.f("fk_welfare_report_enclosure_id_enclosure"),
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["welfare_incident.id"],
            name=op.f("fk_welfare_report_incident_id_welfare_incident"),
        ),
        sa.ForeignKeyConstraint(["zoo_id"], ["zoo.id"], name=op.f("fk_welfare_report_zoo_id_zoo")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_welfare_report")),
    )
    op.create_index(
        op.f("ix_welfare_report_animal_id"), "welfare_report", ["animal_id"], unique=False
    )
    op.create_index(
        op.f("ix_welfare_report_api_key_id"), "welfare_report", ["api_key_id"], unique=False
    )
    op.create_index(
        op.f("ix_welfare_report_enclosure_id"), "welfare_report", ["enclosure_id"], unique=False
    )
    op.create_index(
        "ix_welfare_report_incident_id_id", "welfare_report", ["incident_id", "id"], unique=False
    )
    op.create_index(op.f("ix_welfare_report_zoo_id"), "welfare_report", ["zoo_id"], unique=False)

    op.create_table(
        "incident_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_key_id", sa.Integer(), nullable=True),
        sa.Column(
            "kind",
            sa.Enum(
                "created",
                "report_added",
                "status_changed",
                "severity_changed",
                "title_changed",
                name="event_kind",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "from_status",
            sa.Enum(
                "reported",
                "under_review",
                "confirmed",
                "resolved",
                "dismissed",
                name="event_from_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=True,
        ),
        sa.Column(
            "to_status",
            sa.Enum(
                "reported",
                "under_review",
                "confirmed",
                "resolved",
                "dismissed",
                name="event_to_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=True,
        ),
        sa.Column("from_severity", sa.Integer(), nullable=True),
        sa.Column("to_severity", sa.Integer(), nullable=True),
        sa.Column("report_id", sa.Integer(), nullable=True),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=5000), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_key_id"], ["api_key.id"], name=op.f("fk_incident_event_actor_key_id_api_key")
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["welfare_incident.id"],
            name=op.f("fk_incident_event_incident_id_welfare_incident"),
        ),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["welfare_report.id"],
            name=op.f("fk_incident_event_report_id_welfare_report"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_event")),
    )
    op.create_index(
        op.f("ix_incident_event_incident_id"), "incident_event", ["incident_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_incident_event_incident_id"), table_name="incident_event")

    op.drop_table("incident_event")
    op.drop_index(op.f("ix_welfare_report_zoo_id"), table_name="welfare_report")
    op.drop_index("ix_welfare_report_incident_id_id", table_name="welfare_report")
    op.drop_index(op.f("ix_welfare_report_enclosure_id"), table_name="welfare_report")
    op.drop_index(op.f("ix_welfare_report_api_key_id"), table_name="welfare_report")
    op.drop_index(op.f("ix_welfare_report_animal_id"), table_name="welfare_report")

    op.drop_table("welfare_report")
    op.drop_index("ix_welfare_incident_zoo_id_status", table_name="welfare_incident")
    op.drop_index(op.f("ix_welfare_incident_severity"), table_name="welfare_incident")
    op.drop_index("ix_welfare_incident_last_observed_at", table_name="welfare_incident")
    op.drop_index("ix_welfare_incident_enclosure_id_status", table_name="welfare_incident")
    op.drop_index(op.f("ix_welfare_incident_category"), table_name="welfare_incident")
    op.drop_index("ix_welfare_incident_animal_id_status", table_name="welfare_incident")

    op.drop_table("welfare_incident")
    op.drop_index(op.f("ix_idempotency_record_created_at"), table_name="idempotency_record")

    op.drop_table("idempotency_record")
