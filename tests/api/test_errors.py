"""Errors are problem+json documents, and a failed write leaves nothing behind."""

import asyncio
from typing import Any
from urllib.parse import unquote

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import func
from sqlmodel import Session, select
from starlette.types import Message

from app.models import Animal, Enclosure, Gift, Species, Zoo
from tests.factories import make_animal, make_enclosure, make_gift, make_species, make_zoo

API = "/api/v1"
LIST_PATHS = ["/zoos", "/species", "/enclosures", "/gifts", "/animals"]


def assert_problem(
    response: Response, status: int, location: list[str | int] | None = None
) -> dict[str, Any]:
    """Checks an RFC 9457 problem document; for a 422, that `location` is among its errors."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    assert body["type"]
    assert body["title"]
    assert body["detail"]
    # The instance is the request path, percent-encoded as a URI reference.
    assert unquote(body["instance"]) == response.request.url.path
    if status == 422:
        assert body["errors"], body
        assert all("location" in error for error in body["errors"])
        if location is not None:
            assert location in [error["location"] for error in body["errors"]], body
    return body


def row_counts(session: Session) -> dict[str, int]:
    return {
        model.__name__: session.exec(select(func.count()).select_from(model)).one()
        for model in (Zoo, Species, Enclosure, Gift, Animal)
    }


def test_unknown_path_is_404_problem(client: TestClient) -> None:
    body = assert_problem(client.get(f"{API}/unicorns"), 404)
    assert body["instance"] == f"{API}/unicorns"


def test_wrong_method_is_405_problem(client: TestClient) -> None:
    response = client.put(f"{API}/zoos")
    assert_problem(response, 405)
    assert "GET" in response.headers["allow"]


def test_malformed_json_is_422_problem(client: TestClient, session: Session) -> None:
    before = row_counts(session)
    response = client.post(
        f"{API}/zoos",
        content=b'{"slug": "broken", ',
        headers={"content-type": "application/json"},
    )
    body = assert_problem(response, 422)
    assert body["errors"][0]["location"][0] == "body"
    assert row_counts(session) == before


def test_json_that_is_not_an_object_is_422(client: TestClient) -> None:
    assert_problem(client.post(f"{API}/species", json=["Panthera leo"]), 422)


@pytest.mark.parametrize(
    ("field", "value"), [("name", "x" * 201), ("name", "Zoo\x00"), ("notes", "bell\x07")]
)
def test_overlong_or_control_character_text_is_422(
    client: TestClient, field: str, value: str
) -> None:
    body = {"slug": "text-zoo", "name": "Text Zoo", "country_code": "KP"} | {field: value}
    problem = assert_problem(client.post(f"{API}/zoos", json=body), 422, ["body", field])
    assert value not in problem["errors"][0]["message"]


@pytest.mark.parametrize("path", LIST_PATHS)
def test_limit_above_cap_is_422(client: TestClient, path: str) -> None:
    assert_problem(client.get(f"{API}{path}", params={"limit": 501}), 422, ["query", "limit"])


@pytest.mark.parametrize("path", LIST_PATHS)
def test_limit_at_cap_is_accepted(client: TestClient, path: str) -> None:
    response = client.get(f"{API}{path}", params={"limit": 500})
    assert response.status_code == 200
    assert response.json()["limit"] == 500


@pytest.mark.parametrize("params", [{"limit": 0}, {"offset": -1}, {"limit": "ten"}])
def test_bad_paging_is_422(client: TestClient, params: dict[str, Any]) -> None:
    assert_problem(client.get(f"{API}/animals", params=params), 422, ["query", next(iter(params))])


@pytest.mark.parametrize("resource", ["species", "enclosures", "gifts", "animals"])
@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
def test_unknown_id_in_path_is_404(client: TestClient, resource: str, method: str) -> None:
    json = {} if method == "PATCH" else None
    response = client.request(method, f"{API}/{resource}/2147483647", json=json)
    assert_problem(response, 404)


@pytest.mark.parametrize(
    ("resource", "param"),
    [
        ("species", "species_id"),
        ("enclosures", "enclosure_id"),
        ("gifts", "gift_id"),
        ("animals", "animal_id"),
    ],
)
def test_non_numeric_id_in_path_is_422(client: TestClient, resource: str, param: str) -> None:
    assert_problem(client.get(f"{API}/{resource}/abc"), 422, ["path", param])


def test_failed_animal_create_leaves_no_rows(client: TestClient, session: Session) -> None:
    zoo, other_zoo = make_zoo(session), make_zoo(session)
    species = make_species(session)
    elsewhere = make_enclosure(session, other_zoo)
    before = row_counts(session)
    body = {"zoo_id": zoo.id, "species_id": species.id, "enclosure_id": elsewhere.id}
    assert_problem(client.post(f"{API}/animals", json=body), 422)
    assert row_counts(session) == before
    assert client.get(f"{API}/animals", params={"zoo_id": zoo.id}).json()["total"] == 0


def test_failed_creates_of_each_kind_leave_no_rows(client: TestClient, session: Session) -> None:
    zoo = make_zoo(session, slug="taken")
    make_enclosure(session, zoo, name="Ape House")
    make_species(session, scientific_name="Pan troglodytes")
    before = row_counts(session)
    failures = [
        ("/zoos", 409, {"slug": "taken", "name": "Copy", "country_code": "KP"}),
        (
            "/species",
            409,
            {"scientific_name": "Pan troglodytes", "common_name": "x", "taxon_class": "mammal"},
        ),
        (
            "/enclosures",
            409,
            {
                "zoo_id": zoo.id,
                "name": "Ape House",
                "kind": "indoor",
                "area_m2": 1,
                "capacity": 1,
                "climate": "controlled",
            },
        ),
        (
            "/gifts",
            422,
            {
                "title": "t",
                "donor_name": "d",
                "donor_country": "RU",
                "recipient_name": "r",
                "recipient_country": "KP",
                "recipient_zoo_id": 2147483647,
            },
        ),
    ]
    for path, status, body in failures:
        assert_problem(client.post(f"{API}{path}", json=body), status)
    assert row_counts(session) == before


def test_failed_patch_changes_nothing(client: TestClient, session: Session) -> None:
    zoo, other_zoo = make_zoo(session), make_zoo(session)
    animal = make_animal(session, zoo, name="Dallae")
    elsewhere = make_enclosure(session, other_zoo)
    response = client.patch(
        f"{API}/animals/{animal.id}", json={"name": "Renamed", "enclosure_id": elsewhere.id}
    )
    assert_problem(response, 422, ["body", "enclosure_id"])
    after = client.get(f"{API}/animals/{animal.id}").json()
    assert after["name"] == "Dallae"
    assert after["enclosure_id"] is None


def test_failed_delete_removes_nothing(client: TestClient, session: Session) -> None:
    gift = make_gift(session)
    make_animal(session, origin="diplomatic_gift", gift_id=gift.id)
    before = row_counts(session)
    assert_problem(client.delete(f"{API}/gifts/{gift.id}"), 409)
    assert row_counts(session) == before


def test_a_client_leaving_mid_body_is_logged_499_not_blamed_on_its_input(
    app: FastAPI, admin_key: str
) -> None:
    """A body cut short by the client going away is not a 422 (the benchmark's load generator
    abandons requests mid-body when a run ends): the access log and metrics say 499."""
    incoming: list[Message] = [
        {"type": "http.request", "body": b'{"zoo_id": 1, "sever', "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[Message] = []

    async def receive() -> Message:
        return incoming.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/v1/reports",
        "raw_path": b"/api/v1/reports",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"authorization", f"Bearer {admin_key}".encode()),
            (b"content-type", b"application/json"),
            (b"content-length", b"200"),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    asyncio.run(app(scope, receive, send))

    assert sent[0]["type"] == "http.response.start"
    assert sent[0]["status"] == 499
    metrics = app.state.metrics.requests.collect()[0].samples
    # The body is read whole before routing (a slow sender holds no admission slot), so the
    # request was never routed.
    statuses = {s.labels["status"] for s in metrics if s.name == "zwr_http_requests_total"}
    assert statuses == {"499"}
