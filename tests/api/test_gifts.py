"""/gifts: CRUD, the animals a gift brought, no delete while animals trace to it."""

from datetime import date, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlmodel import Session

from tests.api.test_errors import assert_problem
from tests.factories import make_animal, make_gift, make_zoo

GIFTS = "/api/v1/gifts"
NOVEMBER_2024 = {
    "title": "November 2024 gift of 70 animals",
    "donor_name": "Vladimir Putin",
    "donor_country": "RU",
    "recipient_name": "Kim Jong Un",
    "recipient_country": "KP",
    "delivered_on": "2024-11-20",
    "occasion": "Thanks for troops sent to Russia",
    "transport": "Cargo plane from Moscow Zoo",
    "cites_permit_ref": None,
    "source_url": "https://www.reuters.com/",
    "notes": None,
}


def ids(response: Response) -> list[int]:
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def test_create_gift(client: TestClient, session: Session) -> None:
    zoo = make_zoo(session)
    payload = NOVEMBER_2024 | {"recipient_zoo_id": zoo.id}
    response = client.post(GIFTS, json=payload)
    assert response.status_code == 201
    body = response.json()
    assert body == payload | {"id": body["id"], "updated_at": body["updated_at"]}
    assert response.headers["location"] == f"{GIFTS}/{body['id']}"
    assert client.get(response.headers["location"]).json() == body


def test_create_gift_for_unknown_zoo_is_422(client: TestClient, session: Session) -> None:
    zoo = make_zoo(session)
    response = client.post(GIFTS, json=NOVEMBER_2024 | {"recipient_zoo_id": zoo.id + 1000})
    assert_problem(response, 422, ["body", "recipient_zoo_id"])


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("donor_country", "XX"),
        ("recipient_country", "Korea"),
        ("source_url", "javascript:alert(1)"),
        ("delivered_on", "2999-01-01"),
        ("title", ""),
        ("animals", 70),
    ],
)
def test_create_gift_with_bad_field_is_422(client: TestClient, field: str, value: object) -> None:
    response = client.post(GIFTS, json=NOVEMBER_2024 | {field: value})
    assert_problem(response, 422, ["body", field])


def test_get_gift(client: TestClient, session: Session) -> None:
    gift = make_gift(session, title="Lions for Pyongyang")
    response = client.get(f"{GIFTS}/{gift.id}")
    assert response.status_code == 200
    assert response.json()["title"] == "Lions for Pyongyang"


def test_list_gifts_envelope(client: TestClient, session: Session) -> None:
    gift = make_gift(session)
    assert client.get(GIFTS).json() == {
        "items": [client.get(f"{GIFTS}/{gift.id}").json()],
        "total": 1,
        "limit": 50,
        "offset": 0,
    }


def test_list_gifts_newest_first(client: TestClient, session: Session) -> None:
    older = make_gift(session, delivered_on=date(2019, 4, 1))
    newer = make_gift(session, delivered_on=date(2024, 11, 20))
    assert ids(client.get(GIFTS)) == [newer.id, older.id]


def test_list_gifts_puts_undated_gifts_last(client: TestClient, session: Session) -> None:
    # Newest first on both databases: PostgreSQL sorts NULL first in a descending order.
    undated = make_gift(session, delivered_on=None)
    dated = make_gift(session, delivered_on=date(2024, 11, 20))
    assert ids(client.get(GIFTS)) == [dated.id, undated.id]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"donor_country": "RU"}, ["bears"]),
        ({"donor_country": "cn"}, ["pandas"]),
        ({"recipient_country": "KP"}, ["bears"]),
        ({"delivered_from": "2020-01-01"}, ["bears"]),
        ({"delivered_until": "2020-01-01"}, ["pandas"]),
        ({"delivered_from": "2000-01-01", "delivered_until": "2030-01-01"}, ["bears", "pandas"]),
        ({"q": "panda"}, ["pandas"]),
        ({"q": "putin"}, ["bears"]),
    ],
)
def test_list_gifts_filters(
    client: TestClient, session: Session, params: dict[str, str], expected: list[str]
) -> None:
    made = {
        "bears": make_gift(
            session, title="Brown bears", donor_country="RU", delivered_on=date(2024, 11, 20)
        ),
        "pandas": make_gift(
            session,
            title="Giant pandas",
            donor_name="Chinese government",
            donor_country="CN",
            recipient_name="Ouwehands Dierenpark",
            recipient_country="NL",
            delivered_on=date(2017, 4, 12),
        ),
    }
    assert ids(client.get(GIFTS, params=params)) == [made[name].id for name in expected]


def test_list_gifts_filters_by_recipient_zoo(client: TestClient, session: Session) -> None:
    zoo = make_zoo(session)
    gift = make_gift(session, recipient_zoo_id=zoo.id)
    make_gift(session)
    assert ids(client.get(GIFTS, params={"recipient_zoo_id": zoo.id})) == [gift.id]


def test_list_gifts_paginates(client: TestClient, session: Session) -> None:
    made = [make_gift(session, delivered_on=date(2020 + n, 1, 1)) for n in range(3)]
    page = client.get(GIFTS, params={"limit": 2, "offset": 1}).json()
    assert [item["id"] for item in page["items"]] == [made[1].id, made[0].id]
    assert (page["total"], page["limit"], page["offset"]) == (3, 2, 1)


