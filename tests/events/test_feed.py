"""The change feed: each write's events (and none from a failed one), their data as the API
shows the subject, and following `next`: every event once, filters, bad cursors."""

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.models.api_key import Role
from tests.api.test_errors import assert_problem
from tests.api.test_reports import bearer, post_report, report_body
from tests.factories import make_animal, make_enclosure, make_key, make_zoo

EVENTS = "/api/v1/events"


def follow(client: TestClient, after: str | None = None, **params: Any) -> tuple[list[dict], str]:
    """Every event after `after`, following `next` page by page (pages of 2)."""
    seen: list[dict[str, Any]] = []
    while True:
        query = {"limit": 2, **params} | ({"after": after} if after else {})
        response = client.get(EVENTS, params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        seen += body["items"]
        after = body["next"]
        if len(body["items"]) < 2:
            return seen, after


def types_of(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events]


def test_animal_events_carry_the_animal_as_the_api_shows_it(
    client: TestClient, session: Session
) -> None:
    zoo, other = make_zoo(session), make_zoo(session)
    house, yard = make_enclosure(session, zoo), make_enclosure(session, zoo)
    _, start = follow(client)
    animal = make_animal(session, zoo, enclosure_id=house.id, name="Dallae")
    session.commit()
    assert client.patch(f"/api/v1/animals/{animal.id}", json={"name": "Dal"}).status_code == 200
    moved = client.patch(f"/api/v1/animals/{animal.id}", json={"enclosure_id": yard.id})
    assert moved.status_code == 200, moved.text
    sent = client.patch(
        f"/api/v1/animals/{animal.id}", json={"zoo_id": other.id, "enclosure_id": None}
    )
    assert sent.status_code == 200, sent.text
    events, _ = follow(client, start)
    assert types_of(events) == [
        "animal.registered",
        "animal.updated",
        "animal.moved",
        "animal.transferred",
    ]
    assert events[1]["data"]["name"] == "Dal"
    assert events[-1]["data"] == client.get(f"/api/v1/animals/{animal.id}").json()
    assert events[-1]["zoo_id"] == other.id
    assert {(e["subject_type"], e["subject_id"]) for e in events} == {("animal", animal.id)}
    assert len({e["id"] for e in events}) == 4
    assert sorted(e["id"] for e in events) == [e["id"] for e in events]  # ordered as text


def test_report_and_incident_events(
    client: TestClient, anon_client: TestClient, session: Session
) -> None:
    zoo = make_zoo(session)
    session.commit()
    _, start = follow(client)
    first = post_report(client, zoo.id, severity=2)
    incident_id = first["incident_id"]
    post_report(client, zoo.id, incident_id=incident_id, severity=4)
    moved = client.post(f"/api/v1/incidents/{incident_id}/transitions", json={"to": "under_review"})
    assert moved.status_code == 200, moved.text
    rep = bearer(make_key(session, Role.zoo_representative, zoos=[zoo.slug]))
    replied = anon_client.post(
        f"/api/v1/incidents/{incident_id}/replies", json={"body": "We disagree."}, headers=rep
    )
    assert replied.status_code == 201, replied.text
    events, _ = follow(client, start)
    # One transaction's events in the order it wrote them: the second report's row, then its
    # incident's counted at the commit's flush; the reply, then the incident's reply count.
    assert types_of(events) == [
        "incident.opened",
        "report.filed",
        "report.filed",
        "incident.updated",
        "incident.transitioned",
        "incident.replied",
        "incident.updated",
    ]
    opened, filed = events[0], events[1]
    assert opened["data"]["id"] == incident_id and opened["data"]["severity"] == 2
    assert opened["data"]["status"] == "reported"
    assert filed["subject_type"] == "report" and filed["subject_id"] == first["id"]
    # The report as anyone may read it: never the reporter's name or contact.
    public = anon_client.get(f"/api/v1/reports/{first['id']}").json()
    assert filed["data"] == public
    assert filed["data"]["reporter_name"] is None and filed["data"]["reporter_contact"] is None
    assert "A visitor" not in str(events) and "visitor@example.org" not in str(events)
    assert events[3]["data"]["severity"] == 4 and events[3]["data"]["report_count"] == 2
    transitioned = next(e for e in events if e["type"] == "incident.transitioned")
    assert transitioned["data"]["status"] == "under_review"
    reply = next(e for e in events if e["type"] == "incident.replied")
    assert (reply["subject_type"], reply["subject_id"]) == ("incident", incident_id)
    assert reply["data"] == replied.json()
    assert all(e["zoo_id"] == zoo.id for e in events)


def test_a_failed_write_leaves_no_event(client: TestClient, session: Session) -> None:
    zoo = make_zoo(session)
    session.commit()
    _, start = follow(client)
    refused = client.post("/api/v1/reports", json=report_body(zoo.id, animal_id=999_999))
    assert refused.status_code == 422
    also = client.post("/api/v1/reports", json=report_body(999_999))
    assert also.status_code == 422
    assert follow(client, start) == ([], start)


def test_concern_flags_raised_and_cleared_are_events(client: TestClient, session: Session) -> None:
    zoo = make_zoo(session)
    shed = make_enclosure(session, zoo, last_inspected_on=None)
    session.commit()
    _, start = follow(client)
    assert client.get(f"/api/v1/zoos/{zoo.id}/concerns").status_code == 200
    raised, after_raise = follow(client, start, type="concern.raised")
    assert [(e["subject_type"], e["subject_id"], e["data"]["rule"]) for e in raised] == [
        ("enclosure", shed.id, "inspection_overdue")
    ]
    assert raised[0]["data"]["severity"] >= 1 and raised[0]["data"]["reason"]
    today = client.get("/api/v1/concerns").json()["items"][0]["evaluated_at"][:10]
    assert (
        client.patch(f"/api/v1/enclosures/{shed.id}", json={"last_inspected_on": today}).status_code
        == 200
    )
    assert client.get(f"/api/v1/zoos/{zoo.id}/concerns").status_code == 200
    cleared, _ = follow(client, after_raise, type=["concern.cleared", "concern.raised"])
    assert types_of(cleared) == ["concern.cleared"]


def test_filters_by_type_and_zoo(client: TestClient, session: Session) -> None:
    zoo, other = make_zoo(session), make_zoo(session)
    session.commit()
    _, start = follow(client)
    post_report(client, zoo.id)
    post_report(client, other.id)
    make_animal(session, zoo)
    session.commit()
    everything, head = follow(client, start)
    by_slug, _ = follow(client, start, zoo_id=zoo.slug)
    by_id, _ = follow(client, start, zoo_id=str(zoo.id))
    assert by_slug == by_id == [e for e in everything if e["zoo_id"] == zoo.id]
    assert types_of(by_slug) == ["incident.opened", "report.filed", "animal.registered"]
    filed, next_ = follow(client, start, type="report.filed")
    assert [e["zoo_id"] for e in filed] == [zoo.id, other.id]
    assert next_ == head  # a filtered reader goes on from the head, not from its last match
    assert follow(client, start, zoo_id="no-such-zoo")[0] == []


@pytest.mark.parametrize("cursor", ["xyz", "-1", "1" * 17, "0x10"])
def test_a_cursor_not_from_the_feed_is_422(anon_client: TestClient, cursor: str) -> None:
    assert_problem(anon_client.get(EVENTS, params={"after": cursor}), 422)


def test_bad_filters_are_422(anon_client: TestClient) -> None:
    assert_problem(anon_client.get(EVENTS, params={"type": "zoo.burned"}), 422)
    assert_problem(anon_client.get(EVENTS, params={"limit": 0}), 422)
    assert_problem(anon_client.get(EVENTS, params={"limit": 1001}), 422)
    assert_problem(anon_client.get(EVENTS, params={"since": "x"}), 422)


def test_a_full_page_is_final_and_says_so(client: TestClient, session: Session) -> None:
    zoo = make_zoo(session)
    _, start = follow(client)
    for n in range(3):
        make_animal(session, zoo, name=f"Animal {n}")
    session.commit()
    full = client.get(EVENTS, params={"after": start, "limit": 2})
    assert full.status_code == 200
    assert full.headers["cache-control"] == "public, max-age=86400"
    assert client.get(EVENTS, params={"after": start, "limit": 2}).text == full.text
    rest = client.get(EVENTS, params={"after": full.json()["next"], "limit": 2})
    assert len(rest.json()["items"]) == 1
    assert rest.headers["cache-control"] == "no-cache"  # it grows as events come
    make_animal(session, zoo, name="Animal 3")
    session.commit()
    grown = client.get(EVENTS, params={"after": full.json()["next"], "limit": 2})
    assert len(grown.json()["items"]) == 2  # the short page was not kept
    by_slug = client.get(EVENTS, params={"after": start, "limit": 2, "zoo_id": zoo.slug})
    assert by_slug.json()["items"] == full.json()["items"]
    assert by_slug.headers["cache-control"] == "no-cache"  # a slug may come to name another zoo
