"""Duplicate keys in a JSON body are refused (a parser that keeps the last and a proxy or
logger that keeps the first would disagree about what was sent), and If-Match uses the strong
comparison of RFC 9110 (before the fix a weak W/ tag was accepted)."""

from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.factories import make_zoo


def test_duplicate_keys_in_a_body_are_422(client: TestClient) -> None:
    body = b'{"slug": "twice", "slug": "again", "name": "Zoo", "country_code": "KP"}'
    response = client.post(
        "/api/v1/zoos", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert "'slug' appears more than once" in response.json()["detail"]
    nested = b'{"slug": "nested", "name": "Zoo", "country_code": "KP", "x": {"a": 1, "a": 2}}'
    response = client.post(
        "/api/v1/zoos", content=nested, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert client.get("/api/v1/zoos/twice").status_code == 404


def _incident(client: TestClient, session: Session) -> tuple[int, str]:
    zoo = make_zoo(session)
    report = {
        "zoo_id": zoo.id,
        "category": "health",
        "severity": 2,
        "title": "Limping",
        "observed_at": "2024-01-02T03:04:05Z",
    }
    incident_id = client.post("/api/v1/reports", json=report).json()["incident_id"]
    etag = client.get(f"/api/v1/incidents/{incident_id}").headers["ETag"]
    return incident_id, etag


def test_if_match_is_compared_strongly(client: TestClient, session: Session) -> None:
    incident_id, etag = _incident(client, session)
    assert not etag.startswith("W/")
    url = f"/api/v1/incidents/{incident_id}"
    weak = client.patch(url, json={"severity": 3}, headers={"If-Match": f"W/{etag}"})
    assert weak.status_code == 412
    strong = client.patch(url, json={"severity": 3}, headers={"If-Match": f'"x", {etag}'})
    assert strong.status_code == 200
    stale = client.patch(url, json={"severity": 4}, headers={"If-Match": etag})
    assert stale.status_code == 412
    anything = client.patch(url, json={"severity": 4}, headers={"If-Match": "*"})
    assert anything.status_code == 200
