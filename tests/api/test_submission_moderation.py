"""Accepting and rejecting submissions: filed through the report write (new incident or a
named one, reopened when closed), who decided, 409 once decided, scoped moderation, and that
nothing pending or rejected is public anywhere (lists, concern flags, CSV)."""

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.models import IncidentEvent, Submission
from app.models.api_key import Role
from app.models.enums import EventKind
from tests.api.submission_helpers import (
    API,
    CONTACT,
    NAME,
    SUBMISSIONS,
    receipt_view,
    set_submission_limit,
    submit,
)
from tests.api.test_errors import assert_problem
from tests.api.test_reports import bearer, get_incident, key_id, post_report, walk
from tests.factories import make_animal, make_key, make_species, make_zoo


@pytest.fixture(autouse=True)
def generous(app: FastAPI) -> Iterator[None]:
    set_submission_limit(app, "1000/hour")
    yield


def accept(client: TestClient, submission_id: int, **body: Any) -> dict[str, Any]:
    response = client.post(f"{SUBMISSIONS}/{submission_id}/accept", json=body)
    assert response.status_code == 201, response.text
    assert response.headers["Location"] == f"{API}/reports/{response.json()['id']}"
    return response.json()


def test_accepting_files_a_report_in_a_new_incident(
    client: TestClient, anon_client: TestClient, session: Session, admin_key: str
) -> None:
    zoo = make_zoo(session)
    animal = make_animal(session, zoo)
    created = submit(anon_client, zoo.id, animal_id=animal.id, severity=3)
    report = accept(client, created["id"], severity=5, note="Matches the AP photographs.")
    assert report["severity"] == 5 and report["animal_id"] == animal.id
    assert (report["reporter_name"], report["reporter_contact"]) == (NAME, CONTACT)
    incident = get_incident(client, report["incident_id"])
    assert (incident["status"], incident["severity"], incident["report_count"]) == (
        "reported",
        5,
        1,
    )
    public = anon_client.get(f"{API}/reports/{report['id']}").json()
    assert public["reporter_name"] is None and public["reporter_contact"] is None

    view = receipt_view(anon_client, created["id"], created["receipt"])
    assert view == {
        "id": created["id"],
        "status": "accepted",
        "incident_id": report["incident_id"],
        "reason": None,
    }
    whole = client.get(f"{SUBMISSIONS}/{created['id']}").json()
    assert whole["moderated_by_key_id"] == key_id(session, admin_key)
    assert whole["report_id"] == report["id"] and whole["moderated_at"]
    assert whole["moderation_note"] == "Matches the AP photographs."
    kinds = session.exec(
        select(IncidentEvent.kind).where(IncidentEvent.incident_id == report["incident_id"])
    ).all()
    assert kinds == [EventKind.created, EventKind.report_added]


def test_the_submitters_severity_is_used_or_one_must_be_given(
    client: TestClient, anon_client: TestClient, session: Session
) -> None:
    zoo = make_zoo(session)
    estimated = submit(anon_client, zoo.id, severity=2)
    assert accept(client, estimated["id"])["severity"] == 2
    unrated = submit(anon_client, zoo.id)
    refused = client.post(f"{SUBMISSIONS}/{unrated['id']}/accept", json={})
    assert_problem(refused, 422, ["body", "severity"])
    assert receipt_view(anon_client, unrated["id"], unrated["receipt"])["status"] == "pending"
    assert accept(client, unrated["id"], severity=1)["severity"] == 1


def test_a_duplicate_is_accepted_into_its_incident_and_reopens_it(
    client: TestClient, anon_client: TestClient, session: Session
) -> None:
    zoo = make_zoo(session)
    first = post_report(client, zoo.id, severity=2)
    walk(client, first["incident_id"], ["confirmed", "resolved"])
    created = submit(anon_client, zoo.id, severity=4)
    report = accept(client, created["id"], incident_id=first["incident_id"])
    assert report["incident_id"] == first["incident_id"]
    incident = get_incident(client, first["incident_id"])
    assert (incident["status"], incident["report_count"], incident["severity"]) == (
        "under_review",
        2,
        4,
    )


def test_the_submitters_incident_is_a_suggestion(
    client: TestClient, anon_client: TestClient, session: Session
) -> None:
    zoo, other = make_zoo(session), make_zoo(session)
    existing = post_report(client, zoo.id)["incident_id"]
    theirs = post_report(client, other.id)["incident_id"]
    wrong = anon_client.post(
        SUBMISSIONS,
        json={
            "zoo_id": zoo.id,
            "incident_id": theirs,
            "category": "health",
            "title": "Same as before",
            "observed_at": "2024-11-20T10:00:00Z",
        },
    )
    assert_problem(wrong, 422, ["body", "incident_id"])
    suggested = submit(anon_client, zoo.id, incident_id=existing, severity=3)
    assert accept(client, suggested["id"])["incident_id"] == existing
    overruled = submit(anon_client, zoo.id, incident_id=existing, severity=3)
    assert accept(client, overruled["id"], incident_id=None)["incident_id"] != existing


