"""Finding 10: the public audit trail showed each event's actor_key_id, which links every
report one reporter key filed (a reporter's whole history). Readers who are not admins or the
zoo's inspectors now see the actor's role only."""

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.models import ApiKey, WelfareIncident
from app.models.api_key import Role
from app.models.enums import Category
from app.models.report import WelfareReportCreate
from app.services import incidents as incident_service
from app.services import reports as report_service
from tests.api.test_reports import bearer, key_id, post_report
from tests.factories import make_key, make_zoo

API = "/api/v1"


def _history(client: TestClient, incident_id: int, token: str | None) -> list[dict]:
    headers = bearer(token) if token else None
    response = client.get(f"{API}/incidents/{incident_id}/history", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["items"]


@pytest.mark.parametrize("who", ["anonymous", "the reporter", "another reporter", "elsewhere"])
def test_others_see_the_actors_role_but_not_its_key(
    anon_client: TestClient, session: Session, who: str
) -> None:
    zoo = make_zoo(session)
    other_zoo = make_zoo(session)
    reporter = make_key(session, Role.reporter)
    incident_id = post_report(anon_client, zoo.id, token=reporter)["incident_id"]
    post_report(anon_client, zoo.id, token=reporter, incident_id=incident_id)
    readers = {
        "anonymous": None,
        "the reporter": reporter,
        "another reporter": make_key(session, Role.reporter),
        "elsewhere": make_key(session, Role.inspector, zoos=[other_zoo.slug]),
    }
    events = _history(anon_client, incident_id, readers[who])
    assert len(events) == 3
    assert [e["actor_key_id"] for e in events] == [None, None, None]
    assert [e["actor_role"] for e in events] == ["reporter"] * 3


@pytest.mark.parametrize("role", [Role.inspector, Role.admin])
def test_the_zoos_inspectors_and_admins_see_the_key(
    anon_client: TestClient, session: Session, role: Role
) -> None:
    zoo = make_zoo(session)
    reporter = make_key(session, Role.reporter)
    incident_id = post_report(anon_client, zoo.id, token=reporter)["incident_id"]
    reader = make_key(session, role, zoos=[zoo.slug] if role is Role.inspector else None)
    events = _history(anon_client, incident_id, reader)
    assert {e["actor_key_id"] for e in events} == {key_id(session, reporter)}
    assert {e["actor_role"] for e in events} == {"reporter"}


def test_events_without_a_key_have_no_role(anon_client: TestClient, session: Session) -> None:
    zoo = make_zoo(session)
    report_in = WelfareReportCreate(
        zoo_id=zoo.id,  # type: ignore[arg-type]
        category=Category.health,
        severity=2,
        title="From the seed",
        observed_at=datetime(2020, 1, 1, tzinfo=UTC),
    )
    report = report_service.file_report(session, report_in, None)
    session.commit()
    events = _history(anon_client, report.incident_id, None)
    assert [(e["actor_key_id"], e["actor_role"]) for e in events] == [(None, None)] * 2


def test_may_see_actor_keys(session: Session) -> None:
    incident = WelfareIncident(
        zoo_id=7,
        category=Category.health,
        severity=1,
        title="t",
        first_observed_at=datetime.now(UTC),
        last_observed_at=datetime.now(UTC),
    )

    def key(role: Role, zoos: list[int] | None) -> ApiKey:
        return ApiKey(name="k", role=role, zoo_ids=zoos, prefix="p", secret_hash="h")

    assert not incident_service.may_see_actor_keys(None, incident)
    assert not incident_service.may_see_actor_keys(key(Role.reporter, None), incident)
    assert not incident_service.may_see_actor_keys(key(Role.inspector, [8]), incident)
    assert incident_service.may_see_actor_keys(key(Role.inspector, [7]), incident)
    assert incident_service.may_see_actor_keys(key(Role.inspector, None), incident)
    assert incident_service.may_see_actor_keys(key(Role.admin, [8]), incident)
