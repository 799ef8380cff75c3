"""Finding 11: a zoo-scoped inspector attached its animals to another zoo's gift, after which
that gift could not be deleted. An animal may name a gift only when the gift went to the
animal's zoo or names no recipient zoo: on create and on update (a move to another zoo
included); and a gift cannot be given a recipient zoo its animals are not in."""

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.core.errors import Unprocessable
from app.models import Animal
from app.models.animal import AnimalCreate, AnimalUpdate
from app.models.api_key import Role
from app.models.enums import Origin
from app.services import animals as animal_service
from tests.api.test_access import bearer, key_row
from tests.api.test_errors import assert_problem
from tests.factories import make_animal, make_gift, make_key, make_species, make_zoo

API = "/api/v1"


class World:
    def __init__(self, session: Session) -> None:
        self.ours, self.theirs = make_zoo(session), make_zoo(session)
        self.species = make_species(session)
        self.their_gift = make_gift(session, recipient_zoo_id=self.theirs.id)
        self.our_gift = make_gift(session, recipient_zoo_id=self.ours.id)
        self.open_gift = make_gift(session)  # no recipient zoo recorded
        self.token = make_key(session, Role.inspector, zoos=[self.ours.slug])
        self.headers = bearer(self.token)

    def body(self, gift_id: int | None, **more: Any) -> dict[str, Any]:
        return {
            "zoo_id": self.ours.id,
            "species_id": self.species.id,
            "origin": "diplomatic_gift",
            "gift_id": gift_id,
        } | more


@pytest.fixture
def world(session: Session) -> World:
    return World(session)


def assert_gift_refused(response: Any) -> None:
    assert_problem(response, 422)
    locations = [e["location"] for e in response.json()["errors"]]
    assert locations == [["body", "gift_id"]]
    assert "went to zoo" in response.json()["detail"]


def test_scoped_inspector_cannot_attach_an_animal_to_another_zoos_gift(
    anon_client: TestClient, client: TestClient, session: Session, world: World
) -> None:
    response = anon_client.post(
        f"{API}/animals", json=world.body(world.their_gift.id), headers=world.headers
    )
    assert_gift_refused(response)
    # So the other zoo's admin can still delete its gift.
    assert client.delete(f"{API}/gifts/{world.their_gift.id}").status_code == 204


def test_animals_may_name_their_zoos_gift_or_one_without_a_recipient(
    anon_client: TestClient, world: World
) -> None:
    for gift in (world.our_gift, world.open_gift):
        response = anon_client.post(
            f"{API}/animals", json=world.body(gift.id), headers=world.headers
        )
        assert response.status_code == 201, response.text


def test_an_update_cannot_point_an_animal_at_another_zoos_gift(
    anon_client: TestClient, session: Session, world: World
) -> None:
    animal = make_animal(session, world.ours, world.species)
    response = anon_client.patch(
        f"{API}/animals/{animal.id}",
        json={"origin": "diplomatic_gift", "gift_id": world.their_gift.id},
        headers=world.headers,
    )
    assert_gift_refused(response)
    session.refresh(animal)
    assert animal.gift_id is None


def test_moving_an_animal_away_from_its_gifts_zoo_is_refused(
    client: TestClient, session: Session, world: World
) -> None:
    animal = make_animal(
        session, world.ours, world.species, origin=Origin.diplomatic_gift, gift_id=world.our_gift.id
    )
    response = client.patch(f"{API}/animals/{animal.id}", json={"zoo_id": world.theirs.id})
    assert_gift_refused(response)
    session.refresh(animal)
    assert animal.zoo_id == world.ours.id
    # Moving along with a gift without a recipient zoo is fine.
    other = make_animal(
        session,
        world.ours,
        world.species,
        origin=Origin.diplomatic_gift,
        gift_id=world.open_gift.id,
    )
    moved = client.patch(f"{API}/animals/{other.id}", json={"zoo_id": world.theirs.id})
    assert moved.status_code == 200, moved.text


def test_a_gift_cannot_be_given_to_a_zoo_its_animals_are_not_in(
    client: TestClient, session: Session, world: World
) -> None:
    make_animal(
        session,
        world.ours,
        world.species,
        origin=Origin.diplomatic_gift,
        gift_id=world.open_gift.id,
    )
    response = client.patch(
        f"{API}/gifts/{world.open_gift.id}", json={"recipient_zoo_id": world.theirs.id}
    )
    assert_problem(response, 422)
    assert [e["location"] for e in response.json()["errors"]] == [["body", "recipient_zoo_id"]]
    ours = client.patch(
        f"{API}/gifts/{world.open_gift.id}", json={"recipient_zoo_id": world.ours.id}
    )
    assert ours.status_code == 200, ours.text


def test_the_service_rule(session: Session, world: World) -> None:
    actor = key_row(session, world.token)
    with pytest.raises(Unprocessable):
        animal_service.create(
            session=session,
            animal_in=AnimalCreate.model_validate(world.body(world.their_gift.id)),
            actor=actor,
        )
    animal = animal_service.create(
        session=session,
        animal_in=AnimalCreate.model_validate(world.body(world.our_gift.id)),
        actor=actor,
    )
    with pytest.raises(Unprocessable):
        animal_service.update(
            session=session,
            animal=animal,
            animal_in=AnimalUpdate.model_validate({"gift_id": world.their_gift.id}),
            actor=actor,
        )
    assert session.get(Animal, animal.id).gift_id == world.our_gift.id  # type: ignore[union-attr]
