"""The flush hook that keeps every animal's movements: each flush of each session writes,
in its own transaction, a row for what the animals it wrote did, so no write path (the API,
the seed, an import, the CLI) can forget one and a rolled-back write leaves none.

* an animal added: arrival (on its `arrived_on`, else the day it was recorded);
* its zoo changed: transfer_out of the old zoo and transfer_in to the new one;
* else its enclosure changed: enclosure_move;
* its status changed (also beside one of those): status_change.
Moves are dated today unless the write said otherwise through `transfer_note` (the transfer
route's `on`, `gift_id` and `note`).
"""

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from app.core.db import insert_rows, inserted_rows
from app.models import Animal
from app.models.base import table_of, utcnow
from app.models.enums import AnimalStatus
from app.models.movement import AnimalMovement, MovementKind

MOVEMENTS = table_of(AnimalMovement)
COLUMNS = [c.name for c in MOVEMENTS.columns if c.name != "id"]
ANIMALS = table_of(Animal).name
ARRIVAL_READS = ("id", "zoo_id", "arrived_on", "enclosure_id", "gift_id", "status")
NOTES = "zwr.movement_notes"  # session.info key: animal id -> what its transfer said


def transfer_note(
    session: Session, animal_id: int, *, on: date, gift_id: int | None, note: str | None
) -> None:
    """What the next flush should record of this animal's move: its day, gift and note."""
    session.info.setdefault(NOTES, {})[animal_id] = {"at": on, "gift_id": gift_id, "note": note}


def _before(obj: Any, key: str) -> tuple[bool, Any]:
    """Whether the attribute changed in this flush, and its value before."""
    history = inspect(obj).attrs[key].history
    if not history.has_changes():
        return False, None
    return True, history.deleted[0] if history.deleted else None


def _arrival(animal: Mapping[str, Any], today: date) -> dict[str, Any]:
    """A new animal's arrival, from its values (an added object's, or a bulk insert's row)."""
    return {
        "animal_id": animal["id"],
        "created_at": utcnow(),
        "at": animal.get("arrived_on") or today,
        "kind": MovementKind.arrival.value,
        "to_zoo_id": animal["zoo_id"],
        "to_enclosure_id": animal.get("enclosure_id"),
        "gift_id": animal.get("gift_id"),
        "to_status": str(animal.get("status") or AnimalStatus.alive),
    }


def movements_of(session: Session) -> list[dict[str, Any]]:
    notes: dict[int, dict[str, Any]] = session.info.pop(NOTES, {})
    today = utcnow().date()
    rows: list[dict[str, Any]] = []
    added = session.new  # a fresh set each time it is read: read once
    for obj in list(added) + list(session.dirty):
        if not isinstance(obj, Animal):
            continue
        if obj in added:
            rows.append(_arrival({k: getattr(obj, k) for k in ARRIVAL_READS}, today))
            continue
        base = {"animal_id": obj.id, "created_at": utcnow()}
        said = {"at": today, "gift_id": None, "note": None} | notes.get(obj.id or 0, {})
        zoo_changed, old_zoo = _before(obj, "zoo_id")
        enclosure_changed, old_enclosure = _before(obj, "enclosure_id")
        status_changed, old_status = _before(obj, "status")
        place = {
            "from_zoo_id": old_zoo if zoo_changed else obj.zoo_id,
            "to_zoo_id": obj.zoo_id,
            "from_enclosure_id": old_enclosure if enclosure_changed else obj.enclosure_id,
            "to_enclosure_id": obj.enclosure_id,
        }
        if zoo_changed:
            for kind in (MovementKind.transfer_out, MovementKind.transfer_in):
                rows.append(base | said | place | {"kind": kind.value})
        elif enclosure_changed:
            rows.append(base | said | place | {"kind": MovementKind.enclosure_move.value})
        if status_changed:
            rows.append(
                base
                | said
                | {
                    "kind": MovementKind.status_change.value,
                    "from_zoo_id": obj.zoo_id,
                    "to_zoo_id": obj.zoo_id,
                    "from_status": None if old_status is None else str(old_status),
                    "to_status": str(obj.status),
                    "gift_id": None,
                }
            )
    return rows


def _write(session: Session, rows: list[dict[str, Any]], *, bulk: bool = False) -> None:
    if rows:
        # One executemany (a bulk load's: COPY on PostgreSQL), every row with every column.
        empty = dict.fromkeys(COLUMNS)
        insert_rows(session.connection(), MOVEMENTS, [empty | r for r in rows], bulk=bulk)


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, flush_context: UOWTransaction) -> None:
    _write(session, movements_of(session))


@event.listens_for(Session, "do_orm_execute")
def _bulk_insert(execute_state: ORMExecuteState) -> Any:
    """A bulk insert of animals through the session (the import's) bypasses the flush: their
    arrivals are written after it, which they refer to. Other bulk writes of animals are
    refused by the concern hook (app/concerns/hook.py)."""
    rows = inserted_rows(execute_state, ANIMALS)
    if rows is None:
        return None
    result = execute_state.invoke_statement()
    today = utcnow().date()
    _write(execute_state.session, [_arrival(row, today) for row in rows], bulk=True)
    return result


def installed() -> bool:
    return event.contains(Session, "after_flush", _after_flush) and event.contains(
        Session, "do_orm_execute", _bulk_insert
    )
