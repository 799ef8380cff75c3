"""/submissions without a key: what is stored, the receipt, the checks of a report, the
honeypot, the per-zoo pause, the per-address budget, and the moderation queue."""

import hashlib
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import Session, select

from app.models import Submission, WelfareIncident, WelfareReport
from app.models.api_key import Role
from tests.api.submission_helpers import (
    CONTACT,
    NAME,
    SUBMISSIONS,
    receipt_view,
    set_submission_limit,
    submission_body,
    submit,
)
from tests.api.test_errors import assert_problem
from tests.api.test_reports import bearer
from tests.factories import make_animal, make_enclosure, make_key, make_zoo


@pytest.fixture(autouse=True)
def generous(app: FastAPI) -> Iterator[None]:
    """Room for the tests' many submissions from one address (the limit has its own)."""
    default = app.state.submission_limit
    set_submission_limit(app, "1000/hour")
    yield
    app.state.submission_limit = default


def test_anyone_submits_and_gets_a_receipt(anon_client: TestClient, session: Session) -> None:
    zoo = make_zoo(session)
    response = anon_client.post(SUBMISSIONS, json=submission_body(zoo.id))
    assert response.status_code == 202, response.text
    body = response.json()
    assert set(body) == {"id", "status", "receipt"}
    assert body["status"] == "pending"
    assert response.headers["Location"] == f"{SUBMISSIONS}/{body['id']}"
    assert len(body["receipt"]) >= 43  # 32 random bytes, URL-safe base64
    stored = session.get(Submission, body["id"])
    assert stored is not None and stored.severity is None
    assert stored.receipt_hash == hashlib.sha256(body["receipt"].encode()).hexdigest()
    assert stored.reporter_contact == CONTACT  # decrypted by the column type


def test_private_fields_are_encrypted_at_rest(anon_client: TestClient, session: Session) -> None:
    created = submit(anon_client, make_zoo(session).id)
    raw = session.execute(
        text("SELECT reporter_name, reporter_contact FROM submission WHERE id = :id"),
        {"id": created["id"]},
    ).one()
    assert NAME not in str(raw) and CONTACT not in str(raw)
    assert created["receipt"] not in str(session.execute(text("SELECT * FROM submission")).all())


def test_a_submission_is_checked_as_a_report_is(anon_client: TestClient, session: Session) -> None:
    zoo, other = make_zoo(session), make_zoo(session)
    theirs = make_animal(session, other)
    enclosure = make_enclosure(session, other)
    cases = [
        (submission_body(2_000_000_000), ["body", "zoo_id"]),
        (submission_body(zoo.id, animal_id=theirs.id), ["body", "animal_id"]),
        (submission_body(zoo.id, enclosure_id=enclosure.id), ["body", "enclosure_id"]),
        (submission_body(zoo.id, observed_at="2999-01-01T00:00:00Z"), ["body", "observed_at"]),
        (submission_body(zoo.id, title="\u200b "), ["body", "title"]),
        (submission_body(zoo.id, severity=6), ["body", "severity"]),
        (submission_body(zoo.id, evidence_urls=["file:///etc/passwd"]), None),
        (submission_body(zoo.id, reporter_contact="x" * 201), ["body", "reporter_contact"]),
        (submission_body(zoo.id, extra="field"), ["body", "extra"]),
    ]
    for body, location in cases:
        assert_problem(anon_client.post(SUBMISSIONS, json=body), 422, location)
    assert session.exec(select(Submission)).all() == []


def test_a_severity_may_be_given(anon_client: TestClient, session: Session) -> None:
    created = submit(anon_client, make_zoo(session).id, severity=4)
    stored = session.get(Submission, created["id"])
    assert stored is not None and stored.severity == 4


