"""/reports: submitting opens or feeds an incident, consistency checks, idempotent retries,
and reporter details that only the right callers see."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import func
from sqlmodel import Session, SQLModel, select

from app.core.security import parse_key
from app.models import IdempotencyRecord, WelfareIncident, WelfareReport, Zoo
from app.models.api_key import ApiKey, Role
from tests.api.test_errors import assert_problem
from tests.factories import make_animal, make_enclosure, make_key, make_zoo

API = "/api/v1"
REPORTS = f"{API}/reports"
INCIDENTS = f"{API}/incidents"


# --- helpers shared with test_incidents -------------------------------------------------


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def key_id(session: Session, token: str) -> int:
    """The database id of the key a token names (events record it as the actor)."""
    parts = parse_key(token)
    assert parts is not None
    key = session.exec(select(ApiKey).where(ApiKey.prefix == parts.prefix)).one()
    assert key.id is not None
    return key.id


def report_body(zoo_id: int, **overrides: Any) -> dict[str, Any]:
    return {
        "zoo_id": zoo_id,
        "category": "human_interaction",
        "severity": 3,
        "title": "Chimpanzee made to smoke for visitors",
        "description": "Lights cigarettes with a lighter, about a pack a day.",
        "observed_at": "2016-10-19T10:00:00Z",
        "reporter_name": "A visitor",
        "reporter_contact": "visitor@example.org",
        "evidence_urls": ["https://apnews.com/"],
    } | overrides


def post_report(
    client: TestClient, zoo_id: int, token: str | None = None, **overrides: Any
) -> dict[str, Any]:
    """Submits a report (with the client's own key unless `token` is given); expects 201."""
    headers = bearer(token) if token else None
    response = client.post(REPORTS, json=report_body(zoo_id, **overrides), headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def get_incident(client: TestClient, incident_id: int) -> dict[str, Any]:
    response = client.get(f"{INCIDENTS}/{incident_id}")
    assert response.status_code == 200, response.text
    return response.json()


def transition(client: TestClient, incident_id: int, to: str, note: str | None = None) -> Response:
    return client.post(f"{INCIDENTS}/{incident_id}/transitions", json={"to": to, "note": note})


def walk(client: TestClient, incident_id: int, path: list[str]) -> None:
    """Moves an incident along a legal path of statuses through the API."""
    for status in path:
        response = transition(client, incident_id, status)
        assert response.status_code == 200, response.text
        assert response.json()["status"] == status


def history(client: TestClient, incident_id: int) -> list[dict[str, Any]]:
    response = client.get(f"{INCIDENTS}/{incident_id}/history")
    assert response.status_code == 200, response.text
    return response.json()["items"]


def count(session: Session, model: type[SQLModel]) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


# --- submitting --------------------------------------------------------------------------


def test_report_opens_a_new_incident(anon_client: TestClient, session: Session) -> None:
    zoo = make_zoo(session)
    animal = make_animal(session, zoo)
    enclosure = make_enclosure(session, zoo)
    reporter = make_key(session, Role.reporter)
    payload = report_body(zoo.id, animal_id=animal.id, enclosure_id=enclosure.id, severity=4)

    response = anon_client.post(REPORTS, json=payload, headers=bearer(reporter))

    assert response.status_code == 201, response.text
    report = response.json()
    assert response.headers["location"] == f"{REPORTS}/{report['id']}"
    assert "idempotent-replayed" not in response.headers
    assert report["incident_id"] >= 1
    expected = {k: v for k, v in payload.items() if k != "observed_at"}
    assert report.items() >= expected.items()
    assert at(report["observed_at"]) == at(payload["observed_at"])
    fetched = anon_client.get(response.headers["location"], headers=bearer(reporter))
    assert fetched.json() == report

    incident = get_incident(anon_client, report["incident_id"])
    assert incident["status"] == "reported"
    assert incident["report_count"] == 1
    assert incident["severity"] == 4
    assert incident["severity_set_by_inspector"] is False
    assert (incident["zoo_id"], incident["animal_id"], incident["enclosure_id"]) == (
        zoo.id,
        animal.id,
        enclosure.id,
    )
    assert (incident["category"], incident["title"]) == (payload["category"], payload["title"])
    assert at(incident["first_observed_at"]) == at(payload["observed_at"])
    assert at(incident["last_observed_at"]) == at(payload["observed_at"])


def test_a_new_incident_is_written_whole_and_the_zoo_only_marked_stale(
    anon_client: TestClient, session: Session
) -> None:
    """On PostgreSQL the write is one statement of CTEs, on SQLite several; either way the
    incident, the report, both events and the zoo's concern_version - and nothing else of
    the zoo (its timestamps share names with the report's columns)."""
    zoo = make_zoo(session)
    animal = make_animal(session, zoo)
    reporter = make_key(session, Role.reporter)
    columns = select(Zoo.id, Zoo.created_at, Zoo.updated_at, Zoo.concern_version)
    before = {row[0]: row[1:] for row in session.exec(columns)}

    report = post_report(anon_client, zoo.id, reporter, animal_id=animal.id, severity=2)

    session.expire_all()
    after = {row[0]: row[1:] for row in session.exec(columns)}
    created, updated, version = before[zoo.id]
    assert after == before | {zoo.id: (created, updated, version + 1)}
    # Acting keys are shown to admins (and the zoo's inspectors) only.
    admin = bearer(make_key(session, Role.admin))
    url = f"{INCIDENTS}/{report['incident_id']}/history"
    events = anon_client.get(url, headers=admin).json()["items"]
    actor = key_id(session, reporter)
    assert [(e["kind"], e["actor_key_id"]) for e in events] == [
        ("created", actor),
        ("report_added", actor),
    ]
    assert (events[0]["to_status"], events[0]["to_severity"], events[0]["report_id"]) == (
        "reported",
        2,
        None,
    )
    assert events[1]["report_id"] == report["id"]
    assert events[1]["from_severity"] is events[1]["to_severity"] is None
    assert at(report["created_at"]) <= at(events[0]["at"]) <= at(events[1]["at"])


@pytest.mark.parametrize("role", [Role.reporter, Role.inspector, Role.admin])
def test_reporter_and_above_may_submit(
    anon_client: TestClient, session: Session, role: Role
) -> None:
    zoo = make_zoo(session)
    response = anon_client.post(
        REPORTS, json=report_body(zoo.id), headers=bearer(make_key(session, role))
    )
    assert response.status_code == 201, response.text


def test_anonymous_may_not_submit(anon_client: TestClient, session: Session) -> None:
    zoo = make_zoo(session)
    before = count(session, WelfareReport)
    assert_problem(anon_client.post(REPORTS, json=report_body(zoo.id)), 401)
    assert count(session, WelfareReport) == before


def test_reports_added_to_an_incident_feed_its_count_times_and_severity(
    client: TestClient, session: Session
) -> None:
    zoo = make_zoo(session)
    first = post_report(client, zoo.id, severity=2, observed_at="2024-06-10T10:00:00Z")
    incident_id = first["incident_id"]

    earlier_and_worse = post_report(
        client, zoo.id, incident_id=incident_id, severity=4, observed_at="2024-06-01T08:00:00Z"
    )
    assert earlier_and_worse["incident_id"] == incident_id
    incident = get_incident(client, incident_id)
    assert incident["report_count"] == 2
    assert incident["severity"] == 4
    assert at(incident["first_observed_at"]) == datetime(2024, 6, 1, 8, tzinfo=UTC)
    assert at(incident["last_observed_at"]) == datetime(2024, 6, 10, 10, tzinfo=UTC)

    later_and_milder = post_report(
        client, zoo.id, incident_id=incident_id, severity=3, observed_at="2024-07-01T12:00:00Z"
    )
    assert later_and_milder["incident_id"] == incident_id
    incident = get_incident(client, incident_id)
    assert incident["report_count"] == 3
    assert incident["severity"] == 4, "a milder report never lowers the severity"
    assert at(incident["first_observed_at"]) == datetime(2024, 6, 1, 8, tzinfo=UTC)
    assert at(incident["last_observed_at"]) == datetime(2024, 7, 1, 12, tzinfo=UTC)
    assert incident["status"] == "reported"
    assert count(session, WelfareIncident) == 1


def test_reports_do_not_raise_a_severity_an_inspector_set(
    client: TestClient, session: Session
) -> None:
    zoo = make_zoo(session)
    incident_id = post_report(client, zoo.id, severity=4)["incident_id"]
    patched = client.patch(f"{INCIDENTS}/{incident_id}", json={"severity": 2})
    assert patched.status_code == 200, patched.text
    assert patched.json()["severity_set_by_inspector"] is True

    post_report(client, zoo.id, incident_id=incident_id, severity=5)

    incident = get_incident(client, incident_id)
    assert incident["report_count"] == 2
    assert incident["severity"] == 2


@pytest.mark.parametrize(
    ("path", "closed"),
    [(["confirmed", "resolved"], "resolved"), (["dismissed"], "dismissed")],
)
def test_a_report_reopens_a_closed_incident_for_review(
    client: TestClient, session: Session, path: list[str], closed: str
) -> None:
    zoo = make_zoo(session)
    reporter = make_key(session, Role.reporter)
    incident_id = post_report(client, zoo.id)["incident_id"]
    walk(client, incident_id, path)
    version = get_incident(client, incident_id)["version"]

    post_report(client, zoo.id, token=reporter, incident_id=incident_id)

    incident = get_incident(client, incident_id)
    assert incident["status"] == "under_review"
    assert incident["report_count"] == 2
    assert incident["version"] > version
    reopening = [e for e in history(client, incident_id) if e["kind"] == "status_changed"][-1]
    assert (reopening["from_status"], reopening["to_status"]) == (closed, "under_review")
    assert reopening["actor_key_id"] == key_id(session, reporter)
    assert reopening["note"]


# --- consistency checks -------------------------------------------------------------------


Case = Callable[[Session, TestClient, Zoo], dict[str, Any]]


def _other_zoo_incident(session: Session, client: TestClient) -> int:
    return post_report(client, make_zoo(session).id)["incident_id"]


def _from_now(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


# (case id, body overrides given the setup, the error location(s) that name the problem)
BAD_REPORTS: list[tuple[str, Case, list[list[str | int]]]] = [
    (
        "animal-of-another-zoo",
        lambda s, c, z: {"animal_id": make_animal(s).id},
        [["body", "animal_id"]],
    ),
    (
        "enclosure-of-another-zoo",
        lambda s, c, z: {"enclosure_id": make_enclosure(s).id},
        [["body", "enclosure_id"]],
    ),
    (
        "observed-in-the-future",
        lambda s, c, z: {"observed_at": _from_now(1)},
        [["body", "observed_at"]],
    ),
    (
        "naive-observed-at",
        lambda s, c, z: {"observed_at": "2016-10-19T10:00:00"},
        [["body", "observed_at"]],
    ),
    ("severity-0", lambda s, c, z: {"severity": 0}, [["body", "severity"]]),
    ("severity-6", lambda s, c, z: {"severity": 6}, [["body", "severity"]]),
    ("unknown-category", lambda s, c, z: {"category": "smoking"}, [["body", "category"]]),
    (
        "ftp-evidence",
        lambda s, c, z: {"evidence_urls": ["ftp://example.org/photo.jpg"]},
        [["body", "evidence_urls", 0]],
    ),
    (
        "javascript-evidence",
        lambda s, c, z: {"evidence_urls": ["https://ok.example/", "javascript:alert(1)"]},
        [["body", "evidence_urls", 1]],
    ),
    (
        "incident-of-another-zoo",
        lambda s, c, z: {"incident_id": _other_zoo_incident(s, c)},
        [["body", "incident_id"], ["body", "zoo_id"]],
    ),
    (
        "no-such-incident",
        lambda s, c, z: {"incident_id": 2_000_000_000},
        [["body", "incident_id"]],
    ),
    ("unknown-field", lambda s, c, z: {"mood": "sad"}, [["body", "mood"]]),
]


@pytest.mark.parametrize(
    ("make_overrides", "locations"),
    [pytest.param(make, locations, id=name) for name, make, locations in BAD_REPORTS],
)
def test_inconsistent_report_is_422_and_writes_nothing(
    client: TestClient,
    session: Session,
    make_overrides: Case,
    locations: list[list[str | int]],
) -> None:
    zoo = make_zoo(session)
    overrides = make_overrides(session, client, zoo)
    before = (count(session, WelfareReport), count(session, WelfareIncident))

    response = client.post(REPORTS, json=report_body(zoo.id, **overrides))

    body = assert_problem(response, 422)
    assert any(error["location"] in locations for error in body["errors"]), body
    assert (count(session, WelfareReport), count(session, WelfareIncident)) == before


def test_a_few_minutes_of_clock_skew_is_not_the_future(
    client: TestClient, session: Session
) -> None:
    zoo = make_zoo(session)
    post_report(client, zoo.id, observed_at=_from_now(1 / (24 * 60)))


# --- Idempotency-Key ----------------------------------------------------------------------


def _post_with_key(
    client: TestClient, body: dict[str, Any], key: str, token: str | None = None
) -> Response:
    headers = {"Idempotency-Key": key} | (bearer(token) if token else {})
    return client.post(REPORTS, json=body, headers=headers)


@pytest.mark.parametrize("to_existing_incident", [False, True], ids=["new", "existing"])
def test_same_key_and_body_replays_the_first_response(
    client: TestClient, session: Session, to_existing_incident: bool
) -> None:
    zoo = make_zoo(session)
    extra = (
        {"incident_id": post_report(client, zoo.id)["incident_id"]} if to_existing_incident else {}
    )
    body = report_body(zoo.id, **extra)
    first = _post_with_key(client, body, "retry-me-1")
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    incident_before = get_incident(client, first.json()["incident_id"])
    counts = (
        count(session, WelfareReport),
        count(session, WelfareIncident),
        count(session, IdempotencyRecord),
    )

    again = _post_with_key(client, body, "retry-me-1")

    assert again.status_code == 201, again.text
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["location"] == first.headers["location"]
    assert again.json() == first.json()
    assert (
        count(session, WelfareReport),
        count(session, WelfareIncident),
        count(session, IdempotencyRecord),
    ) == counts
    assert get_incident(client, first.json()["incident_id"]) == incident_before


def test_same_key_with_another_body_is_422(client: TestClient, session: Session) -> None:
    zoo = make_zoo(session)
    first = _post_with_key(client, report_body(zoo.id, severity=3), "retry-me-2")
    assert first.status_code == 201, first.text
    before = (count(session, WelfareReport), count(session, WelfareIncident))

    response = _post_with_key(client, report_body(zoo.id, severity=5), "retry-me-2")

    assert_problem(response, 422, ["header", "Idempotency-Key"])
    assert (count(session, WelfareReport), count(session, WelfareIncident)) == before
    assert get_incident(client, first.json()["incident_id"])["severity"] == 3


def test_same_key_from_another_api_key_is_independent(client: TestClient, session: Session) -> None:
    zoo = make_zoo(session)
    one, two = make_key(session, Role.reporter), make_key(session, Role.reporter)
    body = report_body(zoo.id)
    first = _post_with_key(client, body, "shared-key", token=one)
    assert first.status_code == 201, first.text
    before = count(session, WelfareReport)

    other = _post_with_key(client, body, "shared-key", token=two)

    assert other.status_code == 201, other.text
    assert "idempotent-replayed" not in other.headers
    assert other.json()["id"] != first.json()["id"]
    assert other.json()["incident_id"] != first.json()["incident_id"]
    assert count(session, WelfareReport) == before + 1


# --- reporter details ---------------------------------------------------------------------

# viewer -> whether it sees reporter_name and reporter_contact
VIEWERS = {
    "anonymous": False,
    "submitting-reporter": True,
    "another-reporter": False,
    "inspector-for-the-zoo": True,
    "inspector-for-another-zoo": False,
    "admin": True,
}


def _viewer_headers(session: Session, viewer: str, zoo: Zoo, submitter: str) -> dict[str, str]:
    tokens = {
        "anonymous": None,
        "submitting-reporter": submitter,
        "another-reporter": make_key(session, Role.reporter),
        "inspector-for-the-zoo": make_key(session, Role.inspector, zoos=[zoo.slug]),
        "inspector-for-another-zoo": make_key(
            session, Role.inspector, zoos=[make_zoo(session).slug]
        ),
        "admin": make_key(session, Role.admin),
    }
    token = tokens[viewer]
    return bearer(token) if token else {}


@pytest.mark.parametrize(("viewer", "sees"), VIEWERS.items(), ids=VIEWERS.keys())
def test_reporter_details_only_for_those_allowed(
    anon_client: TestClient, session: Session, viewer: str, sees: bool
) -> None:
    zoo = make_zoo(session)
    submitter = make_key(session, Role.reporter)
    report = post_report(anon_client, zoo.id, token=submitter)
    assert (report["reporter_name"], report["reporter_contact"]) == (
        "A visitor",
        "visitor@example.org",
    ), "the submitter sees its own details in the 201 response"
    headers = _viewer_headers(session, viewer, zoo, submitter)
    expected = ("A visitor", "visitor@example.org") if sees else (None, None)

    single = anon_client.get(f"{REPORTS}/{report['id']}", headers=headers)
    listed = anon_client.get(f"{INCIDENTS}/{report['incident_id']}/reports", headers=headers)

    assert single.status_code == 200, single.text
    assert (single.json()["reporter_name"], single.json()["reporter_contact"]) == expected
    assert listed.status_code == 200, listed.text
    [item] = listed.json()["items"]
    assert item["id"] == report["id"]
    assert (item["reporter_name"], item["reporter_contact"]) == expected
    assert single.json()["title"] == report["title"], "the rest of the report is public"
