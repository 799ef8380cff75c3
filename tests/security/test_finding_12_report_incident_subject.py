"""Finding 12: a report filed with `incident_id` could name another zoo's incident, or another
animal or enclosure than the incident's. Such a report is a 422 naming the field; a report that
names no animal or enclosure takes the incident's subject, stored on the report itself."""

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from app.models import WelfareReport
from app.models.api_key import Role
from tests.api.test_access import bearer
from tests.api.test_errors import assert_problem
from tests.factories import make_animal, make_enclosure, make_key, make_species, make_zoo

API = "/api/v1"


class World:
    """Zoo A with two animals and two enclosures; zoo B with an animal; a reporter for both."""

    def __init__(self, session: Session) -> None:
        self.a, self.b = make_zoo(session), make_zoo(session)
        species = make_species(session)
        self.pen, self.other_pen = make_enclosure(session, self.a), make_enclosure(session, self.a)
        self.animal = make_animal(session, self.a, species, enclosure_id=self.pen.id)
        self.other_animal = make_animal(session, self.a, species)
        self.b_animal = make_animal(session, self.b, species)
        self.headers = bearer(make_key(session, Role.reporter))


@pytest.fixture
def world(session: Session) -> World:
    return World(session)


def report(**fields: Any) -> dict[str, Any]:
    return {
        "category": "health",
        "severity": 2,
        "title": "Limping",
        "observed_at": "2024-11-20T10:00:00Z",
    } | fields


def file(client: TestClient, world: World, body: dict[str, Any]) -> Any:
    return client.post(f"{API}/reports", json=body, headers=world.headers)


def open_incident(client: TestClient, world: World, **subject: Any) -> int:
    response = file(client, world, report(zoo_id=world.a.id, **subject))
    assert response.status_code == 201, response.text
    return response.json()["incident_id"]


def reports_in(session: Session, incident_id: int) -> int:
    stmt = select(func.count()).where(WelfareReport.incident_id == incident_id)
    return session.exec(stmt).one()


def assert_refused_on(response: Any, field: str) -> None:
    assert_problem(response, 422)
    assert [e["location"] for e in response.json()["errors"]] == [["body", field]]


def test_a_report_cannot_name_another_zoos_incident(
    anon_client: TestClient, session: Session, world: World
) -> None:
    incident = open_incident(anon_client, world, animal_id=world.animal.id)
    body = report(zoo_id=world.b.id, animal_id=world.b_animal.id, incident_id=incident)
    assert_refused_on(file(anon_client, world, body), "zoo_id")
    assert reports_in(session, incident) == 1


def test_a_report_cannot_name_another_animal_than_its_incidents(
    anon_client: TestClient, session: Session, world: World
) -> None:
    incident = open_incident(anon_client, world, animal_id=world.animal.id)
    body = report(zoo_id=world.a.id, animal_id=world.other_animal.id, incident_id=incident)
    response = file(anon_client, world, body)
    assert_refused_on(response, "animal_id")
    assert f"animal {world.animal.id}" in response.json()["detail"]
    assert reports_in(session, incident) == 1


def test_a_report_cannot_name_an_animal_when_its_incident_is_about_an_enclosure(
    anon_client: TestClient, world: World
) -> None:
    incident = open_incident(anon_client, world, enclosure_id=world.pen.id)
    body = report(zoo_id=world.a.id, animal_id=world.animal.id, incident_id=incident)
    assert_refused_on(file(anon_client, world, body), "animal_id")


def test_a_report_cannot_name_another_enclosure_than_its_incidents(
    anon_client: TestClient, world: World
) -> None:
    incident = open_incident(anon_client, world, enclosure_id=world.pen.id)
    body = report(zoo_id=world.a.id, enclosure_id=world.other_pen.id, incident_id=incident)
    assert_refused_on(file(anon_client, world, body), "enclosure_id")


def test_a_report_without_a_subject_takes_its_incidents(
    anon_client: TestClient, session: Session, world: World
) -> None:
    incident = open_incident(
        anon_client, world, animal_id=world.animal.id, enclosure_id=world.pen.id
    )
    response = file(anon_client, world, report(zoo_id=world.a.id, incident_id=incident))
    assert response.status_code == 201, response.text
    assert (response.json()["animal_id"], response.json()["enclosure_id"]) == (
        world.animal.id,
        world.pen.id,
    )
    stored = session.get(WelfareReport, response.json()["id"])
    assert stored is not None
    assert (stored.animal_id, stored.enclosure_id) == (world.animal.id, world.pen.id)
    # Naming the incident's own subject is of course fine.
    same = report(zoo_id=world.a.id, animal_id=world.animal.id, incident_id=incident)
    assert file(anon_client, world, same).status_code == 201
    assert reports_in(session, incident) == 3
