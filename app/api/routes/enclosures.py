"""Enclosure routes."""

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from app.api.deps import (
    AdminDep,
    EnclosureDep,
    InspectorDep,
    PageDep,
    ReadSessionDep,
    UpdatedSinceQuery,
    WriteSessionDep,
    ZooRefQuery,
)
from app.api.guard import GuardedRoute
from app.core.problem_docs import WRITE_ERRORS, problem_responses
from app.models import Enclosure
from app.models.enclosure import EnclosureCreate, EnclosurePublic, EnclosureUpdate
from app.models.enums import EnclosureClimate, EnclosureKind
from app.models.page import Page
from app.services import enclosures as enclosure_service
from app.services.enclosures import EnclosureSort

router = APIRouter(prefix="/enclosures", tags=["enclosures"], route_class=GuardedRoute)


@router.get(
    "",
    name="enclosures_list",
    response_model=Page[EnclosurePublic],
    summary="List enclosures",
    responses=problem_responses(422),
)
def list_enclosures(
    session: ReadSessionDep,
    page: PageDep,
    zoo_id: ZooRefQuery = None,
    kind: EnclosureKind | None = None,
    climate: EnclosureClimate | None = None,
    q: Annotated[
        str | None, Query(min_length=1, max_length=100, description="Search the name.")
    ] = None,
    updated_since: UpdatedSinceQuery = None,
    sort: Annotated[
        EnclosureSort,
        Query(description="`field` ascending or `-field` descending; ties by id."),
    ] = EnclosureSort.id,
) -> Page[Enclosure]:
    """Enclosures ordered by id unless sorted, filtered by zoo (id or slug), kind, climate,
    change time or a name search."""
    items, total = enclosure_service.list_enclosures(
        session=session,
        zoo_ref=zoo_id,
        kind=kind,
        climate=climate,
        q=q,
        updated_since=updated_since,
        sort=sort,
        limit=page.limit,
        offset=page.offset,
    )
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.post(
    "",
    name="enclosures_create",
    response_model=EnclosurePublic,
    status_code=status.HTTP_201_CREATED,
    summary="Add an enclosure",
    responses=problem_responses(409, 422, *WRITE_ERRORS),
)
def create_enclosure(
    session: WriteSessionDep, actor: InspectorDep, enclosure_in: EnclosureCreate, response: Response
) -> EnclosurePublic:
    """Adds an enclosure to a zoo; its name must be new within that zoo."""
    enclosure = enclosure_service.create(session=session, enclosure_in=enclosure_in, actor=actor)
    response.headers["Location"] = f"/api/v1/enclosures/{enclosure.id}"
    return EnclosurePublic.model_validate(enclosure)


@router.get(
    "/{enclosure_id}",
    name="enclosures_get",
    response_model=EnclosurePublic,
    summary="Get an enclosure",
    responses=problem_responses(404, 422),
)
def get_enclosure(enclosure: EnclosureDep) -> EnclosurePublic:
    """One enclosure."""
    return EnclosurePublic.model_validate(enclosure)


@router.patch(
    "/{enclosure_id}",
    name="enclosures_update",
    response_model=EnclosurePublic,
    summary="Update an enclosure",
    responses=problem_responses(404, 409, 422, *WRITE_ERRORS),
)
def update_enclosure(
    session: WriteSessionDep,
    actor: InspectorDep,
    enclosure: EnclosureDep,
    enclosure_in: EnclosureUpdate,
) -> EnclosurePublic:
    """Changes the fields given; an enclosure stays in its zoo."""
    updated = enclosure_service.update(
        session=session, enclosure=enclosure, enclosure_in=enclosure_in, actor=actor
    )
    return EnclosurePublic.model_validate(updated)


@router.delete(
    "/{enclosure_id}",
    name="enclosures_delete",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete an enclosure",
    responses=problem_responses(404, 409, 422, *WRITE_ERRORS),
)
def delete_enclosure(session: WriteSessionDep, actor: AdminDep, enclosure: EnclosureDep) -> None:
    """Deletes an enclosure no animal is assigned to; otherwise 409."""
    enclosure_service.delete(session=session, enclosure=enclosure, actor=actor)
