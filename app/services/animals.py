"""Animal rules: zoo, species, enclosure and gift agree (a gift's animals are in its recipient
zoo, when it names one); identifiers unique in a zoo."""

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any, NamedTuple

from sqlmodel import Session, col, or_, select, union

from app.core.errors import Unprocessable, field_error
from app.models import Animal, ApiKey, Enclosure, Gift, Species, WelfareIncident, WelfareReport, Zoo
from app.models.animal import AnimalCreate, AnimalUpdate
from app.models.enums import AnimalStatus, Origin
from app.models.movement import AnimalMovement, TransferCreate
from app.records import transfer_note
from app.services import keyset
from app.services import zoos as zoo_service
from app.services.access import ensure_zoo_scope
from app.services.common import (
    apply_update,
    commit,
    ensure_absent,
    ensure_unused,
    like_filter,
    paginate,
    require_ref,
)
from app.services.keyset import KeysetPage
from app.services.search import text_search


class AnimalSort(StrEnum):
    """`field` ascending, `-field` descending (missing values last either way); ties by id."""

    id = "id"
    id_desc = "-id"
    name = "name"
    name_desc = "-name"
    identifier = "identifier"
    identifier_desc = "-identifier"
    birth_date = "birth_date"
    birth_date_desc = "-birth_date"
    arrived_on = "arrived_on"
    arrived_on_desc = "-arrived_on"
    created_at = "created_at"
    created_at_desc = "-created_at"
    updated_at = "updated_at"
    updated_at_desc = "-updated_at"


ANIMAL_SORT_COLUMNS = {
    "name": Animal.name,
    "identifier": Animal.identifier,
    "birth_date": Animal.birth_date,
    "arrived_on": Animal.arrived_on,
    "created_at": Animal.created_at,
    "updated_at": Animal.updated_at,
}


def _search_ids(q: str) -> Any:
    """The ids of animals whose name, identifier or species' names contain q."""
    # A union, so that each part uses its own index on PostgreSQL (one OR reaching into
    # species could use none).
    return union(
        select(Animal.id).where(text_search(Animal, q, "name")),
        select(Animal.id).where(text_search(Animal, q, "identifier")),
        select(Animal.id)
        .join(Species, col(Species.id) == col(Animal.species_id))
        .where(or_(like_filter(Species.common_name, q), like_filter(Species.scientific_name, q))),
    )


def list_animals(
    *,
    session: Session,
    zoo_ref: str | None = None,
    species_id: int | None = None,
    enclosure_id: int | None = None,
    status: AnimalStatus | None = None,
    origin: Origin | None = None,
    gift_id: int | None = None,
    q: str | None = None,
    updated_since: datetime | None = None,
    sort: AnimalSort = AnimalSort.id,
    limit: int,
    offset: int = 0,
    after: str | None = None,
    count: bool = False,
) -> KeysetPage[Animal]:
    """Lists animals, filtered by zoo (id or slug), species, enclosure, status, origin, gift,
    change time and a search over names, identifier and species names: a page `offset` rows
    in, or after the cursor `after`."""
    stmt = select(Animal)
    if zoo_ref is not None:
        stmt = stmt.where(zoo_service.matches_ref(Animal.zoo_id, zoo_ref))
    if species_id is not None:
        stmt = stmt.where(Animal.species_id == species_id)
    if enclosure_id is not None:
        stmt = stmt.where(Animal.enclosure_id == enclosure_id)
    if status:
        stmt = stmt.where(Animal.status == status)
    if origin:
        stmt = stmt.where(Animal.origin == origin)
    if gift_id is not None:
        stmt = stmt.where(Animal.gift_id == gift_id)
    if q:
        stmt = stmt.where(col(Animal.id).in_(_search_ids(q)))
    if updated_since is not None:
        stmt = stmt.where(col(Animal.updated_at) >= updated_since)
    return keyset.sorted_page(
        session,
        stmt,
        sort=sort,
        columns=ANIMAL_SORT_COLUMNS,
        id_column=Animal.id,
        limit=limit,
        offset=offset,
        cursor=after,
        count=count,
    )


class Placed(NamedTuple):
    """What the animal rules need of an enclosure (its zoo) or a gift (its recipient zoo)."""

    id: int
    zoo_id: int | None


def consistency_problems(
    state: dict[str, Any],
    enclosure: Placed | None,
    gift: Placed | None,
    *,
    gift_named: bool = True,
) -> list[tuple[str, str]]:
    """The rules an animal's zoo, enclosure, gift and origin follow, as (field, message)
    pairs (none: they agree), given the enclosure and gift it names. The API checks one
    animal with them (below), a bulk import every row (app/services/imports.py).

    A gift is checked against the animal's zoo when it is named (at creation, or changed):
    an animal transferred since keeps the gift that first brought it."""
    problems = []
    if enclosure is not None and enclosure.zoo_id != state["zoo_id"]:
        problems.append(
            (
                "enclosure_id",
                f"Enclosure {enclosure.id} belongs to zoo {enclosure.zoo_id}, "
                f"not to the animal's zoo {state['zoo_id']}.",
            )
        )
    if gift is not None and gift_named:
        # A gift to one zoo brought no animal to another: naming it would let a zoo's key
        # attach records to (and block the deletion of) another zoo's gift.
        if gift.zoo_id is not None and gift.zoo_id != state["zoo_id"]:
            problems.append(
                (
                    "gift_id",
                    f"Gift {gift.id} went to zoo {gift.zoo_id}, "
                    f"not to the animal's zoo {state['zoo_id']}.",
                )
            )
    elif state.get("gift_id") is None and state["origin"] == Origin.diplomatic_gift:
        problems.append(
            ("gift_id", "An animal whose origin is diplomatic_gift needs the gift_id of that gift.")
        )
    return problems


