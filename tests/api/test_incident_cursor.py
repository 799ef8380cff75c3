"""Cursor paging of GET /incidents (black-box): following `next` with `after` gives the same
rows as offset paging, in every sort and through tied sort values; bad, foreign and mixed
cursors are clear 422s; `total` only where it is cheap or asked."""

import base64
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.services.incidents import IncidentSort
from tests.api.test_errors import assert_problem
from tests.api.test_reports import post_report
from tests.factories import make_animal, make_species, make_zoo

INCIDENTS = "/api/v1/incidents"


@pytest.fixture
def zoo_incidents(client: TestClient, session: Session) -> tuple[int, list[int]]:
    """Eleven incidents of one zoo: severities 1-3 over four observation times, so every sort
    has ties for the id to break."""
    zoo = make_zoo(session)
    animal = make_animal(session, zoo, make_species(session))
    made = []
    for n in range(11):
        observed = f"2024-0{n % 4 + 1}-15T12:00:00Z"
        report = post_report(
            client,
            zoo.id,
            animal_id=animal.id,
            severity=n % 3 + 1,
            observed_at=observed,
            title=f"Incident {n}",
        )
        made.append(report["incident_id"])
    return zoo.id, made


def get(client: TestClient, **params: Any) -> dict[str, Any]:
    response = client.get(INCIDENTS, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def followed(client: TestClient, zoo_id: int, sort: str, limit: int) -> list[int]:
    """Every id, by following `next` from the first page."""
    page = get(client, zoo_id=zoo_id, sort=sort, limit=limit)
    seen = [i["id"] for i in page["items"]]
    while page["next"] is not None:
        page = get(client, zoo_id=zoo_id, sort=sort, limit=limit, after=page["next"])
        assert page["total"] is None and page["offset"] == 0
        seen += [i["id"] for i in page["items"]]
        assert len(seen) <= 11, "the cursor went round"
    return seen


@pytest.mark.parametrize("sort", [s.value for s in IncidentSort])
def test_following_next_gives_every_row_once_in_the_offset_order(
    anon_client: TestClient, zoo_incidents: tuple[int, list[int]], sort: str
) -> None:
    zoo_id, made = zoo_incidents
    whole = [i["id"] for i in get(anon_client, zoo_id=zoo_id, sort=sort, limit=500)["items"]]
    assert sorted(whole) == sorted(made)
    for limit in (1, 3, 4):
        assert followed(anon_client, zoo_id, sort, limit) == whole


def test_a_first_page_has_its_total_and_the_last_no_next(
    anon_client: TestClient, zoo_incidents: tuple[int, list[int]]
) -> None:
    zoo_id, _ = zoo_incidents
    first = get(anon_client, zoo_id=zoo_id, limit=4)
    assert first["total"] == 11 and first["next"] is not None
    second = get(anon_client, zoo_id=zoo_id, limit=4, after=first["next"], count="true")
    assert second["total"] == 11 and len(second["items"]) == 4
    whole = get(anon_client, zoo_id=zoo_id, limit=11)
    assert whole["next"] is None and len(whole["items"]) == 11
    # An offset page gives a cursor too: a client can go on by cursor from there.
    offset = get(anon_client, zoo_id=zoo_id, limit=4, offset=4)
    assert [i["id"] for i in offset["items"]] == [i["id"] for i in second["items"]]
    assert offset["next"] == second["next"]


def test_a_row_filed_behind_the_cursor_does_not_shift_the_pages(
    client: TestClient, anon_client: TestClient, zoo_incidents: tuple[int, list[int]]
) -> None:
    """An offset page moves when a row is added before it; a cursor page does not."""
    zoo_id, _ = zoo_incidents
    first = get(anon_client, zoo_id=zoo_id, sort="-id", limit=5)
    before = get(anon_client, zoo_id=zoo_id, sort="-id", limit=5, after=first["next"])
    post_report(client, zoo_id, title="A newer incident")
    after = get(anon_client, zoo_id=zoo_id, sort="-id", limit=5, after=first["next"])
    assert after["items"] == before["items"]


def cursor_of(*values: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(values)).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "after",
    [
        "not-a-cursor!",
        "%%%",
        cursor_of("recent"),  # too few values
        cursor_of("recent", "yesterday", 5),  # not a time
        cursor_of("recent", "2024-01-01T00:00:00+00:00", "5"),  # the id as text
        cursor_of("recent", None, 5),  # NULL where the column has none
        base64.urlsafe_b64encode(b"{}").decode(),
        "x" * 512,
    ],
)
def test_a_cursor_not_made_here_is_a_422_on_after(anon_client: TestClient, after: str) -> None:
    response = anon_client.get(INCIDENTS, params={"after": after})
    assert_problem(response, 422, ["query", "after"])


def test_a_cursor_of_another_sort_or_with_an_offset_is_a_422(
    anon_client: TestClient, zoo_incidents: tuple[int, list[int]]
) -> None:
    zoo_id, _ = zoo_incidents
    made = get(anon_client, zoo_id=zoo_id, sort="severity", limit=2)["next"]
    other = anon_client.get(INCIDENTS, params={"zoo_id": zoo_id, "sort": "id", "after": made})
    body = assert_problem(other, 422, ["query", "after"])
    assert "severity" in body["detail"]
    both = anon_client.get(
        INCIDENTS, params={"zoo_id": zoo_id, "sort": "severity", "after": made, "offset": 2}
    )
    assert_problem(both, 422, ["query", "offset"])
    too_long = anon_client.get(INCIDENTS, params={"after": "x" * 513})
    assert_problem(too_long, 422, ["query", "after"])
