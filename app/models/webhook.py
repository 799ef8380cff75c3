"""Webhooks: subscriptions to the change feed, the deliveries owed to them, and each attempt.

A subscription's `cursor` is the feed position up to which its deliveries are written (the
fan-out, app/webhooks/delivery.py); a delivery is one event owed to one subscription, sent
until a 2xx or the end of the retry schedule; an attempt is one try, kept for the log.
"""

from datetime import datetime
from enum import StrEnum

from pydantic import ConfigDict
from sqlalchemy import JSON, BigInteger, Column, ForeignKey, Index, Integer, Text
from sqlmodel import Field, SQLModel

from app.core.crypto import EncryptedText
from app.models.base import (
    SHORT_MAX,
    URL_MAX,
    InputSchema,
    UTCDateTime,
    enum_column,
    id_table_args,
    utcnow,
)
from app.models.event import EventType


class WebhookStatus(StrEnum):
    """active: delivered to; paused: its events wait for it (resuming sends them); disabled:
    every attempt of too many events in a row failed (re-enabling starts from then on)."""

    active = "active"
    paused = "paused"
    disabled = "disabled"


class WebhookSetStatus(StrEnum):
    """What a subscriber may set: disabled is the failures' doing."""

    active = "active"
    paused = "paused"


class DeliveryStatus(StrEnum):
    pending = "pending"
    succeeded = "succeeded"
    failed = "failed"


class Webhook(SQLModel, table=True):
    __tablename__ = "webhook"
    __table_args__ = id_table_args(Index("ix_webhook_status", "status"))

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(max_length=URL_MAX)
    description: str | None = Field(default=None, max_length=SHORT_MAX)
    # Null: every type (but the webhook.* ones, which go only to their own subscription).
    types: list[str] | None = Field(default=None, sa_type=JSON)
    # Null: every zoo, and the events of no zoo. A scoped owner's subscription always names
    # zoos, within its scope.
    zoo_ids: list[int] | None = Field(default=None, sa_type=JSON)
    status: WebhookStatus = Field(
        default=WebhookStatus.active, sa_type=enum_column(WebhookStatus, "webhook_status")
    )
    # `whsec_<base64>`, encrypted at rest like the private fields: it signs every delivery.
    secret: str = Field(sa_type=EncryptedText)
    owner_key_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("api_key.id", ondelete="SET NULL"), nullable=True),
    )
    cursor: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    failed_in_a_row: int = 0
    disabled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class WebhookDelivery(SQLModel, table=True):
    """One event owed to one subscription. `due_at` is when it may next be claimed: a claim
    moves it past the attempt's time limit, so a worker killed mid-attempt leaves it due again
    later, and no other worker takes it meanwhile."""

    __tablename__ = "webhook_delivery"
    __table_args__ = id_table_args(
        # The pending deliveries by when they are due: what a worker claims.
        Index(
            "ix_webhook_delivery_due",
            "due_at",
            postgresql_where="status = 'pending'",
            sqlite_where="status = 'pending'",
        ),
        Index("ix_webhook_delivery_webhook_id_id", "webhook_id", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    webhook_id: int = Field(
        sa_column=Column(Integer, ForeignKey("webhook.id", ondelete="CASCADE"), nullable=False)
    )
    # The event's id in the feed (its webhook-id header), or a test message's own id.
    event_id: str = Field(max_length=40)
    event_type: str = Field(max_length=40)
    payload: str = Field(sa_column=Column(Text, nullable=False))  # the JSON body sent
    status: DeliveryStatus = Field(
        default=DeliveryStatus.pending, sa_type=enum_column(DeliveryStatus, "delivery_status")
    )
    attempts: int = 0
    due_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class WebhookAttempt(SQLModel, table=True):
    __tablename__ = "webhook_attempt"
    __table_args__ = id_table_args(Index("ix_webhook_attempt_webhook_id_id", "webhook_id", "id"))

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("webhook_delivery.id", ondelete="CASCADE"), nullable=False
        )
    )
    webhook_id: int = Field(
        sa_column=Column(Integer, ForeignKey("webhook.id", ondelete="CASCADE"), nullable=False)
    )
    attempt: int
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    status_code: int | None = None
    duration_ms: int = 0
    error: str | None = Field(default=None, max_length=500)
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class WebhookCreate(InputSchema):
    url: str = Field(max_length=URL_MAX, description="https, reaching a public address.")
    types: list[EventType] | None = Field(
        default=None,
        max_length=50,
        description="Event types to receive; omit for every type.",
    )
    zoo_ids: list[int | str] | None = Field(
        default=None,
        min_length=1,
        max_length=1000,
        description="Ids or slugs of the zoos whose events to receive; omit for every zoo "
        "(a key limited to some zoos: all of its zoos).",
    )
    description: str | None = Field(default=None, max_length=SHORT_MAX)

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "url": "https://newsroom.example.org/hooks/zoo-registry",
                    "types": ["incident.opened", "concern.raised"],
                    "zoo_ids": ["korea-central-zoo"],
                    "description": "Desk alerts for Pyongyang",
                }
            ]
        }
    )


class WebhookUpdate(InputSchema):
    url: str | None = Field(default=None, max_length=URL_MAX)
    types: list[EventType] | None = Field(default=None, max_length=50)
    status: WebhookSetStatus | None = Field(
        default=None, description="active or paused (a disabled one is re-enabled as active)."
    )
    description: str | None = Field(default=None, max_length=SHORT_MAX)

    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "paused"}]})


class WebhookPublic(SQLModel):
    id: int
    url: str
    description: str | None
    types: list[str] | None
    zoo_ids: list[int] | None
    status: WebhookStatus
    failed_in_a_row: int = Field(description="Events in a row whose every attempt failed.")
    disabled_at: datetime | None
    created_at: datetime
    updated_at: datetime


class WebhookCreated(WebhookPublic):
    secret: str = Field(
        description="`whsec_<base64>`: verifies the signatures. Shown only this once."
    )


class WebhookAttemptPublic(SQLModel):
    event_id: str
    event_type: str
    attempt: int
    at: datetime
    status_code: int | None
    duration_ms: int
    error: str | None
    next_attempt_at: datetime | None = Field(description="Null: no attempt follows this one.")


class WebhookTestQueued(SQLModel):
    event_id: str = Field(description="The test message's id (its webhook-id header).")
    status: DeliveryStatus