def _check_consistency(
    session: Session, state: dict[str, Any], own_id: int | None, *, gift_named: bool = True
) -> None:
    """Checks the merged record: references exist and fit together."""
    require_ref(session, Zoo, state["zoo_id"], "zoo_id", "zoo")
    require_ref(session, Species, state["species_id"], "species_id", "species")
    enclosure = gift = None
    if state.get("enclosure_id") is not None:
        row = require_ref(session, Enclosure, state["enclosure_id"], "enclosure_id", "enclosure")
        enclosure = Placed(int(row.id or 0), row.zoo_id)
    if state.get("gift_id") is not None and gift_named:
        given = require_ref(session, Gift, state["gift_id"], "gift_id", "gift")
        gift = Placed(int(given.id or 0), given.recipient_zoo_id)
    for field, message in consistency_problems(state, enclosure, gift, gift_named=gift_named):
        raise Unprocessable(message, errors=[field_error(["body", field], message)])
    if state.get("identifier") is not None:
        stmt = select(Animal.id).where(
            Animal.zoo_id == state["zoo_id"], Animal.identifier == state["identifier"]
        )
        if own_id is not None:
            stmt = stmt.where(Animal.id != own_id)
        ensure_absent(
            session, stmt, f"The zoo already has an animal with identifier '{state['identifier']}'."
        )


def create(*, session: Session, animal_in: AnimalCreate, actor: ApiKey) -> Animal:
    """Registers an animal after checking its zoo, species, enclosure and gift agree."""
    ensure_zoo_scope(actor, animal_in.zoo_id)
    _check_consistency(session, animal_in.model_dump(), None)
    animal = Animal.model_validate(animal_in)
    session.add(animal)
    commit(session, conflict="The zoo already has an animal with that identifier.")
    return animal


def update(*, session: Session, animal: Animal, animal_in: AnimalUpdate, actor: ApiKey) -> Animal:
    """Changes an animal; the merged record is checked as a whole before it is stored."""
    ensure_zoo_scope(actor, animal.zoo_id)
    changes = animal_in.model_dump(exclude_unset=True)
    if "zoo_id" in changes:
        ensure_zoo_scope(actor, changes["zoo_id"])
    if "zoo_id" in changes and changes["zoo_id"] != animal.zoo_id and "enclosure_id" not in changes:
        # Moving to another zoo leaves the old zoo's enclosure behind.
        changes["enclosure_id"] = None
    state = animal.model_dump() | changes
    # Moving zoos by a PATCH keeps the gift rule; a transfer (below) is how a gifted animal
    # leaves its gift's zoo.
    named = "gift_id" in changes or "zoo_id" in changes
    _check_consistency(session, state, animal.id, gift_named=named)
    apply_update(animal, changes)
    session.add(animal)
    commit(session, conflict="The zoo already has an animal with that identifier.")
    return animal


def transfer(
    *, session: Session, animal: Animal, transfer_in: TransferCreate, actor: ApiKey
) -> tuple[Animal, list[AnimalMovement]]:
    """Moves an animal to another zoo (the actor's scope must hold both): same id, same
    history, its incidents staying with the zoo where they happened. Returns the animal and
    the two movements written (out of the old zoo, into the new)."""
    ensure_zoo_scope(actor, animal.zoo_id)
    ensure_zoo_scope(actor, transfer_in.to_zoo_id)
    if transfer_in.to_zoo_id == animal.zoo_id:
        message = f"The animal is already in zoo {animal.zoo_id}."
        raise Unprocessable(message, errors=[field_error(["body", "to_zoo_id"], message)])
    state = animal.model_dump() | {
        "zoo_id": transfer_in.to_zoo_id,
        "enclosure_id": transfer_in.enclosure_id,
        "gift_id": transfer_in.gift_id or animal.gift_id,
    }
    _check_consistency(session, state, animal.id, gift_named=transfer_in.gift_id is not None)
    apply_update(
        animal, {"zoo_id": transfer_in.to_zoo_id, "enclosure_id": transfer_in.enclosure_id}
    )
    session.add(animal)
    transfer_note(
        session,
        int(animal.id or 0),
        on=transfer_in.on,
        gift_id=transfer_in.gift_id,
        note=transfer_in.note,
    )
    commit(session, conflict="The zoo already has an animal with that identifier.")
    newest = movements(session=session, animal=animal, limit=2, newest_first=True)[0]
    return animal, sorted(newest, key=lambda m: m.id or 0)


def movements(
    *, session: Session, animal: Animal, limit: int, offset: int = 0, newest_first: bool = False
) -> tuple[Sequence[AnimalMovement], int]:
    """The animal's movements, oldest first."""
    stmt = select(AnimalMovement).where(AnimalMovement.animal_id == animal.id)
    order = col(AnimalMovement.id).desc() if newest_first else col(AnimalMovement.id)
    return paginate(session, stmt.order_by(order), limit=limit, offset=offset)


def delete(*, session: Session, animal: Animal, actor: ApiKey) -> None:
    """Deletes a mistaken animal record (animals that leave change status instead)."""
    ensure_zoo_scope(actor, animal.zoo_id)
    ensure_unused(
        session,
        [
            (select(WelfareIncident.id).where(WelfareIncident.animal_id == animal.id), "incidents"),
            (select(WelfareReport.id).where(WelfareReport.animal_id == animal.id), "reports"),
        ],
    )
    session.delete(animal)
    commit(session)
