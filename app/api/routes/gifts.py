"""Gift routes, including the animals a gift brought."""

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from app.api.deps import (
    AdminDep,
    DateQuery,
    GiftDep,
    InspectorDep,
    PageDep,
    ReadSessionDep,
    UpdatedSinceQuery,
    WriteSessionDep,
    ZooRefQuery,
)
from app.api.guard import GuardedRoute
from app.core.problem_docs import WRITE_ERRORS, problem_responses
from app.models import Animal, Gift
from app.models.animal import AnimalPublic
from app.models.gift import GiftCreate, GiftPublic, GiftUpdate
from app.models.page import Page
from app.services import gifts as gift_service
from app.services.animals import AnimalSort
from app.services.gifts import GiftSort

router = APIRouter(prefix="/gifts", tags=["gifts"], route_class=GuardedRoute)

CountryQuery = Annotated[str | None, Query(min_length=2, max_length=2)]


@router.get(
    "",
    name="gifts_list",
    response_model=Page[GiftPublic],
    summary="List gifts",
    responses=problem_responses(422),
)
def list_gifts(
    session: ReadSessionDep,
    page: PageDep,
    donor_country: CountryQuery = None,
    recipient_country: CountryQuery = None,
    recipient_zoo_id: ZooRefQuery = None,
    delivered_from: Annotated[DateQuery, Query(description="ISO date, e.g. 2024-01-01.")] = None,
    delivered_until: Annotated[DateQuery, Query(description="ISO date, e.g. 2024-12-31.")] = None,
    q: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=100,
            description="Search title, donor, recipient, occasion.",
        ),
    ] = None,
    updated_since: UpdatedSinceQuery = None,
    sort: Annotated[
        GiftSort,
        Query(
            description="`field` ascending or `-field` descending, undated gifts last either "
            "way; ties by id."
        ),
    ] = GiftSort.delivered_on_desc,
) -> Page[Gift]:
    """Gifts newest delivery first unless sorted, filtered by donor or recipient country,
    recipient zoo (id or slug), delivery dates, change time or a search."""
    items, total = gift_service.list_gifts(
        session=session,
        donor_country=donor_country,
        recipient_country=recipient_country,
        recipient_zoo_ref=recipient_zoo_id,
        delivered_from=delivered_from,
        delivered_until=delivered_until,
        q=q,
        updated_since=updated_since,
        sort=sort,
        limit=page.limit,
        offset=page.offset,
    )
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.post(
    "",
    name="gifts_create",
    response_model=GiftPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Record a gift",
    responses=problem_responses(422, *WRITE_ERRORS),
)
def create_gift(
    session: WriteSessionDep, actor: InspectorDep, gift_in: GiftCreate, response: Response
) -> GiftPublic:
    """Records an origin transfer such as a diplomatic gift of animals."""
    gift = gift_service.create(session=session, gift_in=gift_in, actor=actor)
    response.headers["Location"] = f"/api/v1/gifts/{gift.id}"
    return GiftPublic.model_validate(gift)


@router.get(
    "/{gift_id}",
    name="gifts_get",
    response_model=GiftPublic,
    summary="Get a gift",
    responses=problem_responses(404, 422),
)
def get_gift(gift: GiftDep) -> GiftPublic:
    """One gift."""
    return GiftPublic.model_validate(gift)


@router.get(
    "/{gift_id}/animals",
    name="gift_animals_list",
    response_model=Page[AnimalPublic],
    summary="List the animals a gift brought",
    responses=problem_responses(404, 422),
)
def list_gift_animals(
    session: ReadSessionDep,
    gift: GiftDep,
    page: PageDep,
    sort: Annotated[
        AnimalSort,
        Query(
            description="`field` ascending or `-field` descending, missing values last; ties by id."
        ),
    ] = AnimalSort.id,
) -> Page[Animal]:
    """The animals whose origin is this gift, ordered by id unless sorted."""
    items, total = gift_service.list_animals(
        session=session, gift=gift, sort=sort, limit=page.limit, offset=page.offset
    )
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.patch(
    "/{gift_id}",
    name="gifts_update",
    response_model=GiftPublic,
    summary="Update a gift",
    responses=problem_responses(404, 422, *WRITE_ERRORS),
)
def update_gift(
    session: WriteSessionDep, actor: InspectorDep, gift: GiftDep, gift_in: GiftUpdate
) -> GiftPublic:
    """Changes the fields given; the others stay as they are."""
    return GiftPublic.model_validate(
        gift_service.update(session=session, gift=gift, gift_in=gift_in, actor=actor)
    )


@router.delete(
    "/{gift_id}",
    name="gifts_delete",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a gift",
    responses=problem_responses(404, 409, 422, *WRITE_ERRORS),
)
def delete_gift(session: WriteSessionDep, actor: AdminDep, gift: GiftDep) -> None:
    """Deletes a gift no animal's origin refers to; otherwise 409."""
    gift_service.delete(session=session, gift=gift, actor=actor)
