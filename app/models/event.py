"""The change feed's outbox: one row per event, written in the transaction of the change it
records (app/events/), so a rolled-back write leaves none."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Column, Index, Text, text
from sqlmodel import Field, SQLModel

from app.models.base import UTCDateTime, id_table_args, utcnow


class EventType(StrEnum):
    report_filed = "report.filed"
    incident_opened = "incident.opened"
    incident_updated = "incident.updated"
    incident_transitioned = "incident.transitioned"
    incident_replied = "incident.replied"
    concern_raised = "concern.raised"
    concern_cleared = "concern.cleared"
    animal_registered = "animal.registered"
    animal_updated = "animal.updated"
    animal_moved = "animal.moved"
    animal_transferred = "animal.transferred"
    # The service's own messages, sent to webhooks only, never in the feed.
    webhook_test = "webhook.test"
    webhook_disabled = "webhook.disabled"


class Event(SQLModel, table=True):
    """`id` is the order of writing; `position`, the feed's order, is given after commit by
    the one sequencer (app/events/feed.py), so it never lets a late commit slip behind a
    position a reader has passed."""

    __tablename__ = "event"
    __table_args__ = id_table_args(
        Index("ix_event_position", "position", unique=True),
        # The events still waiting for a position, in the order they were written.
        Index(
            "ix_event_unplaced",
            "id",
            postgresql_where=text("position IS NULL"),
            sqlite_where=text("position IS NULL"),
        ),
        Index("ix_event_zoo_position", "zoo_id", "position"),
    )

    id: int | None = Field(default=None, primary_key=True)
    position: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    type: str = Field(max_length=40)
    occurred_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # No foreign keys: an event outlives its zoo and its subject.
    zoo_id: int | None = None
    subject_type: str = Field(max_length=16)
    subject_id: int
    # JSON: the subject's public representation after the change.
    data: str = Field(sa_column=Column(Text, nullable=False))


class EventSequence(SQLModel, table=True):
    """The sequencer's one row: the last position given. Taking it FOR UPDATE is what makes
    one sequencer at a time."""

    __tablename__ = "event_sequence"
    __table_args__ = id_table_args()

    id: int = Field(default=1, primary_key=True)
    position: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
