"""Animal routes."""

from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, Field

from app.api.deps import (
    AdminDep,
    AnimalDep,
    CursorPageDep,
    IdQuery,
    InspectorDep,
    PageDep,
    ReadSessionDep,
    UpdatedSinceQuery,
    WriteSessionDep,
    ZooRefQuery,
    cursor_page,
)
from app.api.guard import GuardedRoute
from app.core.problem_docs import WRITE_ERRORS, problem_responses
from app.models import AnimalMovement
from app.models.animal import AnimalCreate, AnimalPublic, AnimalUpdate
from app.models.enums import AnimalStatus, Origin
from app.models.movement import AnimalMovementPublic, TransferCreate
from app.models.page import CursorPage, Page
from app.services import animals as animal_service
from app.services.animals import AnimalSort

router = APIRouter(prefix="/animals", tags=["animals"], route_class=GuardedRoute)


@router.get(
    "",
    name="animals_list",
    response_model=CursorPage[AnimalPublic],
    summary="List animals",
    responses=problem_responses(422),
)
def list_animals(
    session: ReadSessionDep,
    page: CursorPageDep,
    zoo_id: ZooRefQuery = None,
    species_id: IdQuery = None,
    enclosure_id: IdQuery = None,
    status: AnimalStatus | None = None,
    origin: Origin | None = None,
    gift_id: IdQuery = None,
    q: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=100,
            description="Search name, identifier, and the species' common and scientific names.",
        ),
    ] = None,
    updated_since: UpdatedSinceQuery = None,
    sort: Annotated[
        AnimalSort,
        Query(
            description="`field` ascending or `-field` descending, missing values last; ties by id."
        ),
    ] = AnimalSort.id,
) -> Response:
    """Animals ordered by id unless sorted, filtered by zoo (id or slug), species, enclosure,
    status, origin, gift, change time or a search (`q=chimpanzee` finds every chimpanzee).
    Paged by `offset`, or by the cursor each page gives as `next`."""
    found = animal_service.list_animals(
        session=session,
        zoo_ref=zoo_id,
        species_id=species_id,
        enclosure_id=enclosure_id,
        status=status,
        origin=origin,
        gift_id=gift_id,
        q=q,
        updated_since=updated_since,
        sort=sort,
        limit=page.limit,
        offset=page.offset,
        after=page.after,
        count=page.count,
    )
    return cursor_page(AnimalPublic, found, page)


@router.post(
    "",
    name="animals_create",
    response_model=AnimalPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Register an animal",
    responses=problem_responses(409, 422, *WRITE_ERRORS),
)
def create_animal(
    session: WriteSessionDep, actor: InspectorDep, animal_in: AnimalCreate, response: Response
) -> AnimalPublic:
    """Registers an animal or a group record; its enclosure must be in its zoo, and a
    diplomatic gift needs its gift_id."""
    animal = animal_service.create(session=session, animal_in=animal_in, actor=actor)
    response.headers["Location"] = f"/api/v1/animals/{animal.id}"
    return AnimalPublic.model_validate(animal)


@router.get(
    "/{animal_id}",
    name="animals_get",
    response_model=AnimalPublic,
    summary="Get an animal",
    responses=problem_responses(404, 422),
)
def get_animal(animal: AnimalDep) -> AnimalPublic:
    """One animal."""
    return AnimalPublic.model_validate(animal)


@router.patch(
    "/{animal_id}",
    name="animals_update",
    response_model=AnimalPublic,
    summary="Update an animal",
    responses=problem_responses(404, 409, 422, *WRITE_ERRORS),
)
def update_animal(
    session: WriteSessionDep, actor: InspectorDep, animal: AnimalDep, animal_in: AnimalUpdate
) -> AnimalPublic:
    """Changes the fields given; animals that leave change status rather than being deleted."""
    updated = animal_service.update(
        session=session, animal=animal, animal_in=animal_in, actor=actor
    )
    return AnimalPublic.model_validate(updated)


@router.delete(
    "/{animal_id}",
    name="animals_delete",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a mistaken animal record",
    responses=problem_responses(404, 409, 422, *WRITE_ERRORS),
)
def delete_animal(session: WriteSessionDep, actor: AdminDep, animal: AnimalDep) -> None:
    """Removes a record entered by mistake; an animal that died or left changes status."""
    animal_service.delete(session=session, animal=animal, actor=actor)


class Transferred(BaseModel):
    animal: AnimalPublic
    movements: list[AnimalMovementPublic] = Field(description="Out of the old zoo, into the new.")


@router.post(
    "/{animal_id}/transfers",
    name="animals_transfer",
    response_model=Transferred,
    status_code=status.HTTP_201_CREATED,
    summary="Transfer an animal to another zoo",
    responses=problem_responses(403, 404, 409, 422, *WRITE_ERRORS),
)
def transfer_animal(
    session: WriteSessionDep, actor: InspectorDep, animal: AnimalDep, transfer_in: TransferCreate
) -> Transferred:
    """Moves the animal to `to_zoo_id` on the day `on`: it keeps its id and its history, and
    its incidents stay with the zoo where they happened. The key must cover both zoos (403
    otherwise). `enclosure_id` must be in the new zoo; a `gift_id` must be a gift to it."""
    moved, rows = animal_service.transfer(
        session=session, animal=animal, transfer_in=transfer_in, actor=actor
    )
    return Transferred(
        animal=AnimalPublic.model_validate(moved),
        movements=[AnimalMovementPublic.model_validate(m) for m in rows],
    )


@router.get(
    "/{animal_id}/movements",
    name="animals_movements",
    response_model=Page[AnimalMovementPublic],
    summary="Where an animal has been",
    responses=problem_responses(404, 422),
)
def list_movements(
    session: ReadSessionDep, animal: AnimalDep, page: PageDep
) -> Page[AnimalMovement]:
    """Every arrival, enclosure move, transfer (out of one zoo, into another) and status
    change, oldest first. Animals recorded before the history began have one arrival, from
    where they were then."""
    items, total = animal_service.movements(
        session=session, animal=animal, limit=page.limit, offset=page.offset
    )
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)
