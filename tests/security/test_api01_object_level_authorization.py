"""OWASP API1:2023 Broken Object Level Authorization: a key acts only on the objects of its
zoos, and an object's references never cross zoos.

Finding 9: SQLite reused the id of a deleted newest row, so a key limited to a deleted zoo
gained write access to the next zoo created. Every integer surrogate id is AUTOINCREMENT on
SQLite now (models and migration 0009); PostgreSQL's sequences never reused ids.

Finding 11: a zoo-scoped inspector attached its animals to another zoo's gift, after which
that gift could not be deleted. An animal may name a gift only when the gift went to the
animal's zoo or names no recipient zoo: on create and on update (a move to another zoo
included); and a gift cannot be given a recipient zoo its animals are not in.

Finding 12: a report filed with `incident_id` could name another zoo's incident, or another
animal or enclosure than the incident's. Such a report is a 422 naming the field; a report that
names no animal or enclosure takes the incident's subject, stored on the report itself.
"""

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, inspect, text
from sqlmodel import Session, SQLModel, func, select

import app.models  # noqa: F401 - registers every table
from app.core import migrations
from app.core.config import Settings
from app.core.db import make_engine
from app.core.errors import Unprocessable
from app.models import Animal, WelfareReport, Zoo
from app.models.animal import AnimalCreate, AnimalUpdate
from app.models.api_key import Role
from app.models.enums import Origin
from app.seed.loader import load_seed
from app.services import animals as animal_service
from tests.api.test_access import bearer, key_row
from tests.api.test_errors import assert_problem
from tests.dbutil import backend, create_database, drop_database
from tests.factories import make_animal, make_enclosure, make_gift, make_key, make_species, make_zoo

API = "/api/v1"


sqlite_only = pytest.mark.skipif(backend() != "sqlite", reason="SQLite's rowid reuse")


# Tables keyed by one integer surrogate id; the others are keyed by a zoo or (zoo, subject).
ID_TABLES = sorted(
    t.name for t in SQLModel.metadata.tables.values() if [c.name for c in t.primary_key] == ["id"]
)


def test_every_table_with_a_surrogate_id_asks_for_autoincrement() -> None:
    assert len(ID_TABLES) == 22
    for table in SQLModel.metadata.tables.values():
        wanted = table.name in ID_TABLES
        assert bool(table.dialect_kwargs.get("sqlite_autoincrement")) is wanted, table.name


def test_a_key_for_a_deleted_zoo_does_not_reach_the_next_zoo(
    client: TestClient, anon_client: TestClient, session: Session
) -> None:
    zoo = make_zoo(session)
    headers = bearer(make_key(session, Role.admin, zoos=[zoo.slug]))
    old_id = zoo.id
    assert client.delete(f"{API}/zoos/{zoo.slug}").status_code == 204
    created = client.post(
        f"{API}/zoos", json={"slug": "next", "name": "Next", "country_code": "KP"}
    )
    assert created.status_code == 201, created.text
    assert created.json()["id"] != old_id
    patched = anon_client.patch(f"{API}/zoos/next", json={"city": "Mine"}, headers=headers)
    assert_problem(patched, 403)


@sqlite_only
def test_deleting_the_newest_zoo_frees_no_id(session: Session) -> None:
    newest = make_zoo(session)
    freed = newest.id
    session.delete(newest)
    session.commit()
    assert make_zoo(session).id == freed + 1  # type: ignore[operator]


@sqlite_only
def test_the_migrated_tables_are_autoincrement(engine: Engine) -> None:
    with engine.connect() as conn:
        query = text("SELECT name, sql FROM sqlite_master WHERE type = 'table'")
        sql = {name: definition for name, definition in conn.execute(query)}
    for name in ID_TABLES:
        assert "PRIMARY KEY AUTOINCREMENT" in sql[name], name
    assert "sqlite_sequence" in sql


@pytest.fixture
def scratch_url() -> Iterator[str]:
    url = create_database("autoinc")
    yield url
    drop_database(url)


