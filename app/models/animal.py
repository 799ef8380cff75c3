"""Animal: an individual, or a group record such as "40 mandarin ducks"."""

from datetime import date, datetime

from pydantic import ConfigDict
from sqlalchemy import CheckConstraint, ForeignKeyConstraint, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models.base import (
    ID_MAX,
    NAME_MAX,
    SHORT_MAX,
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
from app.models.enums import AnimalStatus, Origin, Sex


class AnimalBase(SQLModel):
    name: str | None = Field(default=None, max_length=NAME_MAX)
    identifier: str | None = Field(default=None, min_length=1, max_length=SHORT_MAX)
    sex: Sex = Field(default=Sex.unknown, sa_type=enum_column(Sex, "sex"))
    count: int = Field(default=1, ge=1, le=100_000)
    birth_date: date | None = None
    origin: Origin = Field(default=Origin.unknown, sa_type=enum_column(Origin, "origin"))
    arrived_on: date | None = None
    status: AnimalStatus = Field(
        default=AnimalStatus.alive, sa_type=enum_column(AnimalStatus, "animal_status")
    )
    notes: str | None = Field(default=None, max_length=TEXT_MAX)


class Animal(AnimalBase, table=True):
    __table_args__ = id_table_args(
        UniqueConstraint("zoo_id", "identifier"),
        CheckConstraint("count >= 1", name="count_positive"),
        CheckConstraint(
            "origin <> 'diplomatic_gift' OR gift_id IS NOT NULL", name="diplomatic_gift_has_gift"
        ),
        # The database itself keeps an animal's enclosure inside the animal's zoo.
        ForeignKeyConstraint(
            ["enclosure_id", "zoo_id"],
            ["enclosure.id", "enclosure.zoo_id"],
            name="fk_animal_enclosure_id_zoo_id_enclosure",
        ),
        # The concern rules read living animals of one zoo, by enclosure and species.
        Index("ix_animal_zoo_id_status", "zoo_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    zoo_id: int = Field(foreign_key="zoo.id")  # indexed by ix_animal_zoo_id_status
    species_id: int = Field(foreign_key="species.id", index=True)
    enclosure_id: int | None = Field(default=None, index=True)
    gift_id: int | None = Field(default=None, foreign_key="gift.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


search_indexes(Animal, "name", "identifier")


class AnimalCreate(AnimalBase, InputSchema):
    zoo_id: int = Field(ge=1, le=ID_MAX)
    species_id: int = Field(ge=1, le=ID_MAX)
    enclosure_id: int | None = Field(default=None, ge=1, le=ID_MAX)
    gift_id: int | None = Field(default=None, ge=1, le=ID_MAX)
    birth_date: PastDate | None = None
    arrived_on: PastDate | None = None

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "zoo_id": 1,
                    "species_id": 1,
                    "name": "Dallae",
                    "sex": "female",
                    "birth_date": "1997-01-01",
                    "origin": "unknown",
                    "notes": "Trained to smoke; about a pack of cigarettes a day (AP, 2016).",
                },
                {
                    "zoo_id": 1,
                    "species_id": 5,
                    "sex": "mixed",
                    "count": 40,
                    "origin": "diplomatic_gift",
                    "gift_id": 4,
                    "arrived_on": "2024-11-20",
                },
            ]
        }
    }


class AnimalUpdate(InputSchema):
    zoo_id: int | None = Field(default=None, ge=1, le=ID_MAX)
    species_id: int | None = Field(default=None, ge=1, le=ID_MAX)
    enclosure_id: int | None = Field(default=None, ge=1, le=ID_MAX)
    gift_id: int | None = Field(default=None, ge=1, le=ID_MAX)
    name: str | None = Field(default=None, max_length=NAME_MAX)
    identifier: str | None = Field(default=None, min_length=1, max_length=SHORT_MAX)
    sex: Sex | None = None
    count: int | None = Field(default=None, ge=1, le=100_000)
    birth_date: PastDate | None = None
    origin: Origin | None = None
    arrived_on: PastDate | None = None
    status: AnimalStatus | None = None
    notes: str | None = Field(default=None, max_length=TEXT_MAX)

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"enclosure_id": 7}, {"status": "deceased", "notes": "Died 2026-11-01."}]
        }
    )

    _not_null = reject_explicit_null("zoo_id", "species_id", "sex", "count", "origin", "status")


class AnimalPublic(AnimalBase):
    id: int
    zoo_id: int
    species_id: int
    enclosure_id: int | None
    gift_id: int | None
    created_at: datetime
    updated_at: datetime
