"""/animals: CRUD, and zoo, species, enclosure and gift that fit together."""

from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlmodel import Session

from app.models import Species, Zoo
from app.models.enums import Origin
from tests.api.test_errors import assert_problem
from tests.factories import make_animal, make_enclosure, make_gift, make_species, make_zoo

ANIMALS = "/api/v1/animals"


def ids(response: Response) -> list[int]:
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def dallae(zoo: Zoo, species: Species, **overrides: Any) -> dict[str, Any]:
    return {
        "zoo_id": zoo.id,
        "species_id": species.id,
        "enclosure_id": None,
        "gift_id": None,
        "name": "Dallae",
        "identifier": "KCZ-CHIMP-1",
        "sex": "female",
        "count": 1,
        "birth_date": "1997-01-01",
        "origin": "unknown",
        "arrived_on": None,
        "status": "alive",
        "notes": "Trained to smoke about a pack of cigarettes a day.",
    } | overrides


def test_create_animal(client: TestClient, session: Session) -> None:
    zoo, species = make_zoo(session), make_species(session)
    enclosure = make_enclosure(session, zoo)
    payload = dallae(zoo, species, enclosure_id=enclosure.id)
    response = client.post(ANIMALS, json=payload)
    assert response.status_code == 201
    body = response.json()
    assert body.items() >= payload.items()
    assert response.headers["location"] == f"{ANIMALS}/{body['id']}"
    assert client.get(response.headers["location"]).json() == body


def test_create_group_record_from_a_gift(client: TestClient, session: Session) -> None:
    zoo, species, gift = make_zoo(session), make_species(session), make_gift(session)
    payload = {
        "zoo_id": zoo.id,
        "species_id": species.id,
        "sex": "mixed",
        "count": 40,
        "origin": "diplomatic_gift",
        "gift_id": gift.id,
        "arrived_on": "2024-11-20",
    }
    response = client.post(ANIMALS, json=payload)
    assert response.status_code == 201
    assert response.json().items() >= payload.items()
    assert response.json()["identifier"] is None


def test_create_animal_defaults(client: TestClient, session: Session) -> None:
    zoo, species = make_zoo(session), make_species(session)
    body = client.post(ANIMALS, json={"zoo_id": zoo.id, "species_id": species.id}).json()
    assert (body["sex"], body["count"], body["origin"], body["status"]) == (
        "unknown",
        1,
        "unknown",
        "alive",
    )


def test_create_animal_in_enclosure_of_another_zoo_is_422(
    client: TestClient, session: Session
) -> None:
    zoo, species = make_zoo(session), make_species(session)
    elsewhere = make_enclosure(session, make_zoo(session))
    response = client.post(ANIMALS, json=dallae(zoo, species, enclosure_id=elsewhere.id))
    assert_problem(response, 422, ["body", "enclosure_id"])


def test_diplomatic_gift_without_gift_id_is_422(client: TestClient, session: Session) -> None:
    zoo, species = make_zoo(session), make_species(session)
    response = client.post(ANIMALS, json=dallae(zoo, species, origin="diplomatic_gift"))
    assert_problem(response, 422, ["body", "gift_id"])


@pytest.mark.parametrize("field", ["zoo_id", "species_id", "enclosure_id", "gift_id"])
def test_create_animal_referring_to_missing_row_is_422(
    client: TestClient, session: Session, field: str
) -> None:
    zoo, species = make_zoo(session), make_species(session)
    response = client.post(ANIMALS, json=dallae(zoo, species, **{field: 2147483647}))
    assert_problem(response, 422, ["body", field])


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("count", 0),
        ("sex", "hermaphrodite"),
        ("origin", "stolen"),
        ("status", "missing"),
        ("birth_date", "2999-01-01"),
        ("identifier", ""),
        ("smokes", True),
    ],
)
def test_create_animal_with_bad_field_is_422(
    client: TestClient, session: Session, field: str, value: object
) -> None:
    zoo, species = make_zoo(session), make_species(session)
    response = client.post(ANIMALS, json=dallae(zoo, species, **{field: value}))
    assert_problem(response, 422, ["body", field])


def test_duplicate_identifier_in_zoo_is_409(client: TestClient, session: Session) -> None:
    zoo, species = make_zoo(session), make_species(session)
    make_animal(session, zoo, species, identifier="KCZ-CHIMP-1")
    assert_problem(client.post(ANIMALS, json=dallae(zoo, species)), 409)
    assert client.get(ANIMALS, params={"zoo_id": zoo.id}).json()["total"] == 1


def test_same_identifier_in_another_zoo_is_fine(client: TestClient, session: Session) -> None:
    species = make_species(session)
    make_animal(session, make_zoo(session), species, identifier="KCZ-CHIMP-1")
    response = client.post(ANIMALS, json=dallae(make_zoo(session), species))
    assert response.status_code == 201


