"""Rules on where and how an animal is kept: alone when its species lives in groups, in a
climate its species does not live in, or traded with no CITES permit on record."""

from typing import Any

from sqlalchemy import Float, String, and_, case, cast, func, literal, or_, select
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
from app.models import Animal, Enclosure, Gift, Species
from app.models.enums import Origin, SocialStructure

TRADE_ORIGINS = (Origin.diplomatic_gift, Origin.purchase, Origin.exchange)
CITES_SEVERITY = {"I": 4, "II": 3, "III": 2}
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
    undocumented = and_(
        col(Species.cites_appendix).is_not(None),
        col(Animal.origin).in_(TRADE_ORIGINS),
        or_(
            col(Gift.id).is_(None),
            col(Gift.cites_permit_ref).is_(None),
            col(Gift.cites_permit_ref) == "",
        ),
    )
    trade_severity = case(
        *((col(Species.cites_appendix) == k, v) for k, v in CITES_SEVERITY.items()), else_=2
    )
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
            when(undocumented, trade_severity).label("trade_severity"),
            cast(Species.cites_appendix, String).label("cites_appendix"),
            cast(Animal.origin, String).label("origin"),
        )
        .join(Species, col(Species.id) == Animal.species_id)
        .outerjoin(Enclosure, col(Enclosure.id) == Animal.enclosure_id)
        .outerjoin(Gift, col(Gift.id) == Animal.gift_id)
        .outerjoin(
            group,
            and_(
                group.c.enclosure_id == Animal.enclosure_id,
                group.c.species_id == Animal.species_id,
            ),
        )
        .where(subject_animals(ctx), or_(isolated, mismatch, undocumented))
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


def _undocumented_trade_reason(flag: Flag, titles: dict[int, str]) -> str:
    origin = str(flag.facts["origin"] or "").replace("_", " ")
    return (
        f"a CITES Appendix {flag.facts['cites_appendix']} species that arrived by {origin} "
        "with no CITES permit reference on record"
    )


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
            Rule(
                "undocumented_trade",
                "animal",
                "A CITES-listed species that arrived by gift, purchase or exchange with no "
                "permit reference on record.",
                lambda s: {"flag_severity_by_appendix": CITES_SEVERITY},
                severity="trade_severity",
                reason=_undocumented_trade_reason,
                facts={"cites_appendix": "cites_appendix", "origin": "origin"},
            ),
        ),
    ),
)