def test_a_filled_honeypot_is_refused_and_nothing_is_stored(
    anon_client: TestClient, session: Session
) -> None:
    zoo = make_zoo(session)
    response = anon_client.post(
        SUBMISSIONS, json=submission_body(zoo.id, website="http://spam.example")
    )
    assert_problem(response, 422, ["body", "website"])
    assert CONTACT not in response.text  # the other fields are not echoed either
    assert session.exec(select(Submission)).all() == []
    submit(anon_client, zoo.id, website="")  # an empty field, as a form sends it, is fine


def test_an_admin_pauses_and_resumes_a_zoos_submissions(
    client: TestClient, anon_client: TestClient, session: Session
) -> None:
    zoo = make_zoo(session)
    assert client.get(f"/api/v1/zoos/{zoo.slug}").json()["submissions_paused"] is False
    paused = client.patch(f"/api/v1/zoos/{zoo.slug}", json={"submissions_paused": True})
    assert paused.status_code == 200, paused.text
    assert paused.json()["submissions_paused"] is True
    response = anon_client.post(SUBMISSIONS, json=submission_body(zoo.id))
    body = assert_problem(response, 409)
    assert body["type"].endswith("submissions-paused")
    assert session.exec(select(Submission)).all() == []
    submit(anon_client, make_zoo(session).id)  # other zoos are not paused
    client.patch(f"/api/v1/zoos/{zoo.slug}", json={"submissions_paused": False})
    submit(anon_client, zoo.id)
    inspector = make_key(session, Role.inspector)
    response = anon_client.patch(
        f"/api/v1/zoos/{zoo.slug}", json={"submissions_paused": True}, headers=bearer(inspector)
    )
    assert_problem(response, 403)
    assert_problem(client.patch(f"/api/v1/zoos/{zoo.slug}", json={"submissions_paused": None}), 422)


def test_submissions_are_limited_per_address(
    app: FastAPI, anon_client: TestClient, session: Session
) -> None:
    set_submission_limit(app, "2/hour")
    zoo = make_zoo(session)
    first = anon_client.post(SUBMISSIONS, json=submission_body(zoo.id))
    assert first.status_code == 202
    assert (first.headers["RateLimit-Limit"], first.headers["RateLimit-Remaining"]) == ("2", "1")
    # A refused body spends the budget too: the count comes before the body is read.
    assert_problem(anon_client.post(SUBMISSIONS, json={"zoo_id": zoo.id}), 422)
    refused = anon_client.post(SUBMISSIONS, json=submission_body(zoo.id))
    assert_problem(refused, 429)
    assert int(refused.headers["Retry-After"]) > 0
    assert refused.headers["RateLimit-Remaining"] == "0"
    assert len(session.exec(select(Submission)).all()) == 1


def test_the_default_limit_is_five_an_hour(
    app: FastAPI, anon_client: TestClient, session: Session
) -> None:
    assert app.state.settings.submission_rate_limit == "5/hour"
    set_submission_limit(app, app.state.settings.submission_rate_limit)
    zoo = make_zoo(session)
    statuses = [
        anon_client.post(SUBMISSIONS, json=submission_body(zoo.id)).status_code for _ in range(6)
    ]
    assert statuses == [202] * 5 + [429]


# --- the receipt ------------------------------------------------------------------------------


def test_the_receipt_shows_the_status_and_nothing_else(
    anon_client: TestClient, session: Session
) -> None:
    created = submit(anon_client, make_zoo(session).id)
    view = receipt_view(anon_client, created["id"], created["receipt"])
    assert view == {"id": created["id"], "status": "pending", "incident_id": None, "reason": None}


def test_a_wrong_or_missing_receipt_is_a_404_like_a_missing_submission(
    anon_client: TestClient, session: Session
) -> None:
    created = submit(anon_client, make_zoo(session).id)
    path = f"{SUBMISSIONS}/{created['id']}"
    receipt = created["receipt"]
    # Another last character than the receipt's own (a receipt may end in "A").
    other = "B" if receipt.endswith("A") else "A"
    wrong = anon_client.get(path, headers={"X-Receipt": receipt[:-1] + other})
    missing = anon_client.get(path)
    absent = anon_client.get(f"{SUBMISSIONS}/2000000000", headers={"X-Receipt": "A" * 43})
    for response in (wrong, missing, absent):
        body = assert_problem(response, 404)
        assert body["detail"].startswith("No submission with id ")
        assert "Chimpanzee" not in response.text and CONTACT not in response.text
    assert wrong.json()["detail"] == missing.json()["detail"]
    other = submit(anon_client, make_zoo(session).id)
    crossed = anon_client.get(path, headers={"X-Receipt": other["receipt"]})
    assert_problem(crossed, 404)