def test_animals_without_identifier_do_not_clash(client: TestClient, session: Session) -> None:
    zoo, species = make_zoo(session), make_species(session)
    for _ in range(2):
        response = client.post(ANIMALS, json=dallae(zoo, species, identifier=None))
        assert response.status_code == 201


def test_get_animal(client: TestClient, session: Session) -> None:
    animal = make_animal(session, name="Dallae")
    response = client.get(f"{ANIMALS}/{animal.id}")
    assert response.status_code == 200
    assert response.json()["name"] == "Dallae"
    assert response.json()["species_id"] == animal.species_id


def test_list_animals_envelope(client: TestClient, session: Session) -> None:
    animal = make_animal(session)
    assert client.get(ANIMALS).json() == {
        "items": [client.get(f"{ANIMALS}/{animal.id}").json()],
        "total": 1,
        "limit": 50,
        "offset": 0,
        "next": None,
    }


def test_list_animals_filters(client: TestClient, session: Session) -> None:
    zoo, other_zoo = make_zoo(session), make_zoo(session)
    chimp, lion = make_species(session), make_species(session)
    house = make_enclosure(session, zoo)
    gift = make_gift(session)
    dallae_row = make_animal(
        session, zoo, chimp, name="Dallae", identifier="C-1", enclosure_id=house.id
    )
    gifted = make_animal(session, zoo, lion, origin="diplomatic_gift", gift_id=gift.id)
    gone = make_animal(session, other_zoo, lion, status="deceased", origin="captive_born")

    def filtered(**params: Any) -> list[int]:
        return ids(client.get(ANIMALS, params=params))

    assert filtered(zoo_id=zoo.id) == [dallae_row.id, gifted.id]
    assert filtered(species_id=lion.id) == [gifted.id, gone.id]
    assert filtered(enclosure_id=house.id) == [dallae_row.id]
    assert filtered(status="deceased") == [gone.id]
    assert filtered(origin="diplomatic_gift") == [gifted.id]
    assert filtered(gift_id=gift.id) == [gifted.id]
    assert filtered(q="dall") == [dallae_row.id]
    assert filtered(q="c-1") == [dallae_row.id]
    assert filtered(zoo_id=zoo.id, species_id=lion.id, status="alive") == [gifted.id]
    assert filtered(zoo_id=other_zoo.id, origin="diplomatic_gift") == []


def test_list_animals_paginates(client: TestClient, session: Session) -> None:
    zoo = make_zoo(session)
    made = [make_animal(session, zoo) for _ in range(3)]
    page = client.get(ANIMALS, params={"zoo_id": zoo.id, "limit": 2, "offset": 1}).json()
    assert [item["id"] for item in page["items"]] == [made[1].id, made[2].id]
    assert (page["total"], page["limit"], page["offset"]) == (3, 2, 1)


def test_patch_animal_changes_only_given_fields(client: TestClient, session: Session) -> None:
    zoo, species = make_zoo(session), make_species(session)
    created = client.post(ANIMALS, json=dallae(zoo, species)).json()
    changes = {"status": "deceased", "notes": None}
    response = client.patch(f"{ANIMALS}/{created['id']}", json=changes)
    assert response.status_code == 200
    body = response.json()
    assert body.items() >= changes.items()
    ignored = ("status", "notes", "updated_at")
    assert {k: v for k, v in body.items() if k not in ignored} == {
        k: v for k, v in created.items() if k not in ignored
    }


@pytest.mark.parametrize("field", ["zoo_id", "species_id", "sex", "count", "origin", "status"])
def test_patch_animal_null_on_required_field_is_422(
    client: TestClient, session: Session, field: str
) -> None:
    animal = make_animal(session)
    before = client.get(f"{ANIMALS}/{animal.id}").json()
    assert_problem(client.patch(f"{ANIMALS}/{animal.id}", json={field: None}), 422, ["body", field])
    assert client.get(f"{ANIMALS}/{animal.id}").json() == before


def test_patch_animal_into_and_out_of_an_enclosure(client: TestClient, session: Session) -> None:
    zoo = make_zoo(session)
    animal, enclosure = make_animal(session, zoo), make_enclosure(session, zoo)
    path = f"{ANIMALS}/{animal.id}"
    assert client.patch(path, json={"enclosure_id": enclosure.id}).json()["enclosure_id"] == (
        enclosure.id
    )
    assert client.patch(path, json={"enclosure_id": None}).json()["enclosure_id"] is None


def test_patch_animal_into_enclosure_of_another_zoo_is_422(
    client: TestClient, session: Session
) -> None:
    animal = make_animal(session)
    elsewhere = make_enclosure(session, make_zoo(session))
    response = client.patch(f"{ANIMALS}/{animal.id}", json={"enclosure_id": elsewhere.id})
    assert_problem(response, 422, ["body", "enclosure_id"])
    assert client.get(f"{ANIMALS}/{animal.id}").json()["enclosure_id"] is None


