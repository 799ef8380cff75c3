"""Zoo: an institution that keeps animals."""

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, ConfigDict
from sqlalchemy import CheckConstraint, false
from sqlmodel import Field, SQLModel

from app.models.base import (
    ID_MAX,
    NAME_MAX,
    SHORT_MAX,
    TEXT_MAX,
    CountryCode,
    InputSchema,
    PastYear,
    UTCDateTime,
    id_table_args,
    reject_explicit_null,
    search_indexes,
    utcnow,
)

# Lower-case words joined by hyphens, with at least one letter (an all-digit path is an id).
SLUG_PATTERN = r"^(?:[0-9]+-)*[0-9]*[a-z][a-z0-9]*(?:-[a-z0-9]+)*$"


def _slug_has_letter(value: str) -> str:
    # A zoo in a path is given by id or slug, so a slug may not look like an id.
    if value.isdigit():
        raise ValueError("a slug needs at least one letter (all-digit paths are ids)")
    return value


Slug = Annotated[str, AfterValidator(_slug_has_letter)]


class ZooBase(SQLModel):
    slug: str = Field(
        min_length=2, max_length=80, schema_extra={"pattern": SLUG_PATTERN}, unique=True
    )
    name: str = Field(min_length=1, max_length=NAME_MAX)
    city: str | None = Field(default=None, max_length=SHORT_MAX)
    country_code: str = Field(min_length=2, max_length=2, index=True)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    opened_year: int | None = Field(default=None, ge=1500)
    notes: str | None = Field(default=None, max_length=TEXT_MAX)


class Zoo(ZooBase, table=True):
    __table_args__ = id_table_args(
        CheckConstraint("latitude BETWEEN -90 AND 90", name="latitude_range"),
        CheckConstraint("longitude BETWEEN -180 AND 180", name="longitude_range"),
    )

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # Bumped in the same transaction as any write that can change the zoo's concern list;
    # cached lists are keyed by it (app/concerns/hook.py bumps it). Not part of the API.
    concern_version: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    # An admin may pause public submissions about the zoo (POST /submissions answers 409).
    submissions_paused: bool = Field(default=False, sa_column_kwargs={"server_default": false()})


search_indexes(Zoo, "name", "city", "slug")


class ZooCreate(ZooBase, InputSchema):
    slug: Slug = Field(min_length=2, max_length=80, schema_extra={"pattern": SLUG_PATTERN})
    country_code: CountryCode = Field(min_length=2, max_length=2)
    opened_year: PastYear | None = None

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "slug": "korea-central-zoo",
                    "name": "Korea Central Zoo",
                    "city": "Pyongyang",
                    "country_code": "KP",
                    "latitude": 39.075,
                    "longitude": 125.815,
                    "opened_year": 1959,
                    "notes": "At the foot of Mount Taesong; renovated from 2014, reopened 2016.",
                }
            ]
        }
    }


class ZooUpdate(InputSchema):
    slug: Slug | None = Field(
        default=None, min_length=2, max_length=80, schema_extra={"pattern": SLUG_PATTERN}
    )
    name: str | None = Field(default=None, min_length=1, max_length=NAME_MAX)
    city: str | None = Field(default=None, max_length=SHORT_MAX)
    country_code: CountryCode | None = Field(default=None, min_length=2, max_length=2)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    opened_year: PastYear | None = None
    notes: str | None = Field(default=None, max_length=TEXT_MAX)
    submissions_paused: bool | None = Field(
        default=None,
        description="Pause (true) or resume (false) public submissions about the zoo.",
    )

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"notes": "Reopened in July 2016 after renovation."}]}
    )

    _not_null = reject_explicit_null("slug", "name", "country_code", "submissions_paused")


class ZooPublic(ZooBase):
    id: int
    created_at: datetime
    updated_at: datetime
    submissions_paused: bool = Field(
        description="Whether public submissions about the zoo are paused (POST /submissions "
        "answers 409)."
    )


def parse_ref(ref: str) -> int | str | None:
    """A zoo reference as an id (digits) or a slug; None for an id no zoo can have."""
    if ref.isascii() and ref.isdigit():
        return int(ref) if int(ref) <= ID_MAX else None
    return ref
