"""The flush hook that writes the events of ORM writes: every flush of every session appends
the events of the animals, incidents and replies it wrote, in the flush's own transaction, so
no write path can forget one and a rolled-back write leaves none.

What a flush records (the subject's public representation after the change as `data`):
* an animal added: animal.registered; changed: animal.transferred when its zoo changed,
  animal.moved when its enclosure did, else animal.updated;
* an incident added: incident.opened; changed: incident.transitioned when its status
  changed, else incident.updated (a report counted into it is such a change);
* a reply added: incident.replied (its subject is the incident; `data` the reply).
A change only to what no representation shows (updated_at, an incident's version) records
nothing. Animals inserted in bulk through the session (the import's batches) are registered
by `do_orm_execute`, from their rows. Reports are written by a plain insert
(app/services/reports.py appends their event), and the concern flags by
app/concerns/history.py: neither goes through a flush.
"""

from typing import Any

from pydantic import BaseModel
from sqlalchemy import event, inspect
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from app.core.db import inserted_rows
from app.events.outbox import EventType, append, joined, row
from app.models import Animal, IncidentReply, WelfareIncident
from app.models.animal import AnimalPublic
from app.models.base import table_of
from app.models.incident import WelfareIncidentPublic
from app.models.reply import IncidentReplyPublic

UNSHOWN = frozenset({"updated_at", "version"})
ANIMALS, INCIDENTS, REPLIES = (table_of(m).name for m in (Animal, WelfareIncident, IncidentReply))


def _changed(obj: Any) -> set[str]:
    state = inspect(obj)
    return {
        attr.key for attr in state.attrs if attr.key not in UNSHOWN and attr.history.has_changes()
    }


def _event(
    type_: EventType, obj: Any, public: type[BaseModel], zoo_id: Any, kind: str, subject_id: Any
) -> dict[str, Any]:
    return row(
        type_,
        zoo_id=zoo_id,
        subject_type=kind,
        subject_id=subject_id,
        data=joined(public.model_validate(obj)),
    )


def events_of(session: Session) -> list[dict[str, Any]]:
    """The events of what the session is flushing, in a stable order."""
    found: list[dict[str, Any]] = []
    added = session.new  # a fresh set each time it is read: read once
    for obj in list(added) + [o for o in session.dirty if session.is_modified(o)]:
        new = obj in added
        if isinstance(obj, Animal):
            changed = set() if new else _changed(obj)
            if new:
                type_ = EventType.animal_registered
            elif "zoo_id" in changed:
                type_ = EventType.animal_transferred
            elif "enclosure_id" in changed:
                type_ = EventType.animal_moved
            elif changed:
                type_ = EventType.animal_updated
            else:
                continue
            found.append(_event(type_, obj, AnimalPublic, obj.zoo_id, "animal", obj.id))
        elif isinstance(obj, WelfareIncident):
            changed = set() if new else _changed(obj)
            if new:
                type_ = EventType.incident_opened
            elif "status" in changed:
                type_ = EventType.incident_transitioned
            elif changed:
                type_ = EventType.incident_updated
            else:
                continue
            found.append(_event(type_, obj, WelfareIncidentPublic, obj.zoo_id, "incident", obj.id))
        elif isinstance(obj, IncidentReply) and new:
            found.append(
                _event(
                    EventType.incident_replied,
                    obj,
                    IncidentReplyPublic,
                    obj.zoo_id,
                    "incident",
                    obj.incident_id,
                )
            )
    return found


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, flush_context: UOWTransaction) -> None:
    # After the flush: new rows have their ids; `new`, `dirty` and the attributes' history
    # still say what it wrote.
    if rows := events_of(session):
        append(session.connection(), rows)


@event.listens_for(Session, "do_orm_execute")
def _bulk_insert(execute_state: ORMExecuteState) -> None:
    """A bulk insert through the session bypasses the flush. Animals so inserted (the
    import's) are registered here, from their rows, which must carry their ids; a bulk insert
    of incidents or replies is refused (their events need what only a flush knows)."""
    animals = inserted_rows(execute_state, ANIMALS)
    if animals is None:
        for table in (INCIDENTS, REPLIES):
            if inserted_rows(execute_state, table) is not None:
                raise RuntimeError(f"{table} rows are written through the session's flush")
        return
    if any(animal.get("id") is None for animal in animals):
        raise RuntimeError("a bulk insert of animals carries their ids: their events name them")
    rows = [_registered(animal) for animal in animals]
    append(execute_state.session.connection(), rows, bulk=True)


def _registered(animal: dict[str, Any]) -> dict[str, Any]:
    """The animal.registered event of a bulk-inserted row, built without validating again:
    the row is what the import validated (and stamped), its values of their fields' types."""
    values: dict[str, Any] = {f: animal.get(f) for f in AnimalPublic.model_fields}
    return row(
        EventType.animal_registered,
        zoo_id=animal["zoo_id"],
        subject_type="animal",
        subject_id=animal["id"],
        data=joined(AnimalPublic.model_construct(**values)),
    )


def installed() -> bool:
    return event.contains(Session, "after_flush", _after_flush) and event.contains(
        Session, "do_orm_execute", _bulk_insert
    )
