"""Submission: a report from anyone, without a key, held for moderation. Never public until
accepted, when it is filed as a WelfareReport; the submitter follows it with a receipt."""

from datetime import datetime
from enum import StrEnum

from pydantic import ConfigDict, field_validator
from sqlalchemy import JSON, CheckConstraint, Index
from sqlmodel import Field, SQLModel

from app.core import text
from app.core.crypto import EncryptedText
from app.models.base import (
    ID_MAX,
    NAME_MAX,
    TEXT_MAX,
    URL_MAX,
    InputSchema,
    UTCDateTime,
    enum_column,
    id_table_args,
    utcnow,
)
from app.models.enums import Category
from app.models.incident import SEVERITY_DESCRIPTION
from app.models.reply import shows_something
from app.models.report import WelfareReportCreate

RECEIPT_HEADER = "X-Receipt"


class SubmissionStatus(StrEnum):
    pending = "pending"
    accepted = "accepted"
    rejected = "rejected"


class Submission(SQLModel, table=True):
    __tablename__ = "submission"
    __table_args__ = id_table_args(
        CheckConstraint("severity IS NULL OR severity BETWEEN 1 AND 5", name="severity_range"),
        # The moderation queue: a zoo's submissions by status, oldest first.
        Index("ix_submission_zoo_id_status_id", "zoo_id", "status", "id"),
        Index("ix_submission_status_id", "status", "id"),
        Index("ix_submission_report_id", "report_id"),  # a report's source (concern evidence)
    )

    id: int | None = Field(default=None, primary_key=True)
    zoo_id: int = Field(foreign_key="zoo.id")
    animal_id: int | None = Field(default=None, foreign_key="animal.id")
    enclosure_id: int | None = Field(default=None, foreign_key="enclosure.id")
    # The incident the submitter believes this adds to; the moderator decides.
    suggested_incident_id: int | None = Field(default=None, foreign_key="welfare_incident.id")
    category: Category = Field(sa_type=enum_column(Category, "submission_category"))
    severity: int | None = Field(default=None, ge=1, le=5)
    title: str = Field(max_length=NAME_MAX)
    description: str | None = Field(default=None, max_length=TEXT_MAX)
    observed_at: datetime = Field(sa_type=UTCDateTime)
    # Encrypted at rest, as a report's (app/core/crypto.py).
    reporter_name: str | None = Field(default=None, sa_type=EncryptedText)
    reporter_contact: str | None = Field(default=None, sa_type=EncryptedText)
    source_url: str | None = Field(default=None, max_length=URL_MAX)
    evidence_urls: list[str] = Field(default_factory=list, sa_type=JSON)
    status: SubmissionStatus = Field(
        default=SubmissionStatus.pending,
        sa_type=enum_column(SubmissionStatus, "submission_status"),
    )
    # SHA-256 of the receipt, hex; the receipt itself is shown once and never stored.
    receipt_hash: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    moderated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    moderated_by_key_id: int | None = Field(default=None, foreign_key="api_key.id")
    moderation_note: str | None = Field(default=None, max_length=TEXT_MAX)
    rejection_reason: str | None = Field(default=None, max_length=TEXT_MAX)
    # Once accepted: the report it was filed as, and that report's incident.
    report_id: int | None = Field(default=None, foreign_key="welfare_report.id")
    incident_id: int | None = Field(default=None, foreign_key="welfare_incident.id")


class SubmissionCreate(WelfareReportCreate):
    """The fields of a report (POST /reports), the severity optional, and a honeypot."""

    incident_id: int | None = Field(
        default=None,
        ge=1,
        le=ID_MAX,
        description="The incident this adds to, if the submitter knows it; the moderator decides.",
    )
    severity: int | None = Field(  # type: ignore[assignment]  # optional here, required on a report
        default=None,
        ge=1,
        le=5,
        description="The submitter's estimate, if any: " + SEVERITY_DESCRIPTION,
    )
    website: str | None = Field(
        default=None,
        max_length=0,
        description="Leave empty. A form hides this field from people; a program that fills "
        "it in is refused (422).",
    )

    model_config = ConfigDict(
        hide_input_in_errors=True,
        json_schema_extra={
            "examples": [
                {
                    "zoo_id": 1,
                    "animal_id": 1,
                    "category": "human_interaction",
                    "title": "Chimpanzee Dallae made to smoke for visitors",
                    "description": "A keeper handed her a lit cigarette; she smoked it while "
                    "visitors filmed.",
                    "observed_at": "2024-11-20T10:00:00Z",
                    "reporter_name": "A visitor",
                    "reporter_contact": "visitor@example.org",
                    "evidence_urls": ["https://example.org/video"],
                }
            ]
        },
    )


class SubmissionCreated(SQLModel):
    id: int
    status: SubmissionStatus
    receipt: str = Field(
        description="Shown once: send it as X-Receipt to follow the submission. It is stored "
        "only as a hash and cannot be recovered."
    )


class SubmissionStatusView(SQLModel):
    """What a receipt shows: the status, and the incident once accepted or the reason once
    rejected; nothing else."""

    id: int
    status: SubmissionStatus
    incident_id: int | None = Field(description="The public incident, once accepted.")
    reason: str | None = Field(description="Why it was rejected, once rejected.")


class SubmissionPublic(SQLModel):
    """A submission whole, as the zoo's inspectors (and admins) see it."""

    model_config = ConfigDict(hide_input_in_errors=True)  # type: ignore[assignment]  # SQLModelConfig

    id: int
    zoo_id: int
    animal_id: int | None
    enclosure_id: int | None
    suggested_incident_id: int | None
    category: Category
    severity: int | None
    title: str
    description: str | None
    observed_at: datetime
    reporter_name: str | None
    reporter_contact: str | None
    source_url: str | None
    evidence_urls: list[str]
    status: SubmissionStatus
    created_at: datetime
    updated_at: datetime
    moderated_at: datetime | None
    moderated_by_key_id: int | None
    moderation_note: str | None
    rejection_reason: str | None
    report_id: int | None
    incident_id: int | None


class SubmissionAccept(InputSchema):
    incident_id: int | None = Field(
        default=None,
        ge=1,
        le=ID_MAX,
        description="File it into this incident (of the same zoo). Omitted: the incident the "
        "submitter named, if any, else a new one; null: a new incident.",
    )
    severity: int | None = Field(
        default=None,
        ge=1,
        le=5,
        description="The report's severity; omitted, the submitter's estimate (one of the two "
        "is needed). " + SEVERITY_DESCRIPTION,
    )
    note: str | None = Field(default=None, max_length=TEXT_MAX)

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"severity": 5, "note": "Matches the AP photographs of 2016."}]
        }
    )


class SubmissionReject(InputSchema):
    reason: str = Field(
        min_length=1,
        max_length=TEXT_MAX,
        description="Shown to the submitter with its receipt.",
        schema_extra={"pattern": text.DISPLAY_TEXT_PATTERN},
    )

    @field_validator("reason")
    @classmethod
    def _visible(cls, value: str) -> str:
        return shows_something(value)

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"reason": "Not about an animal kept by this zoo."}]}
    )
