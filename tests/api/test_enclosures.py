"""/enclosures: CRUD, names unique within a zoo, no delete while animals are assigned."""

from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlmodel import Session

from app.models import Zoo
from tests.api.test_errors import assert_problem
from tests.factories import make_animal, make_enclosure, make_zoo

ENCLOSURES = "/api/v1/enclosures"


def ape_house(zoo: Zoo, **overrides: Any) -> dict[str, Any]:
    return {
        "zoo_id": zoo.id,
        "name": "Great Ape House",
        "kind": "indoor",
        "area_m2": 120.0,
        "capacity": 4,
        "climate": "controlled",
        "has_enrichment": False,
        "last_inspected_on": "2024-05-01",
        "notes": "Dallae's enclosure.",
    } | overrides


def ids(response: Response) -> list[int]:
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def test_create_enclosure(client: TestClient, session: Session) -> None:
    zoo = make_zoo(session)
    response = client.post(ENCLOSURES, json=ape_house(zoo))
    assert response.status_code == 201
    body = response.json()
    assert body == ape_house(zoo) | {"id": body["id"], "updated_at": body["updated_at"]}
    assert response.headers["location"] == f"{ENCLOSURES}/{body['id']}"
    assert client.get(response.headers["location"]).json() == body


def test_create_enclosure_with_duplicate_name_in_zoo_is_409(
    client: TestClient, session: Session
) -> None:
    zoo = make_zoo(session)
    make_enclosure(session, zoo, name="Great Ape House")
    assert_problem(client.post(ENCLOSURES, json=ape_house(zoo)), 409)
    assert client.get(ENCLOSURES, params={"zoo_id": zoo.id}).json()["total"] == 1


def test_same_enclosure_name_in_another_zoo_is_fine(client: TestClient, session: Session) -> None:
    make_enclosure(session, make_zoo(session), name="Great Ape House")
    response = client.post(ENCLOSURES, json=ape_house(make_zoo(session)))
    assert response.status_code == 201


def test_create_enclosure_in_unknown_zoo_is_422(client: TestClient, session: Session) -> None:
    zoo = make_zoo(session)
    response = client.post(ENCLOSURES, json=ape_house(zoo, zoo_id=zoo.id + 1000))
    assert_problem(response, 422, ["body", "zoo_id"])


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("area_m2", 0),
        ("capacity", 0),
        ("kind", "cage"),
        ("climate", "lunar"),
        ("name", ""),
        ("last_inspected_on", "2999-01-01"),
        ("keeper", "Kim"),
    ],
)
def test_create_enclosure_with_bad_field_is_422(
    client: TestClient, session: Session, field: str, value: object
) -> None:
    response = client.post(ENCLOSURES, json=ape_house(make_zoo(session), **{field: value}))
    assert_problem(response, 422, ["body", field])


def test_get_enclosure(client: TestClient, session: Session) -> None:
    enclosure = make_enclosure(session, name="Bear Pit")
    response = client.get(f"{ENCLOSURES}/{enclosure.id}")
    assert response.status_code == 200
    assert response.json()["name"] == "Bear Pit"
    assert response.json()["zoo_id"] == enclosure.zoo_id


def test_list_enclosures_envelope(client: TestClient, session: Session) -> None:
    enclosure = make_enclosure(session)
    assert client.get(ENCLOSURES).json() == {
        "items": [client.get(f"{ENCLOSURES}/{enclosure.id}").json()],
        "total": 1,
        "limit": 50,
        "offset": 0,
    }


def test_list_enclosures_filters(client: TestClient, session: Session) -> None:
    zoo, other_zoo = make_zoo(session), make_zoo(session)
    aviary = make_enclosure(session, zoo, name="Pheasant Aviary", kind="aviary")
    pit = make_enclosure(session, zoo, name="Bear Pit", climate="cold")
    elsewhere = make_enclosure(session, other_zoo, name="Lion Rock")
    assert ids(client.get(ENCLOSURES, params={"zoo_id": zoo.id})) == [aviary.id, pit.id]
    assert ids(client.get(ENCLOSURES, params={"zoo_id": other_zoo.id})) == [elsewhere.id]
    assert ids(client.get(ENCLOSURES, params={"kind": "aviary"})) == [aviary.id]
    assert ids(client.get(ENCLOSURES, params={"climate": "cold"})) == [pit.id]
    assert ids(client.get(ENCLOSURES, params={"q": "bear"})) == [pit.id]
    assert ids(client.get(ENCLOSURES, params={"zoo_id": other_zoo.id, "q": "bear"})) == []