def test_patch_animal_to_another_zoo_keeping_old_enclosure_is_422(
    client: TestClient, session: Session
) -> None:
    zoo, new_zoo = make_zoo(session), make_zoo(session)
    enclosure = make_enclosure(session, zoo)
    animal = make_animal(session, zoo, enclosure_id=enclosure.id)
    response = client.patch(
        f"{ANIMALS}/{animal.id}", json={"zoo_id": new_zoo.id, "enclosure_id": enclosure.id}
    )
    assert_problem(response, 422, ["body", "enclosure_id"])
    assert client.get(f"{ANIMALS}/{animal.id}").json()["zoo_id"] == zoo.id


def test_patch_animal_to_another_zoo_leaves_enclosure_behind(
    client: TestClient, session: Session
) -> None:
    zoo, new_zoo = make_zoo(session), make_zoo(session)
    animal = make_animal(session, zoo, enclosure_id=make_enclosure(session, zoo).id)
    response = client.patch(f"{ANIMALS}/{animal.id}", json={"zoo_id": new_zoo.id})
    assert response.status_code == 200
    assert (response.json()["zoo_id"], response.json()["enclosure_id"]) == (new_zoo.id, None)


def test_patch_animal_to_another_zoo_with_its_enclosure(
    client: TestClient, session: Session
) -> None:
    new_zoo = make_zoo(session)
    animal, enclosure = make_animal(session), make_enclosure(session, new_zoo)
    response = client.patch(
        f"{ANIMALS}/{animal.id}", json={"zoo_id": new_zoo.id, "enclosure_id": enclosure.id}
    )
    assert response.status_code == 200
    assert response.json()["enclosure_id"] == enclosure.id


def test_patch_origin_to_diplomatic_gift_without_gift_is_422(
    client: TestClient, session: Session
) -> None:
    animal = make_animal(session)
    response = client.patch(f"{ANIMALS}/{animal.id}", json={"origin": "diplomatic_gift"})
    assert_problem(response, 422, ["body", "gift_id"])
    gift = make_gift(session)
    response = client.patch(
        f"{ANIMALS}/{animal.id}", json={"origin": "diplomatic_gift", "gift_id": gift.id}
    )
    assert response.status_code == 200


def test_patch_removing_gift_of_diplomatic_gift_is_422(
    client: TestClient, session: Session
) -> None:
    gift = make_gift(session)
    animal = make_animal(session, origin=Origin.diplomatic_gift, gift_id=gift.id)
    response = client.patch(f"{ANIMALS}/{animal.id}", json={"gift_id": None})
    assert_problem(response, 422, ["body", "gift_id"])
    assert client.get(f"{ANIMALS}/{animal.id}").json()["gift_id"] == gift.id


@pytest.mark.parametrize("field", ["zoo_id", "species_id", "enclosure_id", "gift_id"])
def test_patch_animal_referring_to_missing_row_is_422(
    client: TestClient, session: Session, field: str
) -> None:
    animal = make_animal(session)
    response = client.patch(f"{ANIMALS}/{animal.id}", json={field: 2147483647})
    assert_problem(response, 422, ["body", field])


def test_patch_to_duplicate_identifier_is_409(client: TestClient, session: Session) -> None:
    zoo = make_zoo(session)
    make_animal(session, zoo, identifier="A-1")
    animal = make_animal(session, zoo, identifier="A-2")
    assert_problem(client.patch(f"{ANIMALS}/{animal.id}", json={"identifier": "A-1"}), 409)
    assert client.get(f"{ANIMALS}/{animal.id}").json()["identifier"] == "A-2"


def test_patch_move_into_zoo_with_same_identifier_is_409(
    client: TestClient, session: Session
) -> None:
    zoo, new_zoo = make_zoo(session), make_zoo(session)
    make_animal(session, new_zoo, identifier="A-1")
    animal = make_animal(session, zoo, identifier="A-1")
    assert_problem(client.patch(f"{ANIMALS}/{animal.id}", json={"zoo_id": new_zoo.id}), 409)
    assert client.get(f"{ANIMALS}/{animal.id}").json()["zoo_id"] == zoo.id


def test_patch_keeping_own_identifier_is_fine(client: TestClient, session: Session) -> None:
    animal = make_animal(session, identifier="A-1")
    response = client.patch(f"{ANIMALS}/{animal.id}", json={"identifier": "A-1", "count": 2})
    assert response.status_code == 200
    assert response.json()["count"] == 2


def test_patch_animal_with_unknown_field_is_422(client: TestClient, session: Session) -> None:
    animal = make_animal(session)
    response = client.patch(f"{ANIMALS}/{animal.id}", json={"created_at": "2020-01-01T00:00:00Z"})
    assert_problem(response, 422, ["body", "created_at"])


def test_delete_animal(client: TestClient, session: Session) -> None:
    animal = make_animal(session)
    response = client.delete(f"{ANIMALS}/{animal.id}")
    assert response.status_code == 204
    assert response.content == b""
    assert_problem(client.get(f"{ANIMALS}/{animal.id}"), 404)
    assert_problem(client.delete(f"{ANIMALS}/{animal.id}"), 404)
