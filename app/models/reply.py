"""IncidentReply: the zoo's answer to an incident about it, by its representative. Immutable:
a correction is a new reply."""

from datetime import datetime

from pydantic import ConfigDict, field_validator
from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from app.core import text
from app.models.base import TEXT_MAX, InputSchema, UTCDateTime, id_table_args, utcnow


def shows_something(value: str) -> str:
    """A text that must show something (a reply, a reason): not only spaces or invisible
    characters. Its schema states it with the display-text pattern."""
    if text.shows_nothing(value):
        raise ValueError(text.INVISIBLE_MESSAGE)
    return value


class IncidentReply(SQLModel, table=True):
    __tablename__ = "incident_reply"
    __table_args__ = id_table_args(Index("ix_incident_reply_incident_id_id", "incident_id", "id"))

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="welfare_incident.id")
    zoo_id: int = Field(foreign_key="zoo.id")
    body: str = Field(max_length=TEXT_MAX)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    api_key_id: int | None = Field(default=None, foreign_key="api_key.id")


class IncidentReplyCreate(InputSchema):
    body: str = Field(
        min_length=1, max_length=TEXT_MAX, schema_extra={"pattern": text.DISPLAY_TEXT_PATTERN}
    )

    @field_validator("body")
    @classmethod
    def _visible(cls, value: str) -> str:
        return shows_something(value)

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "body": "Dallae no longer takes part in any show; since March her keepers "
                    "have offered no cigarettes. A vet's report is available on request."
                }
            ]
        }
    )


class IncidentReplyPublic(SQLModel):
    """A reply as published: who replied is the zoo (its representative's key is not shown)."""

    id: int
    incident_id: int
    zoo_id: int
    body: str
    created_at: datetime
