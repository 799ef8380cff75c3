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

from datetime import date
from typing import Any

from sqlalchemy import event, insert, inspect
from sqlalchemy.orm import Session, UOWTransaction

from app.models import Animal
from app.models.base import table_of, utcnow
from app.models.movement import AnimalMovement, MovementKind

MOVEMENTS = table_of(AnimalMovement)
COLUMNS = [c.name for c in MOVEMENTS.columns if c.name != "id"]
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


def movements_of(session: Session) -> list[dict[str, Any]]:
    notes: dict[int, dict[str, Any]] = session.info.pop(NOTES, {})
    today = utcnow().date()
    rows: list[dict[str, Any]] = []
    added = session.new  # a fresh set each time it is read: read once
    for obj in list(added) + list(session.dirty):
        if not isinstance(obj, Animal):
            continue
        base = {"animal_id": obj.id, "created_at": utcnow()}
        if obj in added:
            rows.append(
                base
                | {
                    "at": obj.arrived_on or today,
                    "kind": MovementKind.arrival.value,
                    "to_zoo_id": obj.zoo_id,
                    "to_enclosure_id": obj.enclosure_id,
                    "gift_id": obj.gift_id,
                    "to_status": str(obj.status),
                }
            )
            continue
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


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, flush_context: UOWTransaction) -> None:
    if rows := movements_of(session):
        # One executemany: every row with every column.
        empty = dict.fromkeys(COLUMNS)
        session.connection().execute(insert(MOVEMENTS), [empty | r for r in rows])


def installed() -> bool:
    return event.contains(Session, "after_flush", _after_flush)
