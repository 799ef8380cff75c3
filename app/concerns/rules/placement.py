"""Rules on where an animal is kept: alone when its species lives in groups, or in a climate
its species does not live in."""

from typing import Any

from sqlalchemy import Float, String, and_, cast, func, literal, or_, select
from sqlalchemy.sql import Select
from sqlmodel import col

from app.concerns.rules.base import (
    Context,
    Flag,
    Rule,
    RuleGroup,
    living,
    number,
    subject_animals,
    when,
)
from app.models import Animal, Enclosure, Species
from app.models.enums import SocialStructure

SOCIAL_ISOLATION_SEVERITY = 3
CLIMATE_MISMATCH_SEVERITY = 2


def animal_placement(ctx: Context) -> Select[Any]:
    group = (
        select(
            col(Animal.enclosure_id).label("enclosure_id"),
            col(Animal.species_id).label("species_id"),
            func.sum(Animal.count).label("n"),
        )
        .where(living(ctx), col(Animal.enclosure_id).is_not(None))
        .group_by(col(Animal.enclosure_id), col(Animal.species_id))
        .subquery()
    )
    together = func.coalesce(group.c.n, Animal.count)
    isolated = and_(
        col(Species.social_structure) != SocialStructure.solitary, together < Species.min_group_size
    )
    climate = cast(Enclosure.climate, String)
    zones = cast(Species.climate_zones, String)
    # climate_zones is a JSON list of enum tokens; a quoted-token match is exact and portable.
    listed = zones.like(literal('%"') + climate + literal('"%'))
    mismatch = and_(col(Enclosure.id).is_not(None), climate != "controlled", zones != "[]", ~listed)
    return (
        select(
            col(Animal.id).label("subject_id"),
            col(Animal.zoo_id).label("zoo_id"),
            when(isolated, SOCIAL_ISOLATION_SEVERITY).label("isolation_severity"),
            cast(together, Float).label("together"),
            cast(Species.min_group_size, Float).label("min_group_size"),
            cast(Species.social_structure, String).label("social_structure"),
            when(mismatch, CLIMATE_MISMATCH_SEVERITY).label("climate_severity"),
            climate.label("climate"),
            zones.label("climate_zones"),
        )
        .join(Species, col(Species.id) == Animal.species_id)
        .outerjoin(Enclosure, col(Enclosure.id) == Animal.enclosure_id)
        .outerjoin(
            group,
            and_(
                group.c.enclosure_id == Animal.enclosure_id,
                group.c.species_id == Animal.species_id,
            ),
        )
        .where(subject_animals(ctx), or_(isolated, mismatch))
    )


def _social_isolation_reason(flag: Flag, titles: dict[int, str]) -> str:
    n = number(flag.facts["together"])
    who = "1 individual" if n == 1 else f"{n} individuals"
    return (
        f"{who} of a {flag.facts['social_structure']}-living species together in its "
        f"enclosure; it needs a group of at least {number(flag.facts['min_group_size'])}"
    )


def _climate_mismatch_reason(flag: Flag, titles: dict[int, str]) -> str:
    zones = str(flag.facts["climate_zones"] or "")
    names = ", ".join(z.strip(' "') for z in zones.strip("[]").split(","))
    return f"kept in a {flag.facts['climate']} enclosure; the species lives in {names} climates"


GROUPS = (
    RuleGroup(
        "animal_placement",
        animal_placement,
        (
            Rule(
                "social_isolation",
                "animal",
                "A pair- or group-living species with fewer than min_group_size of its kind "
                "(counting itself) in its enclosure.",
                lambda s: {"flag_severity": SOCIAL_ISOLATION_SEVERITY},
                severity="isolation_severity",
                reason=_social_isolation_reason,
                facts={
                    "together": "together",
                    "min_group_size": "min_group_size",
                    "social_structure": "social_structure",
                },
            ),
            Rule(
                "climate_mismatch",
                "animal",
                "The enclosure's climate is not among the species' climate zones (controlled "
                "climates excepted).",
                lambda s: {"flag_severity": CLIMATE_MISMATCH_SEVERITY},
                severity="climate_severity",
                reason=_climate_mismatch_reason,
                facts={"climate": "climate", "climate_zones": "climate_zones"},
            ),
        ),
    ),
)
