"""Enclosure: where animals are kept, with the numbers the welfare rules check."""

from datetime import date, datetime

from pydantic import ConfigDict
from sqlalchemy import CheckConstraint, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models.base import (
    ID_MAX,
    NAME_MAX,
    TEXT_MAX,
    InputSchema,
    PastDate,
    UTCDateTime,
    enum_column,
    id_table_args,
    reject_explicit_null,
    search_indexes,
    utcnow,
)
from app.models.enums import EnclosureClimate, EnclosureKind


class EnclosureBase(SQLModel):
    name: str = Field(min_length=1, max_length=NAME_MAX)
    kind: EnclosureKind = Field(sa_type=enum_column(EnclosureKind, "enclosure_kind"))
    area_m2: float = Field(gt=0, le=10_000_000)
    capacity: int = Field(ge=1, le=100_000)
    climate: EnclosureClimate = Field(sa_type=enum_column(EnclosureClimate, "enclosure_climate"))
    has_enrichment: bool = False
    last_inspected_on: date | None = None
    notes: str | None = Field(default=None, max_length=TEXT_MAX)


class Enclosure(EnclosureBase, table=True):
    __table_args__ = id_table_args(
        UniqueConstraint("zoo_id", "name"),
        # Target of animal's composite foreign key: an animal's enclosure is in its zoo.
        UniqueConstraint("id", "zoo_id"),
        CheckConstraint("area_m2 > 0", name="area_positive"),
        CheckConstraint("capacity >= 1", name="capacity_positive"),
    )

    id: int | None = Field(default=None, primary_key=True)
    zoo_id: int = Field(foreign_key="zoo.id", index=True)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


search_indexes(Enclosure, "name")


class EnclosureCreate(EnclosureBase, InputSchema):
    zoo_id: int = Field(ge=1, le=ID_MAX)
    last_inspected_on: PastDate | None = None

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "zoo_id": 1,
                    "name": "Great Ape House",
                    "kind": "indoor",
                    "area_m2": 120,
                    "capacity": 4,
                    "climate": "controlled",
                    "has_enrichment": False,
                    "last_inspected_on": None,
                    "notes": "Illustrative: enclosure details are not public.",
                }
            ]
        }
    }


class EnclosureUpdate(InputSchema):
    """An enclosure stays in its zoo; everything else may change."""

    name: str | None = Field(default=None, min_length=1, max_length=NAME_MAX)
    kind: EnclosureKind | None = None
    area_m2: float | None = Field(default=None, gt=0, le=10_000_000)
    capacity: int | None = Field(default=None, ge=1, le=100_000)
    climate: EnclosureClimate | None = None
    has_enrichment: bool | None = None
    last_inspected_on: PastDate | None = None
    notes: str | None = Field(default=None, max_length=TEXT_MAX)

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"capacity": 40, "last_inspected_on": "2026-11-01"}]}
    )

    _not_null = reject_explicit_null(
        "name", "kind", "area_m2", "capacity", "climate", "has_enrichment"
    )


class EnclosurePublic(EnclosureBase):
    id: int
    zoo_id: int
    updated_at: datetime
