"""Rules on the state of an enclosure: more animals than it holds, less space than they
need, an inspection overdue."""

from typing import Any

from sqlalchemy import Float, String, bindparam, case, cast, func, literal, or_, select
from sqlalchemy.sql import Select
from sqlmodel import col

from app.concerns.rules.base import (
    Context,
    Flag,
    Rule,
    RuleGroup,
    area,
    in_zoo,
    living,
    number,
    sql_type,
    subject_enclosures,
    when,
)
from app.models import Animal, Enclosure, Species

UNDERSIZED_SEVERITY = 3
OVERCROWDED_SEVERITY, OVERCROWDED_SEVERE_SEVERITY = 3, 4
INSPECTION_SEVERITY = 2


def enclosure_state(ctx: Context) -> Select[Any]:
    s = ctx.settings
    occupancy = (
        select(
            col(Animal.enclosure_id).label("enclosure_id"),
            func.sum(Animal.count).label("living"),
            func.sum(col(Species.min_area_m2) * Animal.count).label("needed"),
        )
        .join(Species, col(Species.id) == Animal.species_id)
        .where(living(ctx), col(Animal.enclosure_id).is_not(None))
        .group_by(col(Animal.enclosure_id))
        .subquery()
    )
    held = func.coalesce(occupancy.c.living, 0)
    crowded = held > Enclosure.capacity
    cramped = col(Enclosure.area_m2) < occupancy.c.needed
    cutoff = bindparam("cutoff", ctx.cutoff, type_=sql_type(Enclosure.last_inspected_on))
    overdue = or_(
        col(Enclosure.last_inspected_on).is_(None), col(Enclosure.last_inspected_on) < cutoff
    )
    crowded_severity = case(
        (
            held > col(Enclosure.capacity) * s.concern_overcrowded_severe_ratio,
            OVERCROWDED_SEVERE_SEVERITY,
        ),
        else_=OVERCROWDED_SEVERITY,
    )
    return (
        select(
            col(Enclosure.id).label("subject_id"),
            col(Enclosure.zoo_id).label("zoo_id"),
            when(crowded, crowded_severity).label("crowded_severity"),
            cast(held, Float).label("living"),
            cast(Enclosure.capacity, Float).label("capacity"),
            when(cramped, UNDERSIZED_SEVERITY).label("cramped_severity"),
            cast(Enclosure.area_m2, Float).label("area"),
            cast(occupancy.c.needed, Float).label("needed"),
            when(overdue, INSPECTION_SEVERITY).label("overdue_severity"),
            literal(s.concern_inspection_max_age_days, Float).label("max_age"),
            cast(Enclosure.last_inspected_on, String).label("last_inspected"),
        )
        .outerjoin(occupancy, occupancy.c.enclosure_id == Enclosure.id)
        .where(
            in_zoo(Enclosure.zoo_id, ctx),
            subject_enclosures(Enclosure.id, ctx),
            or_(crowded, cramped, overdue),
        )
    )


def _overcrowded_reason(flag: Flag, titles: dict[int, str]) -> str:
    return (
        f"{number(flag.facts['living'])} individuals in an enclosure for "
        f"{number(flag.facts['capacity'])}"
    )


def _undersized_reason(flag: Flag, titles: dict[int, str]) -> str:
    return (
        f"{area(flag.facts['area'])} m\u00b2 for animals that need "
        f"{area(flag.facts['needed'])} m\u00b2 between them"
    )


def _inspection_overdue_reason(flag: Flag, titles: dict[int, str]) -> str:
    last = flag.facts["last_inspected"]
    if not last:
        return "never inspected"
    return (
        f"last inspected on {str(last)[:10]}, more than "
        f"{number(flag.facts['max_age_days']) or 365} days ago"
    )


GROUPS = (
    RuleGroup(
        "enclosure_state",
        enclosure_state,
        (
            Rule(
                "overcrowded",
                "enclosure",
                "More living individuals (sum of counts) than the enclosure's capacity.",
                lambda s: {
                    "flag_severity": OVERCROWDED_SEVERITY,
                    "severe_ratio": s.concern_overcrowded_severe_ratio,
                    "severe_flag_severity": OVERCROWDED_SEVERE_SEVERITY,
                },
                severity="crowded_severity",
                reason=_overcrowded_reason,
                facts={"living": "living", "capacity": "capacity"},
            ),
            Rule(
                "undersized",
                "enclosure",
                "Less area than the sum of min_area_m2 x count over the enclosure's living "
                "animals.",
                lambda s: {"flag_severity": UNDERSIZED_SEVERITY},
                severity="cramped_severity",
                reason=_undersized_reason,
                facts={"area": "area", "needed": "needed"},
            ),
            Rule(
                "inspection_overdue",
                "enclosure",
                "Never inspected, or last inspected more than the maximum age ago.",
                lambda s: {
                    "max_age_days": s.concern_inspection_max_age_days,
                    "flag_severity": INSPECTION_SEVERITY,
                },
                severity="overdue_severity",
                reason=_inspection_overdue_reason,
                facts={"max_age_days": "max_age", "last_inspected": "last_inspected"},
            ),
        ),
    ),
)
