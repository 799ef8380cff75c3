"""Species rules: unique scientific names, domestic forms unassessed, no delete while in use."""

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum

from sqlmodel import Session, col, or_, select

from app.core.errors import Unprocessable, field_error
from app.models import Animal, ApiKey, Species
from app.models.enums import CitesAppendix, IucnCategory, TaxonClass
from app.models.species import SpeciesCreate, SpeciesUpdate, check_domestic
from app.services.access import ensure_zoo_scope
from app.services.common import (
    apply_update,
    commit,
    ensure_absent,
    ensure_unused,
    like_filter,
    ordering,
    paginate,
)


class SpeciesSort(StrEnum):
    """`field` ascending, `-field` descending; ties by id."""

    id = "id"
    id_desc = "-id"
    scientific_name = "scientific_name"
    scientific_name_desc = "-scientific_name"
    common_name = "common_name"
    common_name_desc = "-common_name"
    min_group_size = "min_group_size"
    min_group_size_desc = "-min_group_size"
    min_area_m2 = "min_area_m2"
    min_area_m2_desc = "-min_area_m2"
    updated_at = "updated_at"
    updated_at_desc = "-updated_at"


SPECIES_SORT_COLUMNS = {
    "scientific_name": Species.scientific_name,
    "common_name": Species.common_name,
    "min_group_size": Species.min_group_size,
    "min_area_m2": Species.min_area_m2,
    "updated_at": Species.updated_at,
}


def list_species(
    *,
    session: Session,
    taxon_class: TaxonClass | None = None,
    iucn_category: IucnCategory | None = None,
    cites_appendix: CitesAppendix | None = None,
    is_domestic: bool | None = None,
    q: str | None = None,
    updated_since: datetime | None = None,
    sort: SpeciesSort = SpeciesSort.id,
    limit: int,
    offset: int,
) -> tuple[Sequence[Species], int]:
    """Lists species, filtered by class, status, change time and a search over both names."""
    stmt = select(Species)
    if taxon_class:
        stmt = stmt.where(Species.taxon_class == taxon_class)
    if iucn_category:
        stmt = stmt.where(Species.iucn_category == iucn_category)
    if cites_appendix:
        stmt = stmt.where(Species.cites_appendix == cites_appendix)
    if is_domestic is not None:
        stmt = stmt.where(Species.is_domestic == is_domestic)
    if q:
        stmt = stmt.where(
            or_(like_filter(Species.scientific_name, q), like_filter(Species.common_name, q))
        )
    if updated_since is not None:
        stmt = stmt.where(col(Species.updated_at) >= updated_since)
    stmt = stmt.order_by(*ordering(sort, SPECIES_SORT_COLUMNS, id_column=Species.id))
    return paginate(session, stmt, limit=limit, offset=offset)


def _ensure_name_free(session: Session, name: str, own_id: int | None = None) -> None:
    stmt = select(Species.id).where(Species.scientific_name == name)
    if own_id is not None:
        stmt = stmt.where(Species.id != own_id)
    ensure_absent(session, stmt, f"A species named '{name}' already exists.")


def create(*, session: Session, species_in: SpeciesCreate, actor: ApiKey) -> Species:
    """Adds a species under a scientific name not yet registered."""
    # Species belong to no zoo, so only keys not limited to zoos may change them.
    ensure_zoo_scope(actor, None)
    _ensure_name_free(session, species_in.scientific_name)
    species = Species.model_validate(species_in)
    session.add(species)
    commit(session, conflict=f"A species named '{species_in.scientific_name}' already exists.")
    return species


def update(
    *, session: Session, species: Species, species_in: SpeciesUpdate, actor: ApiKey
) -> Species:
    """Changes a species; the merged record must still be consistent."""
    ensure_zoo_scope(actor, None)
    changes = species_in.model_dump(exclude_unset=True)
    if "scientific_name" in changes:
        _ensure_name_free(session, changes["scientific_name"], species.id)
    try:
        check_domestic(
            changes.get("is_domestic", species.is_domestic),
            changes.get("iucn_category", species.iucn_category),
        )
    except ValueError as exc:
        raise Unprocessable(
            str(exc), errors=[field_error(["body", "iucn_category"], str(exc))]
        ) from exc
    apply_update(species, changes)
    session.add(species)
    commit(session, conflict="Another species already has that scientific name.")
    return species


def delete(*, session: Session, species: Species, actor: ApiKey) -> None:
    """Deletes a species no animal belongs to."""
    ensure_zoo_scope(actor, None)
    ensure_unused(session, [(select(Animal.id).where(Animal.species_id == species.id), "animals")])
    session.delete(species)
    commit(session)