def test_the_zoos_inspectors_and_admins_see_it_whole(
    client: TestClient, anon_client: TestClient, session: Session
) -> None:
    zoo, other = make_zoo(session), make_zoo(session)
    created = submit(anon_client, zoo.id)
    path = f"{SUBMISSIONS}/{created['id']}"
    ours = bearer(make_key(session, Role.inspector, zoos=[zoo.slug]))
    for response in (client.get(path), anon_client.get(path, headers=ours)):
        assert response.status_code == 200, response.text
        whole = response.json()
        assert (whole["reporter_name"], whole["reporter_contact"]) == (NAME, CONTACT)
        assert whole["status"] == "pending" and whole["title"].startswith("Chimpanzee")
        assert "receipt" not in whole and "receipt_hash" not in whole
    for role, zoos in ((Role.inspector, [other.slug]), (Role.reporter, None)):
        headers = bearer(make_key(session, role, zoos=zoos))
        assert_problem(anon_client.get(path, headers=headers), 404)
        # With the receipt, any caller sees what the receipt shows.
        view = anon_client.get(path, headers=headers | {"X-Receipt": created["receipt"]})
        assert view.status_code == 200 and "reporter_name" not in view.json()


# --- the moderation queue ---------------------------------------------------------------------


def test_the_queue_lists_the_inspectors_zoos_by_status(
    client: TestClient, anon_client: TestClient, session: Session
) -> None:
    zoo, other = make_zoo(session), make_zoo(session)
    ours = [submit(anon_client, zoo.id)["id"] for _ in range(3)]
    theirs = submit(anon_client, other.id)["id"]
    inspector = bearer(make_key(session, Role.inspector, zoos=[zoo.slug]))
    rejected = client.post(f"{SUBMISSIONS}/{ours[1]}/reject", json={"reason": "Duplicate."})
    assert rejected.status_code == 200, rejected.text

    listed = anon_client.get(SUBMISSIONS, headers=inspector).json()
    assert [s["id"] for s in listed["items"]] == ours and listed["total"] == 3
    assert listed["items"][0]["reporter_contact"] == CONTACT
    pending = anon_client.get(SUBMISSIONS, params={"status": "pending"}, headers=inspector)
    assert [s["id"] for s in pending.json()["items"]] == [ours[0], ours[2]]
    page = anon_client.get(SUBMISSIONS, params={"limit": 1, "offset": 1, "sort": "-id"})
    assert page.status_code == 401
    page = anon_client.get(
        SUBMISSIONS, params={"limit": 1, "offset": 1, "sort": "-id"}, headers=inspector
    ).json()
    assert (page["total"], [s["id"] for s in page["items"]]) == (3, [ours[1]])
    everything = client.get(SUBMISSIONS, params={"zoo_id": other.slug}).json()
    assert [s["id"] for s in everything["items"]] == [theirs]
    assert_problem(anon_client.get(SUBMISSIONS, headers=inspector, params={"status": "x"}), 422)
    reporter = bearer(make_key(session, Role.reporter))
    assert_problem(anon_client.get(SUBMISSIONS, headers=reporter), 403)


def test_nothing_is_filed_until_accepted(anon_client: TestClient, session: Session) -> None:
    zoo = make_zoo(session)
    submit(anon_client, zoo.id, severity=5)
    assert session.exec(select(WelfareIncident)).all() == []
    assert session.exec(select(WelfareReport)).all() == []
