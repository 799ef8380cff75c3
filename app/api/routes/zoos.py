"""Zoo routes; a zoo in a path is its id or its slug."""

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from app.api.deps import (
    AdminDep,
    PageDep,
    ReadSessionDep,
    UpdatedSinceQuery,
    WriteSessionDep,
    ZooDep,
)
from app.api.guard import GuardedRoute
from app.core.problem_docs import WRITE_ERRORS, problem_responses
from app.models import Zoo
from app.models.page import Page
from app.models.zoo import ZooCreate, ZooPublic, ZooUpdate
from app.services import zoos as zoo_service
from app.services.zoos import ZooSort

router = APIRouter(prefix="/zoos", tags=["zoos"], route_class=GuardedRoute)


@router.get(
    "",
    name="zoos_list",
    response_model=Page[ZooPublic],
    summary="List zoos",
    responses=problem_responses(422),
)
def list_zoos(
    session: ReadSessionDep,
    page: PageDep,
    country_code: Annotated[
        str | None, Query(min_length=2, max_length=2, description="ISO 3166-1 alpha-2 code.")
    ] = None,
    q: Annotated[
        str | None, Query(min_length=1, max_length=100, description="Search name, city, slug.")
    ] = None,
    updated_since: UpdatedSinceQuery = None,
    sort: Annotated[
        ZooSort, Query(description="`field` ascending or `-field` descending; ties by id.")
    ] = ZooSort.id,
) -> Page[Zoo]:
    """Zoos ordered by id unless sorted, filtered by country, change time or a text search
    (case-insensitive, anywhere in the name, city or slug)."""
    items, total = zoo_service.list_zoos(
        session=session,
        country_code=country_code,
        q=q,
        updated_since=updated_since,
        sort=sort,
        limit=page.limit,
        offset=page.offset,
    )
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.post(
    "",
    name="zoos_create",
    response_model=ZooPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Register a zoo",
    responses=problem_responses(409, 422, *WRITE_ERRORS),
)
def create_zoo(
    session: WriteSessionDep, actor: AdminDep, zoo_in: ZooCreate, response: Response
) -> ZooPublic:
    """Registers a zoo; its slug must be unique and its country an ISO 3166-1 code."""
    zoo = zoo_service.create(session=session, zoo_in=zoo_in, actor=actor)
    response.headers["Location"] = f"/api/v1/zoos/{zoo.id}"
    return ZooPublic.model_validate(zoo)


@router.get(
    "/{zoo}",
    name="zoos_get",
    response_model=ZooPublic,
    summary="Get a zoo",
    responses=problem_responses(404, 422),
)
def get_zoo(zoo: ZooDep) -> ZooPublic:
    """One zoo, by id or slug."""
    return ZooPublic.model_validate(zoo)


@router.patch(
    "/{zoo}",
    name="zoos_update",
    response_model=ZooPublic,
    summary="Update a zoo",
    responses=problem_responses(404, 409, 422, *WRITE_ERRORS),
)
def update_zoo(
    session: WriteSessionDep, actor: AdminDep, zoo: ZooDep, zoo_in: ZooUpdate
) -> ZooPublic:
    """Changes the fields given; the others stay as they are."""
    return ZooPublic.model_validate(
        zoo_service.update(session=session, zoo=zoo, zoo_in=zoo_in, actor=actor)
    )


@router.delete(
    "/{zoo}",
    name="zoos_delete",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a zoo",
    responses=problem_responses(404, 409, 422, *WRITE_ERRORS),
)
def delete_zoo(session: WriteSessionDep, actor: AdminDep, zoo: ZooDep) -> None:
    """Deletes a zoo with no animals, enclosures or gifts; otherwise 409."""
    zoo_service.delete(session=session, zoo=zoo, actor=actor)