def test_gift_animals_lists_what_it_brought(client: TestClient, session: Session) -> None:
    gift, other_gift = make_gift(session), make_gift(session)
    lion = make_animal(session, origin="diplomatic_gift", gift_id=gift.id, name="Lion")
    ducks = make_animal(session, origin="diplomatic_gift", gift_id=gift.id, count=40)
    make_animal(session, origin="diplomatic_gift", gift_id=other_gift.id)
    make_animal(session, origin="captive_born")
    body = client.get(f"{GIFTS}/{gift.id}/animals").json()
    assert [item["id"] for item in body["items"]] == [lion.id, ducks.id]
    assert (body["total"], body["limit"], body["offset"]) == (2, 50, 0)
    assert body["items"][1]["count"] == 40


def test_gift_animals_paginates(client: TestClient, session: Session) -> None:
    gift = make_gift(session)
    made = [make_animal(session, origin="diplomatic_gift", gift_id=gift.id) for _ in range(3)]
    page = client.get(f"{GIFTS}/{gift.id}/animals", params={"limit": 1, "offset": 1}).json()
    assert [item["id"] for item in page["items"]] == [made[1].id]
    assert page["total"] == 3
    over = client.get(f"{GIFTS}/{gift.id}/animals", params={"limit": 501})
    assert_problem(over, 422, ["query", "limit"])


def test_gift_animals_of_a_gift_with_none_is_empty(client: TestClient, session: Session) -> None:
    gift = make_gift(session)
    assert client.get(f"{GIFTS}/{gift.id}/animals").json()["items"] == []


def test_gift_animals_of_unknown_gift_is_404(client: TestClient) -> None:
    assert_problem(client.get(f"{GIFTS}/2147483647/animals"), 404)


def test_patch_gift_changes_only_given_fields(client: TestClient, session: Session) -> None:
    created = client.post(GIFTS, json=NOVEMBER_2024).json()
    changes: dict[str, Any] = {"cites_permit_ref": "RU-2024-0001", "source_url": None}
    response = client.patch(f"{GIFTS}/{created['id']}", json=changes)
    assert response.status_code == 200
    updated = response.json()
    assert updated == created | changes | {"updated_at": updated["updated_at"]}
    assert datetime.fromisoformat(updated["updated_at"]) > datetime.fromisoformat(
        created["updated_at"]
    )  # stamped


def test_patch_gift_sets_and_clears_recipient_zoo(client: TestClient, session: Session) -> None:
    gift, zoo = make_gift(session), make_zoo(session)
    path = f"{GIFTS}/{gift.id}"
    assert (
        client.patch(path, json={"recipient_zoo_id": zoo.id}).json()["recipient_zoo_id"] == zoo.id
    )
    assert client.patch(path, json={"recipient_zoo_id": None}).json()["recipient_zoo_id"] is None


def test_patch_gift_to_unknown_zoo_is_422(client: TestClient, session: Session) -> None:
    gift = make_gift(session)
    response = client.patch(f"{GIFTS}/{gift.id}", json={"recipient_zoo_id": 2147483647})
    assert_problem(response, 422, ["body", "recipient_zoo_id"])
    assert client.get(f"{GIFTS}/{gift.id}").json()["recipient_zoo_id"] is None


@pytest.mark.parametrize(
    "field", ["title", "donor_name", "donor_country", "recipient_name", "recipient_country"]
)
def test_patch_gift_null_on_required_field_is_422(
    client: TestClient, session: Session, field: str
) -> None:
    gift = make_gift(session)
    assert_problem(client.patch(f"{GIFTS}/{gift.id}", json={field: None}), 422, ["body", field])
    assert client.get(f"{GIFTS}/{gift.id}").json()[field] == getattr(gift, field)


def test_patch_gift_with_invalid_country_is_422(client: TestClient, session: Session) -> None:
    gift = make_gift(session)
    response = client.patch(f"{GIFTS}/{gift.id}", json={"donor_country": "SU"})
    assert_problem(response, 422, ["body", "donor_country"])


def test_patch_gift_with_unknown_field_is_422(client: TestClient, session: Session) -> None:
    gift = make_gift(session)
    assert_problem(client.patch(f"{GIFTS}/{gift.id}", json={"value": 1}), 422, ["body", "value"])


def test_delete_gift(client: TestClient, session: Session) -> None:
    gift = make_gift(session)
    assert client.delete(f"{GIFTS}/{gift.id}").status_code == 204
    assert_problem(client.get(f"{GIFTS}/{gift.id}"), 404)


def test_delete_gift_with_animals_is_409(client: TestClient, session: Session) -> None:
    gift = make_gift(session)
    animal = make_animal(session, origin="diplomatic_gift", gift_id=gift.id)
    assert_problem(client.delete(f"{GIFTS}/{gift.id}"), 409)
    assert client.get(f"{GIFTS}/{gift.id}").status_code == 200
    assert client.get(f"/api/v1/animals/{animal.id}").json()["gift_id"] == gift.id