def test_an_incident_of_another_zoo_is_refused_and_the_submission_stays_pending(
    client: TestClient, anon_client: TestClient, session: Session
) -> None:
    zoo, other = make_zoo(session), make_zoo(session)
    theirs = post_report(client, other.id)["incident_id"]
    created = submit(anon_client, zoo.id, severity=3)
    refused = client.post(f"{SUBMISSIONS}/{created['id']}/accept", json={"incident_id": theirs})
    assert_problem(refused, 422, ["body", "zoo_id"])
    assert receipt_view(anon_client, created["id"], created["receipt"])["status"] == "pending"
    assert get_incident(client, theirs)["report_count"] == 1
    accept(client, created["id"])


def test_rejecting_needs_a_reason_which_the_receipt_shows(
    client: TestClient, anon_client: TestClient, session: Session
) -> None:
    created = submit(anon_client, make_zoo(session).id)
    path = f"{SUBMISSIONS}/{created['id']}/reject"
    assert_problem(client.post(path, json={}), 422, ["body", "reason"])
    assert_problem(client.post(path, json={"reason": " \u200b"}), 422, ["body", "reason"])
    rejected = client.post(path, json={"reason": "Not about an animal of this zoo."})
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["status"] == "rejected"
    view = receipt_view(anon_client, created["id"], created["receipt"])
    assert view["status"] == "rejected" and view["incident_id"] is None
    assert view["reason"] == "Not about an animal of this zoo."


def test_only_pending_submissions_can_be_moderated(
    client: TestClient, anon_client: TestClient, session: Session
) -> None:
    zoo = make_zoo(session)
    accepted = submit(anon_client, zoo.id, severity=3)["id"]
    rejected = submit(anon_client, zoo.id)["id"]
    accept(client, accepted)
    client.post(f"{SUBMISSIONS}/{rejected}/reject", json={"reason": "Spam."})
    for submission_id in (accepted, rejected):
        for action, body in (("accept", {"severity": 2}), ("reject", {"reason": "Again."})):
            response = client.post(f"{SUBMISSIONS}/{submission_id}/{action}", json=body)
            assert_problem(response, 409)
    assert_problem(client.post(f"{SUBMISSIONS}/2000000000/accept", json={}), 404)
    stored = session.get(Submission, rejected)
    assert stored is not None and stored.rejection_reason == "Spam."


def test_moderation_is_limited_to_the_inspectors_zoos(
    anon_client: TestClient, session: Session
) -> None:
    zoo, other = make_zoo(session), make_zoo(session)
    created = submit(anon_client, zoo.id, severity=3)
    elsewhere = bearer(make_key(session, Role.inspector, zoos=[other.slug]))
    for action, body in (("accept", {}), ("reject", {"reason": "Not ours."})):
        response = anon_client.post(
            f"{SUBMISSIONS}/{created['id']}/{action}", json=body, headers=elsewhere
        )
        assert_problem(response, 403)
    reporter = bearer(make_key(session, Role.reporter))
    response = anon_client.post(f"{SUBMISSIONS}/{created['id']}/accept", json={}, headers=reporter)
    assert_problem(response, 403)
    ours = bearer(make_key(session, Role.inspector, zoos=[zoo.slug]))
    response = anon_client.post(f"{SUBMISSIONS}/{created['id']}/accept", json={}, headers=ours)
    assert response.status_code == 201, response.text


def test_nothing_pending_or_rejected_is_public(
    client: TestClient, anon_client: TestClient, session: Session
) -> None:
    zoo = make_zoo(session)
    chimp = make_species(session, social_structure="solitary", climate_zones=["temperate"])
    animal = make_animal(session, zoo, chimp, name="Dallae")
    pending = submit(anon_client, zoo.id, animal_id=animal.id, severity=5)
    rejected = submit(anon_client, zoo.id, animal_id=animal.id, severity=5)
    client.post(f"{SUBMISSIONS}/{rejected['id']}/reject", json={"reason": "Duplicate."})

    def public_state() -> dict[str, Any]:
        concerns = anon_client.get(f"{API}/zoos/{zoo.slug}/concerns").json()
        ranking = anon_client.get(f"{API}/concerns").json()
        return {
            "incidents": anon_client.get(f"{API}/incidents").json()["total"],
            "reports": client.get(f"{API}/reports").json()["total"],
            "zoo_concerns": concerns["total"],
            "animal_flags": anon_client.get(f"{API}/animals/{animal.id}/concerns").json()["flags"],
            "csv": anon_client.get(f"{API}/zoos/{zoo.slug}/concerns.csv").text,
            "ranking": [z for z in ranking["items"] if z["zoo"]["id"] == zoo.id],
        }

    before = public_state()
    assert before["incidents"] == 0 and before["animal_flags"] == []
    texts = [anon_client.get(f"{API}/incidents").text, before["csv"]]
    assert not any("cigarette" in t or CONTACT in t for t in texts)

    accept(client, pending["id"])  # now, and only now, the registry shows it
    after = public_state()
    assert after["incidents"] == 1 and after["reports"] == 1
    rules = {flag["rule"] for flag in after["animal_flags"]}
    assert {"severe_open_incident", "human_imposed_behaviour"} <= rules
    assert CONTACT not in after["csv"] and NAME not in after["csv"]
