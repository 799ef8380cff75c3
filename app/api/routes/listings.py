"""A species' dated listings: IUCN Red List categories and CITES appendices over time."""

from typing import Annotated

from fastapi import APIRouter, Body, Query, status

from app.api.deps import (
    AdminDep,
    IdPath,
    InspectorDep,
    PageDep,
    ReadSessionDep,
    SpeciesDep,
    WriteSessionDep,
)
from app.api.guard import GuardedRoute
from app.core.errors import field_error
from app.core.problem_docs import WRITE_ERRORS, problem_example, problem_responses
from app.models import SpeciesStatus
from app.models.listing import (
    CHIMPANZEE_SOURCE,
    ListingKind,
    SpeciesStatusCreate,
    SpeciesStatusPublic,
)
from app.models.page import Page
from app.services import listings as listing_service

router = APIRouter(prefix="/species", tags=["species"], route_class=GuardedRoute)

BODY_EXAMPLES = {
    "cites": {
        "summary": "The chimpanzee in CITES Appendix I",
        "value": {
            "kind": "cites",
            "value": "I",
            "valid_from": "1977-02-04",
            "source_url": CHIMPANZEE_SOURCE,
        },
    },
    "iucn_ended": {
        "summary": "An IUCN category that was in force for a year",
        "value": {
            "kind": "iucn",
            "value": "VU",
            "valid_from": "2024-01-01",
            "valid_to": "2024-12-31",
        },
    },
}
OVERLAP = "overlaps cites listing 3 (II, 1975-07-01 to still in force)"
EXAMPLES = {
    422: {
        "overlap": problem_example(
            422,
            "validation-error",
            f"The listing {OVERLAP}; a species has one cites listing on any day.",
            "/api/v1/species/1/statuses",
            errors=[field_error(["body", "valid_from"], OVERLAP)],
        )
    }
}


@router.get(
    "/{species_id}/statuses",
    name="species_statuses_list",
    response_model=Page[SpeciesStatusPublic],
    summary="A species' dated listings",
    responses=problem_responses(404, 422),
)
def list_statuses(
    session: ReadSessionDep,
    species: SpeciesDep,
    page: PageDep,
    kind: Annotated[ListingKind | None, Query(description="Only IUCN or only CITES.")] = None,
) -> Page[SpeciesStatus]:
    """Its IUCN categories and CITES appendices with the days each was in force, oldest first.
    `valid_to` is the last day in force; null: still in force. The species' `iucn_category`
    and `cites_appendix` are the listings in force today (or, with no listing of the kind,
    what was recorded)."""
    items, total = listing_service.list_statuses(
        session=session, species=species, kind=kind, limit=page.limit, offset=page.offset
    )
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.post(
    "/{species_id}/statuses",
    name="species_statuses_create",
    response_model=SpeciesStatusPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Add a dated listing",
    responses=problem_responses(404, 422, *WRITE_ERRORS, examples=EXAMPLES),
)
def create_status(
    session: WriteSessionDep,
    actor: InspectorDep,
    species: SpeciesDep,
    listing_in: Annotated[SpeciesStatusCreate, Body(openapi_examples=BODY_EXAMPLES)],
) -> SpeciesStatus:
    """Adds an IUCN category (`kind` iucn: EX ... NE) or a CITES appendix (`kind` cites: I, II,
    III) from `valid_from` to `valid_to` (included; omitted: still in force). It may not
    overlap another listing of its kind for the species (422 names that one). The species'
    current column of that kind becomes the listing in force today, or null if none is."""
    return listing_service.create(
        session=session, species=species, listing_in=listing_in, actor=actor
    )


@router.delete(
    "/{species_id}/statuses/{status_id}",
    name="species_statuses_delete",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a mistaken listing",
    responses=problem_responses(404, 422, *WRITE_ERRORS),
)
def delete_status(
    session: WriteSessionDep, actor: AdminDep, species: SpeciesDep, status_id: IdPath
) -> None:
    """Removes a listing entered by mistake; the species' current columns follow the listings
    left (with none of its kind left, that column stays as it was)."""
    listing_service.delete(session=session, species=species, status_id=status_id, actor=actor)
