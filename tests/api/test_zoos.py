"""/zoos: CRUD, a zoo in a path by id or slug, unique slugs, no delete while in use."""

from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlmodel import Session

from tests.api.test_errors import assert_problem
from tests.factories import make_animal, make_enclosure, make_gift, make_zoo

ZOOS = "/api/v1/zoos"
KOREA_CENTRAL_ZOO = {
    "slug": "korea-central-zoo",
    "name": "Korea Central Zoo",
    "city": "Pyongyang",
    "country_code": "KP",
    "latitude": 39.075,
    "longitude": 125.815,
    "opened_year": 1959,
    "notes": "At the foot of Mount Taesong.",
}


def ids(response: Response) -> list[int]:
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def test_create_zoo(client: TestClient) -> None:
    response = client.post(ZOOS, json=KOREA_CENTRAL_ZOO)
    assert response.status_code == 201
    body = response.json()
    assert body.items() >= KOREA_CENTRAL_ZOO.items()
    assert response.headers["location"] == f"{ZOOS}/{body['id']}"
    assert client.get(response.headers["location"]).json() == body


def test_create_zoo_wants_an_upper_case_country_code(client: TestClient) -> None:
    # The schema lists the ISO codes as they are written; "kp" is not one of them.
    response = client.post(ZOOS, json=KOREA_CENTRAL_ZOO | {"country_code": "kp"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["location"] == ["body", "country_code"]


@pytest.mark.parametrize("code", ["XX", "KPR", "K", "12"])
def test_create_zoo_with_invalid_country_code_is_422(client: TestClient, code: str) -> None:
    response = client.post(ZOOS, json=KOREA_CENTRAL_ZOO | {"country_code": code})
    assert_problem(response, 422, ["body", "country_code"])


@pytest.mark.parametrize("slug", ["Korea Zoo", "korea_zoo", "-korea", "1959"])
def test_create_zoo_with_bad_slug_is_422(client: TestClient, slug: str) -> None:
    response = client.post(ZOOS, json=KOREA_CENTRAL_ZOO | {"slug": slug})
    assert_problem(response, 422, ["body", "slug"])


def test_create_zoo_with_duplicate_slug_is_409(client: TestClient, session: Session) -> None:
    make_zoo(session, slug="korea-central-zoo")
    assert_problem(client.post(ZOOS, json=KOREA_CENTRAL_ZOO), 409)


def test_create_zoo_with_unknown_field_is_422(client: TestClient) -> None:
    response = client.post(ZOOS, json=KOREA_CENTRAL_ZOO | {"director": "unknown"})
    assert_problem(response, 422, ["body", "director"])


def test_get_zoo_by_id_and_slug(client: TestClient, session: Session) -> None:
    zoo = make_zoo(session, slug="pyongyang", name="Korea Central Zoo")
    by_id = client.get(f"{ZOOS}/{zoo.id}")
    by_slug = client.get(f"{ZOOS}/pyongyang")
    assert by_id.status_code == by_slug.status_code == 200
    assert by_id.json() == by_slug.json()
    assert by_id.json()["name"] == "Korea Central Zoo"


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
@pytest.mark.parametrize("ref", ["atlantis", "2147483647"])
def test_unknown_zoo_in_path_is_404(client: TestClient, method: str, ref: str) -> None:
    json = {} if method == "PATCH" else None
    body = assert_problem(client.request(method, f"{ZOOS}/{ref}", json=json), 404)
    assert ref in body["detail"]


@pytest.mark.parametrize("ref", ["2147483648", "99999999999999999999", "²"])
def test_zoo_ref_that_cannot_be_an_id_is_404(client: TestClient, ref: str) -> None:
    # No zoo has this id or slug: a 404, not a database overflow or an int() error (500).
    assert_problem(client.get(f"{ZOOS}/{ref}"), 404)


def test_list_zoos_envelope(client: TestClient, session: Session) -> None:
    zoo = make_zoo(session)
    response = client.get(ZOOS)
    assert response.json() == {
        "items": [client.get(f"{ZOOS}/{zoo.id}").json()],
        "total": 1,
        "limit": 50,
        "offset": 0,
    }


def test_list_zoos_filters_by_country(client: TestClient, session: Session) -> None:
    korean = make_zoo(session, country_code="KP")
    make_zoo(session, country_code="RU")
    assert ids(client.get(ZOOS, params={"country_code": "KP"})) == [korean.id]
    assert ids(client.get(ZOOS, params={"country_code": "kp"})) == [korean.id]


@pytest.mark.parametrize("q", ["CENTRAL", "pyongyang", "korea-central"])
def test_list_zoos_searches_name_city_and_slug(
    client: TestClient, session: Session, q: str
) -> None:
    zoo = make_zoo(session, slug="korea-central-zoo", name="Korea Central Zoo", city="Pyongyang")
    make_zoo(session, slug="moscow-zoo", name="Moscow Zoo", city="Moscow")
    assert ids(client.get(ZOOS, params={"q": q})) == [zoo.id]


def test_list_zoos_search_treats_wildcards_literally(client: TestClient, session: Session) -> None:
    make_zoo(session, name="Moscow Zoo")
    percent = make_zoo(session, name="100% Zoo")
    assert ids(client.get(ZOOS, params={"q": "%"})) == [percent.id]
    assert ids(client.get(ZOOS, params={"q": "_"})) == []


def test_list_zoos_search_ignores_case_beyond_ascii(client: TestClient, session: Session) -> None:
    zoo = make_zoo(session, name="Zoo Ústí nad Labem", country_code="CZ")
    assert ids(client.get(ZOOS, params={"q": "ústí"})) == [zoo.id]


def test_list_zoos_paginates(client: TestClient, session: Session) -> None:
    zoos = [make_zoo(session) for _ in range(3)]
    page = client.get(ZOOS, params={"limit": 2, "offset": 1}).json()
    assert [item["id"] for item in page["items"]] == [zoos[1].id, zoos[2].id]
    assert (page["total"], page["limit"], page["offset"]) == (3, 2, 1)
    assert client.get(ZOOS, params={"offset": 3}).json()["items"] == []


def test_patch_zoo_changes_only_given_fields(client: TestClient, session: Session) -> None:
    created = client.post(ZOOS, json=KOREA_CENTRAL_ZOO).json()
    response = client.patch(f"{ZOOS}/korea-central-zoo", json={"city": "P'yŏngyang", "notes": None})
    assert response.status_code == 200
    body = response.json()
    assert body["city"] == "P'yŏngyang"
    assert body["notes"] is None
    unchanged = {k: v for k, v in created.items() if k not in ("city", "notes", "updated_at")}
    assert body.items() >= unchanged.items()
    updated_at = datetime.fromisoformat(body["updated_at"])
    assert updated_at > datetime.fromisoformat(created["updated_at"])


def test_patch_zoo_slug_moves_the_path(client: TestClient, session: Session) -> None:
    zoo = make_zoo(session, slug="old-slug")
    assert client.patch(f"{ZOOS}/{zoo.id}", json={"slug": "new-slug"}).status_code == 200
    assert client.get(f"{ZOOS}/new-slug").json()["id"] == zoo.id
    assert_problem(client.get(f"{ZOOS}/old-slug"), 404)


@pytest.mark.parametrize("field", ["slug", "name", "country_code"])
def test_patch_zoo_null_on_required_field_is_422(
    client: TestClient, session: Session, field: str
) -> None:
    zoo = make_zoo(session)
    response = client.patch(f"{ZOOS}/{zoo.id}", json={field: None})
    assert_problem(response, 422, ["body", field])
    assert client.get(f"{ZOOS}/{zoo.id}").json()[field] == getattr(zoo, field)


def test_patch_zoo_with_invalid_country_code_is_422(client: TestClient, session: Session) -> None:
    zoo = make_zoo(session)
    assert_problem(
        client.patch(f"{ZOOS}/{zoo.id}", json={"country_code": "ZZ"}),
        422,
        ["body", "country_code"],
    )


def test_patch_zoo_to_taken_slug_is_409(client: TestClient, session: Session) -> None:
    make_zoo(session, slug="taken")
    zoo = make_zoo(session, slug="mine")
    assert_problem(client.patch(f"{ZOOS}/mine", json={"slug": "taken"}), 409)
    assert client.get(f"{ZOOS}/{zoo.id}").json()["slug"] == "mine"


def test_patch_zoo_keeping_its_own_slug_is_fine(client: TestClient, session: Session) -> None:
    make_zoo(session, slug="mine")
    assert client.patch(f"{ZOOS}/mine", json={"slug": "mine", "name": "Mine"}).status_code == 200


def test_patch_zoo_with_unknown_field_is_422(client: TestClient, session: Session) -> None:
    zoo = make_zoo(session)
    assert_problem(client.patch(f"{ZOOS}/{zoo.id}", json={"id": 7}), 422, ["body", "id"])


def test_delete_zoo_by_slug(client: TestClient, session: Session) -> None:
    zoo = make_zoo(session, slug="short-lived")
    response = client.delete(f"{ZOOS}/short-lived")
    assert response.status_code == 204
    assert response.content == b""
    assert_problem(client.get(f"{ZOOS}/{zoo.id}"), 404)


@pytest.mark.parametrize("holding", ["animal", "enclosure", "gift"])
def test_delete_zoo_still_in_use_is_409(client: TestClient, session: Session, holding: str) -> None:
    zoo = make_zoo(session)
    if holding == "animal":
        make_animal(session, zoo)
    elif holding == "enclosure":
        make_enclosure(session, zoo)
    else:
        make_gift(session, recipient_zoo_id=zoo.id)
    assert_problem(client.delete(f"{ZOOS}/{zoo.slug}"), 409)
    assert client.get(f"{ZOOS}/{zoo.id}").status_code == 200


def test_delete_zoo_with_animals_keeps_them(client: TestClient, session: Session) -> None:
    zoo = make_zoo(session)
    animal = make_animal(session, zoo)
    assert_problem(client.delete(f"{ZOOS}/{zoo.id}"), 409)
    assert client.get(f"/api/v1/animals/{animal.id}").json()["zoo_id"] == zoo.id
