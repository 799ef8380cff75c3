"""Enclosure rules: names unique within a zoo, no delete while animals live there."""

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum

from sqlmodel import Session, col, select

from app.models import Animal, ApiKey, Enclosure, WelfareIncident, WelfareReport, Zoo
from app.models.enclosure import EnclosureCreate, EnclosureUpdate
from app.models.enums import EnclosureClimate, EnclosureKind
from app.services import zoos as zoo_service
from app.services.access import ensure_zoo_scope
from app.services.common import (
    apply_update,
    commit,
    ensure_absent,
    ensure_unused,
    like_filter,
    ordering,
    paginate,
    require_ref,
)


class EnclosureSort(StrEnum):
    """`field` ascending, `-field` descending; ties by id."""

    id = "id"
    id_desc = "-id"
    name = "name"
    name_desc = "-name"
    area_m2 = "area_m2"
    area_m2_desc = "-area_m2"
    capacity = "capacity"
    capacity_desc = "-capacity"
    last_inspected_on = "last_inspected_on"
    last_inspected_on_desc = "-last_inspected_on"
    updated_at = "updated_at"
    updated_at_desc = "-updated_at"


ENCLOSURE_SORT_COLUMNS = {
    "name": Enclosure.name,
    "area_m2": Enclosure.area_m2,
    "capacity": Enclosure.capacity,
    "last_inspected_on": Enclosure.last_inspected_on,
    "updated_at": Enclosure.updated_at,
}


def list_enclosures(
    *,
    session: Session,
    zoo_ref: str | None = None,
    kind: EnclosureKind | None = None,
    climate: EnclosureClimate | None = None,
    q: str | None = None,
    updated_since: datetime | None = None,
    sort: EnclosureSort = EnclosureSort.id,
    limit: int,
    offset: int,
) -> tuple[Sequence[Enclosure], int]:
    """Lists enclosures, filtered by zoo (id or slug), kind, climate, change time and name."""
    stmt = select(Enclosure)
    if zoo_ref is not None:
        stmt = stmt.where(zoo_service.matches_ref(Enclosure.zoo_id, zoo_ref))
    if kind:
        stmt = stmt.where(Enclosure.kind == kind)
    if climate:
        stmt = stmt.where(Enclosure.climate == climate)
    if q:
        stmt = stmt.where(like_filter(Enclosure.name, q))
    if updated_since is not None:
        stmt = stmt.where(col(Enclosure.updated_at) >= updated_since)
    stmt = stmt.order_by(*ordering(sort, ENCLOSURE_SORT_COLUMNS, id_column=Enclosure.id))
    return paginate(session, stmt, limit=limit, offset=offset)


def _ensure_name_free(session: Session, zoo_id: int, name: str, own_id: int | None = None) -> None:
    stmt = select(Enclosure.id).where(Enclosure.zoo_id == zoo_id, Enclosure.name == name)
    if own_id is not None:
        stmt = stmt.where(Enclosure.id != own_id)
    ensure_absent(session, stmt, f"The zoo already has an enclosure named '{name}'.")


def create(*, session: Session, enclosure_in: EnclosureCreate, actor: ApiKey) -> Enclosure:
    """Adds an enclosure to an existing zoo under a name new to that zoo."""
    ensure_zoo_scope(actor, enclosure_in.zoo_id)
    require_ref(session, Zoo, enclosure_in.zoo_id, "zoo_id", "zoo")
    _ensure_name_free(session, enclosure_in.zoo_id, enclosure_in.name)
    enclosure = Enclosure.model_validate(enclosure_in)
    session.add(enclosure)
    commit(session, conflict=f"The zoo already has an enclosure named '{enclosure_in.name}'.")
    return enclosure


def update(
    *, session: Session, enclosure: Enclosure, enclosure_in: EnclosureUpdate, actor: ApiKey
) -> Enclosure:
    """Changes an enclosure; a new name must still be unique in its zoo."""
    ensure_zoo_scope(actor, enclosure.zoo_id)
    changes = enclosure_in.model_dump(exclude_unset=True)
    if "name" in changes:
        _ensure_name_free(session, enclosure.zoo_id, changes["name"], enclosure.id)
    apply_update(enclosure, changes)
    session.add(enclosure)
    commit(session, conflict="The zoo already has an enclosure with that name.")
    return enclosure


def delete(*, session: Session, enclosure: Enclosure, actor: ApiKey) -> None:
    """Deletes an enclosure no animal is assigned to, living or not."""
    ensure_zoo_scope(actor, enclosure.zoo_id)
    ensure_unused(
        session,
        [
            (select(Animal.id).where(Animal.enclosure_id == enclosure.id), "animals"),
            (
                select(WelfareIncident.id).where(WelfareIncident.enclosure_id == enclosure.id),
                "incidents",
            ),
            (select(WelfareReport.id).where(WelfareReport.enclosure_id == enclosure.id), "reports"),
        ],
    )
    session.delete(enclosure)
    commit(session)
