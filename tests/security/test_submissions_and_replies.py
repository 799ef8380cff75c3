"""The attack surface of public submissions and replies (OWASP API2, API3, API4, API5, API6):
receipt guessing, the per-address budget behind forged X-Forwarded-For, private fields that
must not leak, and a representative key that tries to act beyond its one zoo."""

import hmac
import logging
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.core.config import Settings
from app.main import create_app
from app.models.api_key import Role
from app.services import submissions as submission_service
from tests.api.submission_helpers import (
    CONTACT,
    NAME,
    SUBMISSIONS,
    set_submission_limit,
    submission_body,
    submit,
)
from tests.api.test_access import bearer, key_row
from tests.api.test_errors import assert_problem
from tests.api.test_reports import INCIDENTS, post_report
from tests.dbutil import share_session
from tests.factories import make_key, make_zoo
from tests.limits import set_client_limits


@pytest.fixture(autouse=True)
def generous(app: FastAPI) -> Iterator[None]:
    set_submission_limit(app, "1000/hour")
    yield


# --- receipts ---------------------------------------------------------------------------------


def test_receipts_are_long_random_and_distinct(anon_client: TestClient, session: Session) -> None:
    zoo = make_zoo(session)
    receipts = [submit(anon_client, zoo.id)["receipt"] for _ in range(20)]
    assert len(set(receipts)) == 20
    assert all(len(r) >= 43 for r in receipts)  # 256 bits


def test_receipt_guessing_is_throttled_per_address(
    app: FastAPI, anon_client: TestClient, session: Session
) -> None:
    set_client_limits(app, auth_failures="3/minute")
    created = submit(anon_client, make_zoo(session).id)
    path = f"{SUBMISSIONS}/{created['id']}"
    guesses = [
        anon_client.get(path, headers={"X-Receipt": f"guess{i}"}).status_code for i in range(5)
    ]
    assert guesses == [404, 404, 404, 429, 429]
    # A request without a receipt is no guess; it learns nothing either.
    assert_problem(anon_client.get(path), 404)


