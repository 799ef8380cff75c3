"""AnimalMovement: where an animal has been. One row for each arrival, enclosure move,
transfer out of a zoo and into another, and status change, written by the flush hook
(app/records/movements.py) in the write's own transaction, never by hand."""

from datetime import date, datetime
from enum import StrEnum

from pydantic import ConfigDict
from sqlalchemy import Column, ForeignKey, Index, Integer
from sqlmodel import Field, SQLModel

from app.models.base import (
    ID_MAX,
    TEXT_MAX,
    InputSchema,
    PastDate,
    UTCDateTime,
    enum_column,
    id_table_args,
    utcnow,
)


class MovementKind(StrEnum):
    arrival = "arrival"
    enclosure_move = "enclosure_move"
    transfer_in = "transfer_in"
    transfer_out = "transfer_out"
    status_change = "status_change"


class AnimalMovement(SQLModel, table=True):
    __tablename__ = "animal_movement"
    __table_args__ = id_table_args(Index("ix_animal_movement_animal_id_id", "animal_id", "id"))

    id: int | None = Field(default=None, primary_key=True)
    # Deleting a record entered by mistake deletes its history; animals that leave change
    # status instead, and keep it.
    animal_id: int = Field(
        sa_column=Column(Integer, ForeignKey("animal.id", ondelete="CASCADE"), nullable=False)
    )
    at: date
    kind: MovementKind = Field(sa_type=enum_column(MovementKind, "movement_kind"))
    # No foreign keys on the places: the history outlives an enclosure or a zoo record.
    from_zoo_id: int | None = None
    to_zoo_id: int | None = None
    from_enclosure_id: int | None = None
    to_enclosure_id: int | None = None
    gift_id: int | None = None
    from_status: str | None = Field(default=None, max_length=20)
    to_status: str | None = Field(default=None, max_length=20)
    note: str | None = Field(default=None, max_length=TEXT_MAX)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class AnimalMovementPublic(SQLModel):
    id: int
    animal_id: int
    at: date
    kind: MovementKind
    from_zoo_id: int | None
    to_zoo_id: int | None
    from_enclosure_id: int | None
    to_enclosure_id: int | None
    gift_id: int | None
    from_status: str | None
    to_status: str | None
    note: str | None


class TransferCreate(InputSchema):
    to_zoo_id: int = Field(ge=1, le=ID_MAX, description="The zoo the animal goes to.")
    on: PastDate = Field(description="The day it left (and arrived).")
    gift_id: int | None = Field(
        default=None, ge=1, le=ID_MAX, description="The gift it travelled as, if any."
    )
    enclosure_id: int | None = Field(
        default=None, ge=1, le=ID_MAX, description="Its enclosure in the new zoo, if known."
    )
    note: str | None = Field(default=None, max_length=TEXT_MAX)

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "to_zoo_id": 2,
                    "on": "2024-11-20",
                    "gift_id": 4,
                    "note": "Sent on loan for breeding.",
                }
            ]
        }
    )