def test_list_enclosures_paginates(client: TestClient, session: Session) -> None:
    zoo = make_zoo(session)
    made = [make_enclosure(session, zoo) for _ in range(3)]
    page = client.get(ENCLOSURES, params={"zoo_id": zoo.id, "limit": 2}).json()
    assert [item["id"] for item in page["items"]] == [made[0].id, made[1].id]
    assert (page["total"], page["limit"], page["offset"]) == (3, 2, 0)
    second = client.get(ENCLOSURES, params={"zoo_id": zoo.id, "limit": 2, "offset": 2}).json()
    assert [item["id"] for item in second["items"]] == [made[2].id]


def test_patch_enclosure_changes_only_given_fields(client: TestClient, session: Session) -> None:
    created = client.post(ENCLOSURES, json=ape_house(make_zoo(session))).json()
    changes = {"has_enrichment": True, "capacity": 6, "last_inspected_on": None}
    response = client.patch(f"{ENCLOSURES}/{created['id']}", json=changes)
    assert response.status_code == 200
    updated = response.json()
    assert updated == created | changes | {"updated_at": updated["updated_at"]}
    assert datetime.fromisoformat(updated["updated_at"]) > datetime.fromisoformat(
        created["updated_at"]
    )  # stamped


@pytest.mark.parametrize(
    "field", ["name", "kind", "area_m2", "capacity", "climate", "has_enrichment"]
)
def test_patch_enclosure_null_on_required_field_is_422(
    client: TestClient, session: Session, field: str
) -> None:
    enclosure = make_enclosure(session)
    before = client.get(f"{ENCLOSURES}/{enclosure.id}").json()
    response = client.patch(f"{ENCLOSURES}/{enclosure.id}", json={field: None})
    assert_problem(response, 422, ["body", field])
    assert client.get(f"{ENCLOSURES}/{enclosure.id}").json() == before


def test_patch_enclosure_cannot_change_zoo(client: TestClient, session: Session) -> None:
    enclosure = make_enclosure(session)
    other_zoo = make_zoo(session)
    response = client.patch(f"{ENCLOSURES}/{enclosure.id}", json={"zoo_id": other_zoo.id})
    assert_problem(response, 422, ["body", "zoo_id"])


def test_patch_enclosure_to_taken_name_is_409(client: TestClient, session: Session) -> None:
    zoo = make_zoo(session)
    make_enclosure(session, zoo, name="Bear Pit")
    enclosure = make_enclosure(session, zoo, name="Lion Rock")
    assert_problem(client.patch(f"{ENCLOSURES}/{enclosure.id}", json={"name": "Bear Pit"}), 409)
    assert client.get(f"{ENCLOSURES}/{enclosure.id}").json()["name"] == "Lion Rock"


def test_patch_enclosure_to_name_used_in_another_zoo_is_fine(
    client: TestClient, session: Session
) -> None:
    make_enclosure(session, make_zoo(session), name="Bear Pit")
    enclosure = make_enclosure(session, make_zoo(session), name="Lion Rock")
    response = client.patch(f"{ENCLOSURES}/{enclosure.id}", json={"name": "Bear Pit"})
    assert response.status_code == 200
    assert response.json()["name"] == "Bear Pit"


def test_delete_enclosure(client: TestClient, session: Session) -> None:
    enclosure = make_enclosure(session)
    assert client.delete(f"{ENCLOSURES}/{enclosure.id}").status_code == 204
    assert_problem(client.get(f"{ENCLOSURES}/{enclosure.id}"), 404)


@pytest.mark.parametrize("status", ["alive", "deceased"])
def test_delete_enclosure_with_animals_is_409(
    client: TestClient, session: Session, status: str
) -> None:
    enclosure = make_enclosure(session)
    zoo = session.get(Zoo, enclosure.zoo_id)
    animal = make_animal(session, zoo, enclosure_id=enclosure.id, status=status)
    assert_problem(client.delete(f"{ENCLOSURES}/{enclosure.id}"), 409)
    assert client.get(f"{ENCLOSURES}/{enclosure.id}").status_code == 200
    assert client.get(f"/api/v1/animals/{animal.id}").json()["enclosure_id"] == enclosure.id