def test_a_receipt_is_compared_in_constant_time_even_for_missing_ids(
    anon_client: TestClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    compared: list[int] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append(1)
        return real(a, b)

    monkeypatch.setattr(submission_service.hmac, "compare_digest", spy)
    created = submit(anon_client, make_zoo(session).id)
    for submission_id in (created["id"], 2_000_000_000):
        response = anon_client.get(f"{SUBMISSIONS}/{submission_id}", headers={"X-Receipt": "x1"})
        assert_problem(response, 404)
    assert len(compared) == 2


# --- the per-address budget -------------------------------------------------------------------


def test_a_forged_x_forwarded_for_does_not_reset_the_budget(
    app: FastAPI, anon_client: TestClient, session: Session
) -> None:
    set_submission_limit(app, "2/hour")
    zoo = make_zoo(session)
    statuses = [
        anon_client.post(
            SUBMISSIONS,
            json=submission_body(zoo.id),
            headers={"X-Forwarded-For": f"198.51.100.{i}"},
        ).status_code
        for i in range(4)
    ]
    assert statuses == [202, 202, 429, 429]


def test_behind_a_trusted_proxy_the_client_is_the_proxys_entry(
    settings: Settings, session: Session
) -> None:
    app = create_app(settings.model_copy(update={"trusted_proxies": ["10.0.0.0/8"]}))
    share_session(app, session)
    set_submission_limit(app, "2/hour")
    zoo = make_zoo(session)
    try:
        with TestClient(app, client=("10.1.2.3", 4321)) as proxied:

            def post(forwarded: str) -> int:
                response = proxied.post(
                    SUBMISSIONS,
                    json=submission_body(zoo.id),
                    headers={"X-Forwarded-For": forwarded},
                )
                return response.status_code

            # The client writes whatever it likes on the left; the proxy appends what it saw.
            forged = [post(f"6.6.6.{i}, 203.0.113.5") for i in range(3)]
            assert forged == [202, 202, 429]
            assert post("203.0.113.6") == 202  # another client has its own budget
    finally:
        app.state.engine.dispose()
        app.state.write_engine.dispose()


# --- private fields ---------------------------------------------------------------------------


def test_private_fields_never_leave_the_moderators(
    client: TestClient,
    anon_client: TestClient,
    session: Session,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    zoo = make_zoo(session)
    created = anon_client.post(SUBMISSIONS, json=submission_body(zoo.id, severity=4))
    refused = anon_client.post(
        SUBMISSIONS, json=submission_body(zoo.id, website="x", reporter_name=NAME * 30)
    )
    assert_problem(refused, 422)
    receipt = anon_client.get(
        f"{SUBMISSIONS}/{created.json()['id']}", headers={"X-Receipt": created.json()["receipt"]}
    )
    accepted = client.post(f"{SUBMISSIONS}/{created.json()['id']}/accept", json={})
    assert accepted.status_code == 201, accepted.text
    incident_id = accepted.json()["incident_id"]
    public = [
        created.text,
        refused.text,
        receipt.text,
        anon_client.get(f"/api/v1/reports/{accepted.json()['id']}").text,
        anon_client.get(f"{INCIDENTS}/{incident_id}/reports").text,
        anon_client.get(INCIDENTS).text,
        anon_client.get(f"/api/v1/zoos/{zoo.slug}/concerns.csv").text,
        caplog.text,
    ]
    for text in public:
        assert NAME not in text and CONTACT not in text
    reporter = bearer(make_key(session, Role.reporter))
    as_reporter = anon_client.get(f"/api/v1/reports/{accepted.json()['id']}", headers=reporter)
    assert CONTACT not in as_reporter.text


# --- the representative's scope ---------------------------------------------------------------


def test_a_scoped_admin_issues_representatives_only_for_its_zoos(
    anon_client: TestClient, session: Session
) -> None:
    ours, theirs = make_zoo(session), make_zoo(session)
    admin = bearer(make_key(session, Role.admin, zoos=[ours.slug]))
    body = {"name": "Press office", "role": "zoo_representative"}
    elsewhere = anon_client.post("/api/v1/keys", json=body | {"zoos": [theirs.slug]}, headers=admin)
    assert_problem(elsewhere, 403)
    issued = anon_client.post("/api/v1/keys", json=body | {"zoos": [ours.slug]}, headers=admin)
    assert issued.status_code == 201, issued.text


@pytest.mark.parametrize("stored_zoos", ["every zoo", "two zoos"])
def test_a_representative_key_widened_in_storage_still_cannot_reply(
    client: TestClient, anon_client: TestClient, session: Session, stored_zoos: str
) -> None:
    ours, theirs = make_zoo(session), make_zoo(session)
    token = make_key(session, Role.zoo_representative, zoos=[ours.slug])
    key = key_row(session, token)
    key.zoo_ids = None if stored_zoos == "every zoo" else [ours.id, theirs.id]  # type: ignore[list-item]
    session.add(key)
    session.commit()
    for zoo in (ours, theirs):
        incident_id = post_report(client, zoo.id)["incident_id"]
        response = anon_client.post(
            f"{INCIDENTS}/{incident_id}/replies", json={"body": "Ours."}, headers=bearer(token)
        )
        assert_problem(response, 403)


def test_a_representative_cannot_reply_to_another_zoos_incident_by_any_path(
    client: TestClient, anon_client: TestClient, session: Session
) -> None:
    ours, theirs = make_zoo(session), make_zoo(session)
    rep = bearer(make_key(session, Role.zoo_representative, zoos=[ours.slug]))
    incident_id = post_report(client, theirs.id)["incident_id"]
    path = f"{INCIDENTS}/{incident_id}/replies"
    for body in ({"body": "Ours.", "zoo_id": ours.id}, {"body": "Ours.", "incident_id": 1}):
        assert_problem(anon_client.post(path, json=body, headers=rep), 422)
    assert_problem(anon_client.post(path, json={"body": "Ours."}, headers=rep), 403)
    assert anon_client.get(path).json()["total"] == 0
