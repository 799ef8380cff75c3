"""A zoo's concern over time: one item per day from its daily snapshots (each the zoo's
totals as of its last update that day). A day with no snapshot had no update: its totals
are the last day's before it; days before the first snapshot are all zero."""

from datetime import date, timedelta

from sqlalchemy import select
from sqlmodel import Session

from app.concerns.schemas import TimelineDay
from app.concerns.tables import SNAPSHOTS


def days(session: Session, zoo_id: int, count: int, today: date) -> list[TimelineDay]:
    first = today - timedelta(days=count - 1)
    columns = (
        SNAPSHOTS.c.day,
        SNAPSHOTS.c.flagged_animals,
        SNAPSHOTS.c.flagged_enclosures,
        SNAPSHOTS.c.total_score,
        SNAPSHOTS.c.open_incidents,
    )
    connection = session.connection()
    # The last snapshot before the window carries into its first days.
    earlier = connection.execute(
        select(*columns)
        .where(SNAPSHOTS.c.zoo_id == zoo_id, SNAPSHOTS.c.day < first)
        .order_by(SNAPSHOTS.c.day.desc())
        .limit(1)
    ).first()
    within = {
        row.day: row
        for row in connection.execute(
            select(*columns).where(
                SNAPSHOTS.c.zoo_id == zoo_id, SNAPSHOTS.c.day >= first, SNAPSHOTS.c.day <= today
            )
        )
    }
    current = earlier
    items = []
    for offset in range(count):
        day = first + timedelta(days=offset)
        current = within.get(day, current)
        items.append(
            TimelineDay(
                date=day,
                flagged_animals=current.flagged_animals if current else 0,
                flagged_enclosures=current.flagged_enclosures if current else 0,
                total_score=current.total_score if current else 0,
                open_incidents=current.open_incidents if current else 0,
            )
        )
    return items
