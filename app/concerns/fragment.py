"""The concern lists' invalidation as SQL to embed: for the one write that is a single
statement (PostgreSQL's report about a new incident, app/services/report_writes.py), which no
flush event sees. The same bump and mark the write hook (app/concerns/hook.py) makes."""

from typing import Any

from sqlalchemy import CTE, case, func, or_, select
from sqlalchemy.dialects import postgresql

from app.concerns.tables import DIRTY, ZOOS


def invalidating(incident: Any) -> tuple[CTE, CTE]:
    """CTEs that bump the zoo's concern_version and mark the incident's subject dirty (the
    animal, else the enclosure; an incident naming neither marks nothing), given a CTE or
    subquery of the written incident with zoo_id, animal_id and enclosure_id columns."""
    bump = (
        ZOOS.update()
        .where(ZOOS.c.id.in_(select(incident.c.zoo_id)))
        .values(concern_version=ZOOS.c.concern_version + 1)
        .cte("bump")
    )
    animal = incident.c.animal_id
    subject = select(
        incident.c.zoo_id,
        case((animal.is_not(None), "animal"), else_="enclosure"),
        func.coalesce(animal, incident.c.enclosure_id),
    ).where(or_(animal.is_not(None), incident.c.enclosure_id.is_not(None)))
    dirty = (
        postgresql.insert(DIRTY)
        .from_select(["zoo_id", "subject_type", "subject_id"], subject)
        .on_conflict_do_nothing()
        .cte("dirty")
    )
    return bump, dirty
