"""GET /reports: who sees which reports, the filters, and reporter details as `to_public`
allows (black-box, through the API)."""

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.models.api_key import Role
from tests.api.test_errors import assert_problem
from tests.api.test_reports import bearer, post_report
from tests.factories import make_key, make_zoo

REPORTS = "/api/v1/reports"


def listed(client: TestClient, token: str | None = None, **params: Any) -> list[dict[str, Any]]:
    headers = bearer(token) if token else None
    response = client.get(REPORTS, params=params, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] >= len(body["items"])
    return body["items"]


@pytest.fixture
def filed(client: TestClient, session: Session) -> dict[str, Any]:
    """Two zoos; reports by two reporter keys and by the admin client's key."""
    zoo, other = make_zoo(session, slug="reports-list-zoo"), make_zoo(session)
    alice = make_key(session, Role.reporter)
    bob = make_key(session, Role.reporter)
    a1 = post_report(client, zoo.id, alice, observed_at="2024-01-01T10:00:00Z", severity=2)
    a2 = post_report(client, other.id, alice, observed_at="2024-03-01T10:00:00Z", severity=4)
    b1 = post_report(client, zoo.id, bob, observed_at="2024-02-01T10:00:00Z", severity=5)
    c1 = post_report(client, other.id, None, observed_at="2024-04-01T10:00:00Z", severity=1)
    return {
        "zoo": zoo,
        "other": other,
        "alice": alice,
        "bob": bob,
        "reports": {"a1": a1, "a2": a2, "b1": b1, "c1": c1},
    }


def names(filed: dict[str, Any], items: list[dict[str, Any]]) -> list[str]:
    by_id = {r["id"]: name for name, r in filed["reports"].items()}
    return [by_id[item["id"]] for item in items]


def test_a_reporter_sees_only_its_own_with_its_details(
    anon_client: TestClient, filed: dict[str, Any]
) -> None:
    items = listed(anon_client, filed["alice"])
    assert names(filed, items) == ["a1", "a2"]
    assert all(item["reporter_contact"] == "visitor@example.org" for item in items)
    assert names(filed, listed(anon_client, filed["bob"])) == ["b1"]


def test_an_unscoped_admin_sees_all_and_a_scoped_inspector_its_zoos(
    client: TestClient, anon_client: TestClient, session: Session, filed: dict[str, Any]
) -> None:
    assert names(filed, listed(client)) == ["a1", "a2", "b1", "c1"]
    inspector = make_key(session, Role.inspector, zoos=[filed["zoo"].slug])
    items = listed(anon_client, inspector)
    assert names(filed, items) == ["a1", "b1"]
    # Reporter details: inspectors for the report's zoo may see them (to_public).
    assert all(item["reporter_name"] == "A visitor" for item in items)
    nowhere = make_key(session, Role.inspector, zoos=[filed["other"].slug])
    assert names(filed, listed(anon_client, nowhere)) == ["a2", "c1"]


def test_filters_sort_and_paging(client: TestClient, filed: dict[str, Any]) -> None:
    zoo = filed["zoo"]
    assert names(filed, listed(client, zoo_id=zoo.slug)) == ["a1", "b1"]
    assert names(filed, listed(client, zoo_id=str(zoo.id))) == ["a1", "b1"]
    assert listed(client, zoo_id="no-such-zoo") == []
    incident = filed["reports"]["b1"]["incident_id"]
    assert names(filed, listed(client, incident_id=incident)) == ["b1"]
    window = {"observed_since": "2024-02-01", "observed_until": "2024-03-31T23:59:59Z"}
    assert names(filed, listed(client, **window)) == ["a2", "b1"]
    assert names(filed, listed(client, sort="-observed_at")) == ["c1", "a2", "b1", "a1"]
    assert names(filed, listed(client, sort="-severity")) == ["b1", "a2", "a1", "c1"]
    assert names(filed, listed(client, sort="-id", limit=2, offset=1)) == ["b1", "a2"]


def test_anonymous_is_401_and_bad_filters_422(
    app: FastAPI, client: TestClient, filed: dict[str, Any]
) -> None:
    with TestClient(app) as anonymous:
        assert_problem(anonymous.get(REPORTS), 401)
    assert_problem(client.get(REPORTS, params={"incident_id": 0}), 422, ["query", "incident_id"])
    assert_problem(client.get(REPORTS, params={"sort": "reporter_name"}), 422, ["query", "sort"])
    assert_problem(client.get(REPORTS, params={"q": "smoke"}), 422, ["query", "q"])


def test_a_scoped_reporter_still_sees_only_its_own(
    anon_client: TestClient, session: Session, filed: dict[str, Any]
) -> None:
    scoped = make_key(session, Role.reporter, zoos=[filed["zoo"].slug])
    assert listed(anon_client, scoped) == []
    mine = post_report(anon_client, filed["zoo"].id, scoped)
    assert [item["id"] for item in listed(anon_client, scoped)] == [mine["id"]]
