"""The listing in force on a day, in SQL: for one species and day, or for a column of them
(an animal's arrival), so one statement can ask it of many rows. The concern rules and the
listing service both read listings through it."""

from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, ScalarSelect, literal
from sqlmodel import col, or_, select

from app.models import SpeciesStatus
from app.models.listing import ListingKind


def in_force_on(day: date | ColumnElement[Any]) -> ColumnElement[bool]:
    """Whether a listing is in force on `day` (a date, or a column of dates such as an
    animal's `arrived_on`): valid_from <= day <= valid_to, an open end never ending."""
    when = literal(day) if isinstance(day, date) else day
    return (col(SpeciesStatus.valid_from) <= when) & or_(
        col(SpeciesStatus.valid_to).is_(None), col(SpeciesStatus.valid_to) >= when
    )


def value_in_force(
    kind: ListingKind,
    species_id: int | ColumnElement[Any],
    day: date | ColumnElement[Any],
) -> ScalarSelect[Any]:
    """The value of the `kind` listing in force on `day` for the species, as a scalar
    subquery: NULL when none is. Its arguments may be columns, so one statement can ask it
    of many rows (`select(Animal.id, value_in_force(ListingKind.cites, Animal.species_id,
    Animal.arrived_on))`); the index (species_id, kind, valid_from) serves it."""
    return (
        select(SpeciesStatus.value)
        .where(SpeciesStatus.species_id == species_id, SpeciesStatus.kind == kind, in_force_on(day))
        .order_by(col(SpeciesStatus.valid_from).desc())
        .limit(1)
        .scalar_subquery()
    )
