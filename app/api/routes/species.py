"""Species routes."""

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from app.api.deps import (
    AdminDep,
    InspectorDep,
    PageDep,
    ReadSessionDep,
    SpeciesDep,
    UpdatedSinceQuery,
    WriteSessionDep,
)
from app.api.guard import GuardedRoute
from app.core.problem_docs import WRITE_ERRORS, problem_responses
from app.models import Species
from app.models.enums import CitesAppendix, IucnCategory, TaxonClass
from app.models.page import Page
from app.models.species import SpeciesCreate, SpeciesPublic, SpeciesUpdate
from app.services import species as species_service
from app.services.species import SpeciesSort

router = APIRouter(prefix="/species", tags=["species"], route_class=GuardedRoute)


@router.get(
    "",
    name="species_list",
    response_model=Page[SpeciesPublic],
    summary="List species",
    responses=problem_responses(422),
)
def list_species(
    session: ReadSessionDep,
    page: PageDep,
    taxon_class: TaxonClass | None = None,
    iucn_category: IucnCategory | None = None,
    cites_appendix: CitesAppendix | None = None,
    is_domestic: bool | None = None,
    q: Annotated[
        str | None, Query(min_length=1, max_length=100, description="Search both names.")
    ] = None,
    updated_since: UpdatedSinceQuery = None,
    sort: Annotated[
        SpeciesSort, Query(description="`field` ascending or `-field` descending; ties by id.")
    ] = SpeciesSort.id,
) -> Page[Species]:
    """Species ordered by id unless sorted, filtered by class, IUCN category, CITES appendix,
    change time or a search of both names."""
    items, total = species_service.list_species(
        session=session,
        taxon_class=taxon_class,
        iucn_category=iucn_category,
        cites_appendix=cites_appendix,
        is_domestic=is_domestic,
        q=q,
        updated_since=updated_since,
        sort=sort,
        limit=page.limit,
        offset=page.offset,
    )
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.post(
    "",
    name="species_create",
    response_model=SpeciesPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Add a species",
    responses=problem_responses(409, 422, *WRITE_ERRORS),
)
def create_species(
    session: WriteSessionDep, actor: InspectorDep, species_in: SpeciesCreate, response: Response
) -> SpeciesPublic:
    """Adds a species; its scientific name must be new to the registry."""
    species = species_service.create(session=session, species_in=species_in, actor=actor)
    response.headers["Location"] = f"/api/v1/species/{species.id}"
    return SpeciesPublic.model_validate(species)


@router.get(
    "/{species_id}",
    name="species_get",
    response_model=SpeciesPublic,
    summary="Get a species",
    responses=problem_responses(404, 422),
)
def get_species(species: SpeciesDep) -> SpeciesPublic:
    """One species."""
    return SpeciesPublic.model_validate(species)


@router.patch(
    "/{species_id}",
    name="species_update",
    response_model=SpeciesPublic,
    summary="Update a species",
    responses=problem_responses(404, 409, 422, *WRITE_ERRORS),
)
def update_species(
    session: WriteSessionDep, actor: InspectorDep, species: SpeciesDep, species_in: SpeciesUpdate
) -> SpeciesPublic:
    """Changes the fields given; the others stay as they are."""
    updated = species_service.update(
        session=session, species=species, species_in=species_in, actor=actor
    )
    return SpeciesPublic.model_validate(updated)


@router.delete(
    "/{species_id}",
    name="species_delete",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a species",
    responses=problem_responses(404, 409, 422, *WRITE_ERRORS),
)
def delete_species(session: WriteSessionDep, actor: AdminDep, species: SpeciesDep) -> None:
    """Deletes a species no animal belongs to; otherwise 409."""
    species_service.delete(session=session, species=species, actor=actor)
