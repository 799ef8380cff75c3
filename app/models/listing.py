"""SpeciesStatus: a species' dated IUCN Red List category or CITES appendix, from `valid_from`
to `valid_to`, both days included (`valid_to` is the last day in force; null: still in force).
Two listings of one kind for one species never overlap (app/services/listings.py), so on any
day at most one is in force; the species' `iucn_category` and `cites_appendix` are the ones in
force today, written by the same write."""

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Discriminator, Tag, ValidationInfo, field_validator
from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, Integer
from sqlmodel import Field, SQLModel

from app.models.base import URL_MAX, InputSchema, UTCDateTime, enum_column, id_table_args, utcnow
from app.models.enums import CitesAppendix, IucnCategory
from app.models.links import HttpUrlText


class ListingKind(StrEnum):
    iucn = "iucn"
    cites = "cites"


# The values each kind takes (the enumerations of app/models/enums.py).
VALUES: dict[ListingKind, tuple[str, ...]] = {
    ListingKind.iucn: tuple(c.value for c in IucnCategory),
    ListingKind.cites: tuple(a.value for a in CitesAppendix),
}
VALUE_MAX = max(len(v) for values in VALUES.values() for v in values)


def _value_fits_kind() -> str:
    def one(kind: ListingKind) -> str:
        listed = ", ".join(f"'{v}'" for v in VALUES[kind])
        return f"(kind = '{kind.value}' AND value IN ({listed}))"

    return " OR ".join(one(kind) for kind in ListingKind)


VALUE_FITS_KIND = _value_fits_kind()
VALID_RANGE = "valid_to IS NULL OR valid_to >= valid_from"

VALID_FROM_HELP = "The first day in force."
VALID_TO_HELP = "The last day in force (included); null: still in force."
VALID_TO_BODY_HELP = f"{VALID_TO_HELP} Not before `valid_from`."
SOURCE_HELP = "Where the listing and its dates come from (http or https)."
# Species+ (UNEP-WCMC and the CITES Secretariat): each taxon's listings with their dates.
SPECIES_PLUS = "https://speciesplus.net/species#/taxon_concepts?taxonomy=cites_eu"
CHIMPANZEE_SOURCE = f"{SPECIES_PLUS}&taxon_concept_query=Pan%20troglodytes"


class SpeciesStatus(SQLModel, table=True):
    __tablename__ = "species_status"
    __table_args__ = id_table_args(
        Index("ix_species_status_species_id_kind_valid_from", "species_id", "kind", "valid_from"),
        CheckConstraint(VALUE_FITS_KIND, name="value_fits_kind"),
        CheckConstraint(VALID_RANGE, name="valid_range"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # A species deleted (one no animal belongs to) takes its listings with it.
    species_id: int = Field(
        sa_column=Column(Integer, ForeignKey("species.id", ondelete="CASCADE"), nullable=False)
    )
    kind: ListingKind = Field(sa_type=enum_column(ListingKind, "listing_kind"))
    value: str = Field(max_length=VALUE_MAX)
    valid_from: date
    valid_to: date | None = None
    source_url: str | None = Field(default=None, max_length=URL_MAX)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SpeciesStatusPublic(SQLModel):
    id: int
    species_id: int
    kind: ListingKind
    value: IucnCategory | CitesAppendix = Field(
        description="An IUCN Red List category for `iucn`, a CITES appendix for `cites`."
    )
    valid_from: date = Field(description=VALID_FROM_HELP)
    valid_to: date | None = Field(description=VALID_TO_HELP)
    source_url: str | None = Field(description=SOURCE_HELP)
    created_at: datetime

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "id": 1,
                    "species_id": 1,
                    "kind": "cites",
                    "value": "I",
                    "valid_from": "1977-02-04",
                    "valid_to": None,
                    "source_url": CHIMPANZEE_SOURCE,
                    "created_at": "2026-12-03T07:00:00Z",
                }
            ]
        }
    }


# The dates and the source are declared in each body, not in a shared base, below which mypy
# refuses a ConfigDict model_config.
class IucnListingCreate(InputSchema):
    """An IUCN Red List category in force over the dates given."""

    kind: Literal["iucn"]
    value: IucnCategory
    valid_from: date = Field(description=VALID_FROM_HELP)
    valid_to: date | None = Field(default=None, description=VALID_TO_BODY_HELP)
    source_url: HttpUrlText | None = Field(
        default=None, max_length=URL_MAX, description=SOURCE_HELP
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "kind": "iucn",
                    "value": "EN",
                    "valid_from": "2025-01-01",
                    "valid_to": "2025-12-31",
                    "source_url": "https://www.iucnredlist.org/",
                }
            ]
        }
    )


class CitesListingCreate(InputSchema):
    """A CITES appendix in force over the dates given."""

    kind: Literal["cites"]
    value: CitesAppendix
    valid_from: date = Field(description=VALID_FROM_HELP)
    valid_to: date | None = Field(default=None, description=VALID_TO_BODY_HELP)
    source_url: HttpUrlText | None = Field(
        default=None, max_length=URL_MAX, description=SOURCE_HELP
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "kind": "cites",
                    "value": "I",
                    "valid_from": "1977-02-04",
                    "source_url": CHIMPANZEE_SOURCE,
                }
            ]
        }
    )


def _kind_of(body: Any) -> str | None:
    kind = body.get("kind") if isinstance(body, dict) else getattr(body, "kind", None)
    return kind if isinstance(kind, str) and kind in VALUES else None


# The body of POST /species/{id}/statuses: `kind` says which values `value` may take. The
# discriminator is a function, as InputSchema's before-validator covers every field, `kind`
# too, which a discriminator field may not have.
SpeciesStatusCreate = Annotated[
    Annotated[IucnListingCreate, Tag(ListingKind.iucn.value)]
    | Annotated[CitesListingCreate, Tag(ListingKind.cites.value)],
    Discriminator(
        _kind_of,
        custom_error_type="listing_kind",
        custom_error_message="kind must be 'iucn' or 'cites'",
    ),
]


class ListingImport(InputSchema):
    """A row of a listings import (POST /imports/species_statuses): a dated listing of the
    species the row names, checked as POST /species/{id}/statuses checks its body."""

    species_id: int
    kind: ListingKind
    value: str = Field(
        description="An IUCN Red List category for `iucn`, a CITES appendix for `cites`."
    )
    valid_from: date = Field(description=VALID_FROM_HELP)
    valid_to: date | None = Field(default=None, description=VALID_TO_BODY_HELP)
    source_url: HttpUrlText | None = Field(
        default=None, max_length=URL_MAX, description=SOURCE_HELP
    )

    @field_validator("value")
    @classmethod
    def _fits_kind(cls, value: str, info: ValidationInfo) -> str:
        kind = info.data.get("kind")
        if kind is not None and value not in VALUES[kind]:
            allowed = ", ".join(f"'{v}'" for v in VALUES[kind])
            raise ValueError(f"a {kind.value} listing's value is one of {allowed}")
        return value

    @field_validator("valid_to")
    @classmethod
    def _not_before_start(cls, value: date | None, info: ValidationInfo) -> date | None:
        start = info.data.get("valid_from")
        if value is not None and start is not None and value < start:
            raise ValueError("valid_to is before valid_from")
        return value
