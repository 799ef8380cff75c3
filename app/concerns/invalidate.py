"""The concern-list cache: in-process, keyed by the zoo's concern_version and the date.

Every write that can change a zoo's concern list bumps zoo.concern_version in the same
transaction, and every read compares against the version in the database, so any number of
workers and app servers sharing one database agree on when a cached list is stale.
"""

from collections.abc import Iterable
from typing import Any

from sqlalchemy import bindparam, update
from sqlmodel import Session, col, select

from app.concerns import store
from app.models import Animal, Zoo
from app.models.base import table_of

ZOOS = table_of(Zoo)
BUMP = (
    update(ZOOS)
    .where(ZOOS.c.id.in_(bindparam("ids", expanding=True)))
    .values(concern_version=ZOOS.c.concern_version + 1)
)


def bump(session: Session, zoo_ids: Iterable[int | None]) -> None:
    """Marks the zoos' concern lists stale; part of the caller's transaction. Plain SQL on the
    session's connection: pending ORM changes are flushed first, so they are in the same
    transaction before the zoo rows are locked (as late as possible). The zoos' stored flags
    are dropped, to be evaluated in full on their next read (see `bump_subject` for the
    cheaper mark a report or an incident change makes)."""
    ids = sorted({z for z in zoo_ids if z is not None})
    if ids:
        session.flush()
        # The zoo rows first: store.update locks a zoo before its stored flags, and so must
        # every writer, or each could hold what the other waits for.
        session.connection().execute(BUMP, {"ids": ids})
        store.drop(session, ids)


def bump_subject(
    session: Session, zoo_id: int, animal_id: int | None, enclosure_id: int | None
) -> None:
    """`bump` for a change to an incident (or a new one): only its subject's stored flags are
    evaluated again. An incident naming an animal is about the animal, else about its
    enclosure (app/concerns/rules.py); one naming neither raises no flag."""
    session.flush()
    session.connection().execute(BUMP, {"ids": [zoo_id]})  # first, as in `bump`
    if animal_id is not None:
        store.mark(session, zoo_id, [("animal", animal_id)])
    elif enclosure_id is not None:
        store.mark(session, zoo_id, [("enclosure", enclosure_id)])


def bump_where_animals(session: Session, *criteria: Any) -> None:
    """Marks stale every zoo holding an animal that matches (a species or gift changed)."""
    holders = select(Animal.zoo_id).where(*criteria).distinct()
    session.execute(
        update(Zoo)
        .where(col(Zoo.id).in_(holders))
        .values(concern_version=Zoo.concern_version + 1)
        .execution_options(synchronize_session=False)
    )
    store.drop(session, holders)
