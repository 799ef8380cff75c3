"""The zoo's right of reply: the zoo_representative role (exactly one zoo), replies to that
zoo's incidents only, public and immutable, and what the incident shows of them."""

from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session

from app.models.api_key import Role
from tests.api.test_errors import assert_problem
from tests.api.test_reports import INCIDENTS, bearer, get_incident, post_report
from tests.factories import make_key, make_zoo

API = "/api/v1"
BODY = "Dallae no longer takes part in any show; a vet's report is available on request."


def replies_of(client: TestClient, incident_id: int) -> dict[str, Any]:
    response = client.get(f"{INCIDENTS}/{incident_id}/replies")
    assert response.status_code == 200, response.text
    return response.json()


def test_an_admin_issues_a_representative_key_for_exactly_one_zoo(
    client: TestClient, session: Session
) -> None:
    zoo, other = make_zoo(session), make_zoo(session)
    body = {"name": "Zoo press office", "role": "zoo_representative"}
    for zoos in (None, [zoo.slug, other.slug], []):
        refused = client.post(f"{API}/keys", json=body | ({"zoos": zoos} if zoos else {}))
        assert_problem(refused, 422, ["body", "zoos"])
    issued = client.post(f"{API}/keys", json=body | {"zoos": [zoo.slug, str(zoo.id)]})
    assert issued.status_code == 201, issued.text
    assert issued.json()["zoo_ids"] == [zoo.id] and issued.json()["role"] == "zoo_representative"


def test_the_zoos_representative_replies_and_anyone_reads_it(
    client: TestClient, anon_client: TestClient, session: Session
) -> None:
    zoo = make_zoo(session)
    incident_id = post_report(client, zoo.id)["incident_id"]
    before = get_incident(client, incident_id)
    assert (before["replied"], before["reply_count"], before["last_replied_at"]) == (
        False,
        0,
        None,
    )
    rep = bearer(make_key(session, Role.zoo_representative, zoos=[zoo.slug]))
    created = anon_client.post(
        f"{INCIDENTS}/{incident_id}/replies", json={"body": BODY}, headers=rep
    )
    assert created.status_code == 201, created.text
    reply = created.json()
    assert set(reply) == {"id", "incident_id", "zoo_id", "body", "created_at"}
    assert (reply["incident_id"], reply["zoo_id"], reply["body"]) == (incident_id, zoo.id, BODY)
    correction = anon_client.post(
        f"{INCIDENTS}/{incident_id}/replies", json={"body": "Correction: since May."}, headers=rep
    )
    assert correction.status_code == 201

    listed = replies_of(anon_client, incident_id)
    assert [r["body"] for r in listed["items"]] == [BODY, "Correction: since May."]
    assert listed["total"] == 2
    after = get_incident(anon_client, incident_id)
    assert (after["replied"], after["reply_count"]) == (True, 2)
    assert after["last_replied_at"] == correction.json()["created_at"]
    assert after["version"] == before["version"] + 2
    assert after["status"] == before["status"] and after["report_count"] == 1
    history = anon_client.get(f"{INCIDENTS}/{incident_id}/history").json()["items"]
    replied = [e for e in history if e["kind"] == "reply_added"]
    assert [e["actor_role"] for e in replied] == ["zoo_representative"] * 2
    assert all(e["actor_key_id"] is None for e in replied)  # the public sees the role only
    listed_incidents = anon_client.get(INCIDENTS, params={"zoo_id": zoo.slug}).json()
    assert listed_incidents["items"][0]["replied"] is True


