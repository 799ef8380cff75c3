"""Species: what an animal is, and what it needs (group size, space, climate)."""

from datetime import datetime
from typing import Any

from pydantic import ConfigDict, field_validator, model_validator
from sqlalchemy import JSON, CheckConstraint
from sqlmodel import Field, SQLModel

from app.models.base import (
    NAME_MAX,
    InputSchema,
    UTCDateTime,
    enum_column,
    id_table_args,
    reject_explicit_null,
    search_indexes,
    utcnow,
)
from app.models.enums import (
    CitesAppendix,
    ClimateZone,
    IucnCategory,
    SocialStructure,
    TaxonClass,
)


class SpeciesBase(SQLModel):
    scientific_name: str = Field(min_length=3, max_length=NAME_MAX, unique=True)
    common_name: str = Field(min_length=1, max_length=NAME_MAX)
    taxon_class: TaxonClass = Field(sa_type=enum_column(TaxonClass, "taxon_class"), index=True)
    is_domestic: bool = False
    iucn_category: IucnCategory | None = Field(
        default=None, sa_type=enum_column(IucnCategory, "iucn_category"), index=True
    )
    cites_appendix: CitesAppendix | None = Field(
        default=None, sa_type=enum_column(CitesAppendix, "cites_appendix"), index=True
    )
    social_structure: SocialStructure = Field(
        default=SocialStructure.solitary, sa_type=enum_column(SocialStructure, "social_structure")
    )
    min_group_size: int = Field(default=1, ge=1, le=10_000)
    min_area_m2: float | None = Field(default=None, gt=0, le=10_000_000)
    climate_zones: list[ClimateZone] = Field(default_factory=list, sa_type=JSON)


class Species(SpeciesBase, table=True):
    __table_args__ = id_table_args(
        CheckConstraint("min_group_size >= 1", name="min_group_size_positive"),
        CheckConstraint("min_area_m2 IS NULL OR min_area_m2 > 0", name="min_area_positive"),
    )

    id: int | None = Field(default=None, primary_key=True)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


search_indexes(Species, "scientific_name", "common_name")


def _unique_zones(zones: list[ClimateZone] | None) -> list[ClimateZone] | None:
    if zones is not None and len(set(zones)) != len(zones):
        raise ValueError("climate zones must not repeat")
    return zones


UNIQUE_ITEMS = {"json_schema_extra": {"uniqueItems": True}}


class SpeciesCreate(SpeciesBase, InputSchema):
    climate_zones: list[ClimateZone] = Field(default_factory=list, schema_extra=UNIQUE_ITEMS)

    @field_validator("climate_zones")
    @classmethod
    def _zones(cls, zones: list[ClimateZone]) -> list[ClimateZone]:
        return _unique_zones(zones) or []

    @model_validator(mode="after")
    def _domestic_forms_unassessed(self) -> "SpeciesCreate":
        check_domestic(self.is_domestic, self.iucn_category)
        return self

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "scientific_name": "Pan troglodytes",
                    "common_name": "Chimpanzee",
                    "taxon_class": "mammal",
                    "iucn_category": "EN",
                    "cites_appendix": "I",
                    "social_structure": "group",
                    "min_group_size": 6,
                    "min_area_m2": 60,
                    "climate_zones": ["tropical"],
                }
            ]
        }
    }


def check_domestic(is_domestic: bool, iucn_category: Any) -> None:
    # docs/contract.md: the IUCN category is null for domestic forms.
    if is_domestic and iucn_category is not None:
        raise ValueError("a domestic form has no IUCN category; leave iucn_category null")


class SpeciesUpdate(InputSchema):
    scientific_name: str | None = Field(default=None, min_length=3, max_length=NAME_MAX)
    common_name: str | None = Field(default=None, min_length=1, max_length=NAME_MAX)
    taxon_class: TaxonClass | None = None
    is_domestic: bool | None = None
    iucn_category: IucnCategory | None = None
    cites_appendix: CitesAppendix | None = None
    social_structure: SocialStructure | None = None
    min_group_size: int | None = Field(default=None, ge=1, le=10_000)
    min_area_m2: float | None = Field(default=None, gt=0, le=10_000_000)
    climate_zones: list[ClimateZone] | None = Field(default=None, schema_extra=UNIQUE_ITEMS)

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"min_group_size": 6, "climate_zones": ["tropical"]}]}
    )

    _not_null = reject_explicit_null(
        "scientific_name",
        "common_name",
        "taxon_class",
        "is_domestic",
        "social_structure",
        "min_group_size",
        "climate_zones",
    )

    @field_validator("climate_zones")
    @classmethod
    def _zones(cls, zones: list[ClimateZone] | None) -> list[ClimateZone] | None:
        return _unique_zones(zones)


class SpeciesPublic(SpeciesBase):
    id: int
    updated_at: datetime