def _rows(url: str) -> dict[str, list[tuple[Any, ...]]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            names = sorted(set(inspect(conn).get_table_names()) - {"alembic_version"})
            return {
                n: [tuple(r) for r in conn.execute(text(f'SELECT * FROM "{n}" ORDER BY 1'))]
                for n in names
            }
    finally:
        engine.dispose()


def test_rows_and_ids_survive_the_migration(scratch_url: str) -> None:
    # The rows are written at head (the models are head's) and taken down to 0008 with the
    # later revisions' downgrades; migration 0009 is then what is checked.
    migrations.upgrade(scratch_url)
    engine = make_engine(Settings(database_url=scratch_url))
    try:
        assert load_seed(engine)["zoos"] > 0
        with Session(engine, expire_on_commit=False) as session:
            make_key(session, Role.admin)
            # A gap in the ids, and a deleted newest row: ids are kept as they were.
            gone = [make_zoo(session) for _ in range(3)]
            session.delete(gone[0])
            session.delete(gone[2])
            session.commit()
    finally:
        engine.dispose()
    migrations.downgrade(scratch_url, "0008")
    before = _rows(scratch_url)
    assert before["zoo"] and before["animal"] and before["api_key"]

    migrations.upgrade(scratch_url, "0009")
    assert _rows(scratch_url) == before

    migrations.upgrade(scratch_url)  # the models are head's; the later revisions keep 0009's
    engine = make_engine(Settings(database_url=scratch_url))
    try:
        with Session(engine, expire_on_commit=False) as session:
            added = make_zoo(session)
            assert added.id > gone[1].id  # type: ignore[operator]
            assert session.get(Zoo, gone[1].id) is not None
            # Rows still refer to each other.
            if backend() == "sqlite":
                broken = session.connection().exec_driver_sql("PRAGMA foreign_key_check").all()
                assert broken == []
    finally:
        engine.dispose()

    migrations.downgrade(scratch_url, "0008")
    after_down = _rows(scratch_url)
    assert {k: v for k, v in after_down.items() if k != "zoo"} == {
        k: v for k, v in before.items() if k != "zoo"
    }
    assert set(before["zoo"]) < set(after_down["zoo"])  # plus the zoo added at head


class Gifts:
    def __init__(self, session: Session) -> None:
        self.ours, self.theirs = make_zoo(session), make_zoo(session)
        self.species = make_species(session)
        self.their_gift = make_gift(session, recipient_zoo_id=self.theirs.id)
        self.our_gift = make_gift(session, recipient_zoo_id=self.ours.id)
        self.open_gift = make_gift(session)  # no recipient zoo recorded
        self.token = make_key(session, Role.inspector, zoos=[self.ours.slug])
        self.headers = bearer(self.token)

    def body(self, gift_id: int | None, **more: Any) -> dict[str, Any]:
        return {
            "zoo_id": self.ours.id,
            "species_id": self.species.id,
            "origin": "diplomatic_gift",
            "gift_id": gift_id,
        } | more


@pytest.fixture
def gifts(session: Session) -> Gifts:
    return Gifts(session)


def assert_gift_refused(response: Any) -> None:
    assert_problem(response, 422)
    locations = [e["location"] for e in response.json()["errors"]]
    assert locations == [["body", "gift_id"]]
    assert "went to zoo" in response.json()["detail"]


def test_scoped_inspector_cannot_attach_an_animal_to_another_zoos_gift(
    anon_client: TestClient, client: TestClient, session: Session, gifts: Gifts
) -> None:
    response = anon_client.post(
        f"{API}/animals", json=gifts.body(gifts.their_gift.id), headers=gifts.headers
    )
    assert_gift_refused(response)
    # So the other zoo's admin can still delete its gift.
    assert client.delete(f"{API}/gifts/{gifts.their_gift.id}").status_code == 204


def test_animals_may_name_their_zoos_gift_or_one_without_a_recipient(
    anon_client: TestClient, gifts: Gifts
) -> None:
    for gift in (gifts.our_gift, gifts.open_gift):
        response = anon_client.post(
            f"{API}/animals", json=gifts.body(gift.id), headers=gifts.headers
        )
        assert response.status_code == 201, response.text


def test_an_update_cannot_point_an_animal_at_another_zoos_gift(
    anon_client: TestClient, session: Session, gifts: Gifts
) -> None:
    animal = make_animal(session, gifts.ours, gifts.species)
    response = anon_client.patch(
        f"{API}/animals/{animal.id}",
        json={"origin": "diplomatic_gift", "gift_id": gifts.their_gift.id},
        headers=gifts.headers,
    )
    assert_gift_refused(response)
    session.refresh(animal)
    assert animal.gift_id is None


def test_moving_an_animal_away_from_its_gifts_zoo_is_refused(
    client: TestClient, session: Session, gifts: Gifts
) -> None:
    animal = make_animal(
        session,
        gifts.ours,
        gifts.species,
        origin=Origin.diplomatic_gift,
        gift_id=gifts.our_gift.id,
    )
    response = client.patch(f"{API}/animals/{animal.id}", json={"zoo_id": gifts.theirs.id})
    assert_gift_refused(response)
    session.refresh(animal)
    assert animal.zoo_id == gifts.ours.id
    # Moving along with a gift without a recipient zoo is fine.
    other = make_animal(
        session,
        gifts.ours,
        gifts.species,
        origin=Origin.diplomatic_gift,
        gift_id=gifts.open_gift.id,
    )
    moved = client.patch(f"{API}/animals/{other.id}", json={"zoo_id": gifts.theirs.id})
    assert moved.status_code == 200, moved.text


def test_a_gift_cannot_be_given_to_a_zoo_its_animals_are_not_in(
    client: TestClient, session: Session, gifts: Gifts
) -> None:
    make_animal(
        session,
        gifts.ours,
        gifts.species,
        origin=Origin.diplomatic_gift,
        gift_id=gifts.open_gift.id,
    )
    response = client.patch(
        f"{API}/gifts/{gifts.open_gift.id}", json={"recipient_zoo_id": gifts.theirs.id}
    )
    assert_problem(response, 422)
    assert [e["location"] for e in response.json()["errors"]] == [["body", "recipient_zoo_id"]]
    ours = client.patch(
        f"{API}/gifts/{gifts.open_gift.id}", json={"recipient_zoo_id": gifts.ours.id}
    )
    assert ours.status_code == 200, ours.text


def test_the_service_rule(session: Session, gifts: Gifts) -> None:
    actor = key_row(session, gifts.token)
    with pytest.raises(Unprocessable):
        animal_service.create(
            session=session,
            animal_in=AnimalCreate.model_validate(gifts.body(gifts.their_gift.id)),
            actor=actor,
        )
    animal = animal_service.create(
        session=session,
        animal_in=AnimalCreate.model_validate(gifts.body(gifts.our_gift.id)),
        actor=actor,
    )
    with pytest.raises(Unprocessable):
        animal_service.update(
            session=session,
            animal=animal,
            animal_in=AnimalUpdate.model_validate({"gift_id": gifts.their_gift.id}),
            actor=actor,
        )
    assert session.get(Animal, animal.id).gift_id == gifts.our_gift.id  # type: ignore[union-attr]


class Subjects:
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
def subjects(session: Session) -> Subjects:
    return Subjects(session)


def report(**fields: Any) -> dict[str, Any]:
    return {
        "category": "health",
        "severity": 2,
        "title": "Limping",
        "observed_at": "2024-11-20T10:00:00Z",
    } | fields


def file(client: TestClient, subjects: Subjects, body: dict[str, Any]) -> Any:
    return client.post(f"{API}/reports", json=body, headers=subjects.headers)


def open_incident(client: TestClient, subjects: Subjects, **subject: Any) -> int:
    response = file(client, subjects, report(zoo_id=subjects.a.id, **subject))
    assert response.status_code == 201, response.text
    return response.json()["incident_id"]


def reports_in(session: Session, incident_id: int) -> int:
    stmt = select(func.count()).where(WelfareReport.incident_id == incident_id)
    return session.exec(stmt).one()


def assert_refused_on(response: Any, field: str) -> None:
    assert_problem(response, 422)
    assert [e["location"] for e in response.json()["errors"]] == [["body", field]]


def test_a_report_cannot_name_another_zoos_incident(
    anon_client: TestClient, session: Session, subjects: Subjects
) -> None:
    incident = open_incident(anon_client, subjects, animal_id=subjects.animal.id)
    body = report(zoo_id=subjects.b.id, animal_id=subjects.b_animal.id, incident_id=incident)
    assert_refused_on(file(anon_client, subjects, body), "zoo_id")
    assert reports_in(session, incident) == 1


def test_a_report_cannot_name_another_animal_than_its_incidents(
    anon_client: TestClient, session: Session, subjects: Subjects
) -> None:
    incident = open_incident(anon_client, subjects, animal_id=subjects.animal.id)
    body = report(zoo_id=subjects.a.id, animal_id=subjects.other_animal.id, incident_id=incident)
    response = file(anon_client, subjects, body)
    assert_refused_on(response, "animal_id")
    assert f"animal {subjects.animal.id}" in response.json()["detail"]
    assert reports_in(session, incident) == 1


def test_a_report_cannot_name_an_animal_when_its_incident_is_about_an_enclosure(
    anon_client: TestClient, subjects: Subjects
) -> None:
    incident = open_incident(anon_client, subjects, enclosure_id=subjects.pen.id)
    body = report(zoo_id=subjects.a.id, animal_id=subjects.animal.id, incident_id=incident)
    assert_refused_on(file(anon_client, subjects, body), "animal_id")


def test_a_report_cannot_name_another_enclosure_than_its_incidents(
    anon_client: TestClient, subjects: Subjects
) -> None:
    incident = open_incident(anon_client, subjects, enclosure_id=subjects.pen.id)
    body = report(zoo_id=subjects.a.id, enclosure_id=subjects.other_pen.id, incident_id=incident)
    assert_refused_on(file(anon_client, subjects, body), "enclosure_id")


def test_a_report_without_a_subject_takes_its_incidents(
    anon_client: TestClient, session: Session, subjects: Subjects
) -> None:
    incident = open_incident(
        anon_client,
        subjects,
        animal_id=subjects.animal.id,
        enclosure_id=subjects.pen.id,
    )
    response = file(anon_client, subjects, report(zoo_id=subjects.a.id, incident_id=incident))
    assert response.status_code == 201, response.text
    assert (response.json()["animal_id"], response.json()["enclosure_id"]) == (
        subjects.animal.id,
        subjects.pen.id,
    )
    stored = session.get(WelfareReport, response.json()["id"])
    assert stored is not None
    assert (stored.animal_id, stored.enclosure_id) == (
        subjects.animal.id,
        subjects.pen.id,
    )
    # Naming the incident's own subject is of course fine.
    same = report(zoo_id=subjects.a.id, animal_id=subjects.animal.id, incident_id=incident)
    assert file(anon_client, subjects, same).status_code == 201
    assert reports_in(session, incident) == 3