def test_only_the_representative_of_the_incidents_zoo_may_reply(
    client: TestClient, anon_client: TestClient, session: Session
) -> None:
    zoo, other = make_zoo(session), make_zoo(session)
    incident_id = post_report(client, zoo.id)["incident_id"]
    path = f"{INCIDENTS}/{incident_id}/replies"
    theirs = bearer(make_key(session, Role.zoo_representative, zoos=[other.slug]))
    assert_problem(anon_client.post(path, json={"body": BODY}, headers=theirs), 403)
    for role in (Role.reporter, Role.inspector, Role.admin):
        headers = bearer(make_key(session, role, zoos=[zoo.slug]))
        assert_problem(anon_client.post(path, json={"body": BODY}, headers=headers), 403)
    assert_problem(client.post(path, json={"body": BODY}), 403)  # an unscoped admin too
    assert_problem(anon_client.post(path, json={"body": BODY}), 401)
    assert replies_of(anon_client, incident_id)["total"] == 0
    ours = bearer(make_key(session, Role.zoo_representative, zoos=[zoo.slug]))
    assert_problem(anon_client.post(path, json={"body": " \u200b "}, headers=ours), 422)
    assert_problem(anon_client.post(path, json={"body": "x" * 5001}, headers=ours), 422)
    assert_problem(
        anon_client.post(f"{INCIDENTS}/2000000000/replies", json={"body": BODY}, headers=ours), 404
    )


def test_replies_are_immutable(
    client: TestClient, anon_client: TestClient, session: Session
) -> None:
    zoo = make_zoo(session)
    incident_id = post_report(client, zoo.id)["incident_id"]
    rep = bearer(make_key(session, Role.zoo_representative, zoos=[zoo.slug]))
    reply = anon_client.post(
        f"{INCIDENTS}/{incident_id}/replies", json={"body": BODY}, headers=rep
    ).json()
    path = f"{INCIDENTS}/{incident_id}/replies"
    for method in ("PATCH", "PUT", "DELETE"):
        assert_problem(anon_client.request(method, path, json={"body": "x"}, headers=rep), 405)
        one = anon_client.request(method, f"{path}/{reply['id']}", json={"body": "x"}, headers=rep)
        assert one.status_code in (404, 405), one.text
    assert [r["body"] for r in replies_of(anon_client, incident_id)["items"]] == [BODY]


def test_the_representative_can_do_nothing_else(
    client: TestClient, anon_client: TestClient, session: Session
) -> None:
    zoo = make_zoo(session)
    report = post_report(client, zoo.id)
    incident_id = report["incident_id"]
    submission = anon_client.post(
        f"{API}/submissions",
        json={
            "zoo_id": zoo.id,
            "category": "health",
            "severity": 2,
            "title": "Limping",
            "observed_at": "2024-11-20T10:00:00Z",
        },
    ).json()
    rep = bearer(make_key(session, Role.zoo_representative, zoos=[zoo.slug]))
    report_body = {
        "zoo_id": zoo.id,
        "category": "health",
        "severity": 1,
        "title": "All is well",
        "observed_at": "2024-11-20T10:00:00Z",
    }
    attempts = [
        ("POST", f"{API}/reports", report_body),
        ("GET", f"{API}/reports", None),
        ("PATCH", f"{INCIDENTS}/{incident_id}", {"severity": 1}),
        ("POST", f"{INCIDENTS}/{incident_id}/transitions", {"to": "dismissed"}),
        ("GET", f"{API}/submissions", None),
        ("POST", f"{API}/submissions/{submission['id']}/accept", {"severity": 1}),
        ("POST", f"{API}/submissions/{submission['id']}/reject", {"reason": "Untrue."}),
        ("PATCH", f"{API}/zoos/{zoo.slug}", {"submissions_paused": True}),
        ("POST", f"{API}/keys", {"name": "More", "role": "reporter", "zoos": [zoo.slug]}),
        ("GET", f"{API}/keys", None),
    ]
    for method, path, body in attempts:
        response = anon_client.request(method, path, json=body, headers=rep)
        assert_problem(response, 403)
    assert get_incident(client, incident_id)["status"] == "reported"
    # It reads what the public reads, and no more.
    seen = anon_client.get(f"{API}/reports/{report['id']}", headers=rep).json()
    assert seen["reporter_name"] is None and seen["reporter_contact"] is None
    hidden = anon_client.get(f"{API}/submissions/{submission['id']}", headers=rep)
    assert_problem(hidden, 404)
