"""WelfareReport: an immutable submission from a reporter. Reporter details are private."""

from datetime import datetime, timedelta
from typing import Annotated

from pydantic import AfterValidator, ConfigDict, field_validator
from sqlalchemy import JSON, Index
from sqlmodel import Field, SQLModel

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
    in_utc,
    search_indexes,
    utcnow,
)
from app.models.enums import Category
from app.models.incident import SEVERITY_DESCRIPTION
from app.models.links import HttpUrlText

# Reporters' clocks drift; a few minutes ahead is not "in the future".
CLOCK_SKEW = timedelta(minutes=5)
MAX_EVIDENCE_URLS = 20


def _observed_in_past(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("give a timezone, e.g. 2016-10-19T10:00:00Z")
    if value > utcnow() + CLOCK_SKEW:
        raise ValueError("observed_at is in the future")
    return value


ObservedAt = Annotated[datetime, AfterValidator(in_utc), AfterValidator(_observed_in_past)]


class WelfareReport(SQLModel, table=True):
    __tablename__ = "welfare_report"
    __table_args__ = id_table_args(Index("ix_welfare_report_incident_id_id", "incident_id", "id"))

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="welfare_incident.id")
    zoo_id: int = Field(foreign_key="zoo.id", index=True)
    animal_id: int | None = Field(default=None, foreign_key="animal.id", index=True)
    enclosure_id: int | None = Field(default=None, foreign_key="enclosure.id", index=True)
    category: Category = Field(sa_type=enum_column(Category, "category"))
    severity: int = Field(ge=1, le=5)
    title: str = Field(max_length=NAME_MAX)
    description: str | None = Field(default=None, max_length=TEXT_MAX)
    observed_at: datetime = Field(sa_type=UTCDateTime)
    # Encrypted at rest (app/core/crypto.py); the schemas bound the plaintext's length.
    reporter_name: str | None = Field(default=None, sa_type=EncryptedText)
    reporter_contact: str | None = Field(default=None, sa_type=EncryptedText)
    source_url: str | None = Field(default=None, max_length=URL_MAX)
    evidence_urls: list[str] = Field(default_factory=list, sa_type=JSON)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    api_key_id: int | None = Field(default=None, foreign_key="api_key.id", index=True)


search_indexes(WelfareReport, "title", "description")


class WelfareReportCreate(InputSchema):
    incident_id: int | None = Field(
        default=None,
        ge=1,
        le=ID_MAX,
        description="Add to this incident instead of opening a new one.",
    )
    zoo_id: int = Field(ge=1, le=ID_MAX)
    animal_id: int | None = Field(default=None, ge=1, le=ID_MAX)
    enclosure_id: int | None = Field(default=None, ge=1, le=ID_MAX)
    category: Category
    severity: int = Field(
        ge=1, le=5, description="The reporter's estimate: " + SEVERITY_DESCRIPTION
    )
    title: str = Field(min_length=1, max_length=NAME_MAX)
    description: str | None = Field(default=None, max_length=TEXT_MAX)
    observed_at: ObservedAt
    reporter_name: str | None = Field(default=None, max_length=NAME_MAX)
    reporter_contact: str | None = Field(
        default=None, max_length=NAME_MAX, description="Private: never shown publicly."
    )
    source_url: HttpUrlText | None = Field(default=None, max_length=URL_MAX)
    evidence_urls: list[Annotated[HttpUrlText, Field(max_length=URL_MAX)]] = Field(
        default_factory=list,
        max_length=MAX_EVIDENCE_URLS,
        description="http or https links; the server stores them and never fetches them.",
    )

    @field_validator("evidence_urls")
    @classmethod
    def _distinct(cls, urls: list[str]) -> list[str]:
        return list(dict.fromkeys(urls))

    # A validation error's text (a traceback, a log line) never holds the private values.
    model_config = ConfigDict(
        hide_input_in_errors=True,
        json_schema_extra={
            "examples": [
                {
                    "zoo_id": 1,
                    "animal_id": 1,
                    "category": "human_interaction",
                    "severity": 5,
                    "title": "Chimpanzee Dallae made to smoke for visitors",
                    "description": "Dallae lights cigarettes with a lighter and smokes about "
                    "a pack a day, according to zoo officials.",
                    "observed_at": "2016-10-19T10:00:00Z",
                    "reporter_name": "A visitor",
                    "reporter_contact": "visitor@example.org",
                    "evidence_urls": ["https://apnews.com/"],
                }
            ]
        },
    )


class WelfareReportPublic(SQLModel):
    """A report as returned; reporter_name and reporter_contact are null unless the caller
    may see them (an admin, an inspector for the zoo, or the key that submitted it)."""

    model_config = ConfigDict(hide_input_in_errors=True)  # type: ignore[assignment]  # SQLModelConfig

    id: int
    incident_id: int
    zoo_id: int
    animal_id: int | None
    enclosure_id: int | None
    category: Category
    severity: int
    title: str
    description: str | None
    observed_at: datetime
    reporter_name: str | None
    reporter_contact: str | None
    source_url: str | None
    evidence_urls: list[str]
    created_at: datetime
