"""/species: CRUD, unique scientific names, domestic forms, no delete while in use."""

from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlmodel import Session

from tests.api.test_errors import assert_problem
from tests.factories import make_animal, make_species

SPECIES = "/api/v1/species"
CHIMPANZEE = {
    "scientific_name": "Pan troglodytes",
    "common_name": "Chimpanzee",
    "taxon_class": "mammal",
    "is_domestic": False,
    "iucn_category": "EN",
    "cites_appendix": "I",
    "social_structure": "group",
    "min_group_size": 6,
    "min_area_m2": 60.0,
    "climate_zones": ["tropical"],
}


def ids(response: Response) -> list[int]:
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def test_create_species(client: TestClient) -> None:
    response = client.post(SPECIES, json=CHIMPANZEE)
    assert response.status_code == 201
    body = response.json()
    assert body == CHIMPANZEE | {"id": body["id"], "updated_at": body["updated_at"]}
    assert response.headers["location"] == f"{SPECIES}/{body['id']}"
    assert client.get(response.headers["location"]).json() == body


def test_create_species_defaults(client: TestClient) -> None:
    body = {"scientific_name": "Ursus arctos", "common_name": "Brown bear", "taxon_class": "mammal"}
    created = client.post(SPECIES, json=body).json()
    assert created["social_structure"] == "solitary"
    assert created["min_group_size"] == 1
    assert created["climate_zones"] == []
    assert created["iucn_category"] is None


def test_create_species_with_duplicate_scientific_name_is_409(
    client: TestClient, session: Session
) -> None:
    make_species(session, scientific_name="Pan troglodytes")
    assert_problem(client.post(SPECIES, json=CHIMPANZEE), 409)


def test_domestic_form_with_iucn_category_is_422(client: TestClient) -> None:
    yak = CHIMPANZEE | {"scientific_name": "Bos grunniens", "is_domestic": True}
    assert_problem(client.post(SPECIES, json=yak), 422)
    assert client.post(SPECIES, json=yak | {"iucn_category": None}).status_code == 201


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("taxon_class", "dragon"),
        ("iucn_category", "XX"),
        ("min_group_size", 0),
        ("climate_zones", ["tropical", "tropical"]),
        ("climate_zones", ["lunar"]),
        ("colour", "black"),
    ],
)
def test_create_species_with_bad_field_is_422(
    client: TestClient, field: str, value: object
) -> None:
    response = client.post(SPECIES, json=CHIMPANZEE | {field: value})
    body = assert_problem(response, 422)
    assert any(error["location"][:2] == ["body", field] for error in body["errors"])


def test_get_species(client: TestClient, session: Session) -> None:
    species = make_species(session, common_name="Lion")
    response = client.get(f"{SPECIES}/{species.id}")
    assert response.status_code == 200
    assert response.json()["common_name"] == "Lion"


def test_list_species_envelope(client: TestClient, session: Session) -> None:
    species = make_species(session)
    assert client.get(SPECIES).json() == {
        "items": [client.get(f"{SPECIES}/{species.id}").json()],
        "total": 1,
        "limit": 50,
        "offset": 0,
    }


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"taxon_class": "bird"}, "cockatoo"),
        ({"iucn_category": "VU"}, "lion"),
        ({"cites_appendix": "I"}, "chimpanzee"),
        ({"is_domestic": "true"}, "yak"),
        ({"q": "LEO"}, "lion"),
        ({"q": "white cockatoo"}, "cockatoo"),
        ({"taxon_class": "mammal", "is_domestic": "false", "cites_appendix": "II"}, "lion"),
    ],
)
def test_list_species_filters(
    client: TestClient, session: Session, params: dict[str, str], expected: str
) -> None:
    made = {
        "lion": make_species(
            session, scientific_name="Panthera leo", iucn_category="VU", cites_appendix="II"
        ),
        "chimpanzee": make_species(session, iucn_category="EN", cites_appendix="I"),
        "cockatoo": make_species(
            session, common_name="White cockatoo", taxon_class="bird", cites_appendix="II"
        ),
        "yak": make_species(session, is_domestic=True, iucn_category=None),
    }
    assert ids(client.get(SPECIES, params=params)) == [made[expected].id]


def test_list_species_paginates(client: TestClient, session: Session) -> None:
    made = [make_species(session) for _ in range(3)]
    page = client.get(SPECIES, params={"limit": 1, "offset": 2}).json()
    assert [item["id"] for item in page["items"]] == [made[2].id]
    assert (page["total"], page["limit"], page["offset"]) == (3, 1, 2)


def test_patch_species_changes_only_given_fields(client: TestClient) -> None:
    created = client.post(SPECIES, json=CHIMPANZEE).json()
    response = client.patch(
        f"{SPECIES}/{created['id']}", json={"min_group_size": 4, "cites_appendix": None}
    )
    assert response.status_code == 200
    updated = response.json()
    changes = {"min_group_size": 4, "cites_appendix": None, "updated_at": updated["updated_at"]}
    assert updated == created | changes
    assert datetime.fromisoformat(updated["updated_at"]) > datetime.fromisoformat(
        created["updated_at"]
    )  # stamped


@pytest.mark.parametrize(
    "field", ["scientific_name", "common_name", "taxon_class", "is_domestic", "climate_zones"]
)
def test_patch_species_null_on_required_field_is_422(
    client: TestClient, session: Session, field: str
) -> None:
    species = make_species(session)
    before = client.get(f"{SPECIES}/{species.id}").json()
    assert_problem(
        client.patch(f"{SPECIES}/{species.id}", json={field: None}), 422, ["body", field]
    )
    assert client.get(f"{SPECIES}/{species.id}").json() == before


def test_patch_species_to_taken_scientific_name_is_409(
    client: TestClient, session: Session
) -> None:
    make_species(session, scientific_name="Panthera leo")
    species = make_species(session, scientific_name="Panthera tigris")
    response = client.patch(f"{SPECIES}/{species.id}", json={"scientific_name": "Panthera leo"})
    assert_problem(response, 409)
    assert client.get(f"{SPECIES}/{species.id}").json()["scientific_name"] == "Panthera tigris"


def test_patch_species_to_domestic_keeping_iucn_category_is_422(
    client: TestClient, session: Session
) -> None:
    species = make_species(session, iucn_category="LC")
    assert_problem(client.patch(f"{SPECIES}/{species.id}", json={"is_domestic": True}), 422)
    response = client.patch(
        f"{SPECIES}/{species.id}", json={"is_domestic": True, "iucn_category": None}
    )
    assert response.status_code == 200
    assert response.json()["is_domestic"] is True


def test_patch_species_with_unknown_field_is_422(client: TestClient, session: Session) -> None:
    species = make_species(session)
    response = client.patch(f"{SPECIES}/{species.id}", json={"diet": "fruit"})
    assert_problem(response, 422, ["body", "diet"])


def test_delete_species(client: TestClient, session: Session) -> None:
    species = make_species(session)
    response = client.delete(f"{SPECIES}/{species.id}")
    assert response.status_code == 204
    assert_problem(client.get(f"{SPECIES}/{species.id}"), 404)
    assert_problem(client.delete(f"{SPECIES}/{species.id}"), 404)


def test_delete_species_with_animals_is_409(client: TestClient, session: Session) -> None:
    species = make_species(session)
    animal = make_animal(session, species=species)
    assert_problem(client.delete(f"{SPECIES}/{species.id}"), 409)
    assert client.get(f"{SPECIES}/{species.id}").status_code == 200
    assert client.get(f"/api/v1/animals/{animal.id}").status_code == 200
