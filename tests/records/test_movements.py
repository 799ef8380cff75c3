"""Movements: every write that changes an animal's zoo, enclosure or status leaves its row
(and a failed one none), transfers keep the animal's id, history and incidents where they
happened, and need a key that covers both zoos; the migration backfills an arrival."""

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlmodel import Session

from app.core import migrations
from app.models.api_key import Role
from app.models.enums import Origin
from tests.api.test_errors import assert_problem
from tests.api.test_reports import bearer, post_report
from tests.dbutil import create_database, drop_database
from tests.factories import make_animal, make_enclosure, make_gift, make_key, make_zoo

API = "/api/v1/animals"


def movements(client: TestClient, animal_id: int) -> list[dict[str, Any]]:
    response = client.get(f"{API}/{animal_id}/movements")
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def kinds(rows: list[dict[str, Any]]) -> list[str]:
    return [r["kind"] for r in rows]


def test_every_kind_of_movement(client: TestClient, session: Session) -> None:
    zoo, other = make_zoo(session), make_zoo(session)
    house, yard = make_enclosure(session, zoo), make_enclosure(session, zoo)
    session.commit()
    created = client.post(
        API,
        json={
            "zoo_id": zoo.id,
            "species_id": make_animal(session, zoo).species_id,
            "enclosure_id": house.id,
            "arrived_on": "2019-05-01",
            "name": "Dallae",
        },
    )
    assert created.status_code == 201, created.text
    animal_id = created.json()["id"]
    assert client.patch(f"{API}/{animal_id}", json={"enclosure_id": yard.id}).status_code == 200
    assert client.patch(f"{API}/{animal_id}", json={"name": "Dal"}).status_code == 200  # none
    sent = client.post(
        f"{API}/{animal_id}/transfers",
        json={"to_zoo_id": other.id, "on": "2024-11-20", "note": "On loan."},
    )
    assert sent.status_code == 201, sent.text
    assert client.patch(f"{API}/{animal_id}", json={"status": "deceased"}).status_code == 200
    rows = movements(client, animal_id)
    assert kinds(rows) == [
        "arrival",
        "enclosure_move",
        "transfer_out",
        "transfer_in",
        "status_change",
    ]
    arrival, move, out, into, died = rows
    assert arrival["at"] == "2019-05-01" and arrival["to_zoo_id"] == zoo.id
    assert arrival["to_enclosure_id"] == house.id and arrival["to_status"] == "alive"
    assert (move["from_enclosure_id"], move["to_enclosure_id"]) == (house.id, yard.id)
    for row in (out, into):
        assert (row["from_zoo_id"], row["to_zoo_id"]) == (zoo.id, other.id)
        assert row["at"] == "2024-11-20" and row["note"] == "On loan."
        assert (row["from_enclosure_id"], row["to_enclosure_id"]) == (yard.id, None)
    assert (died["from_status"], died["to_status"]) == ("alive", "deceased")
    assert sent.json()["movements"] == [out, into]
    assert sent.json()["animal"]["zoo_id"] == other.id
    assert sent.json()["animal"]["id"] == animal_id


def test_a_zoo_change_by_patch_is_a_transfer_dated_today(
    client: TestClient, session: Session
) -> None:
    zoo, other = make_zoo(session), make_zoo(session)
    animal = make_animal(session, zoo)
    session.commit()
    assert client.patch(f"{API}/{animal.id}", json={"zoo_id": other.id}).status_code == 200
    rows = movements(client, animal.id)  # type: ignore[arg-type]
    assert kinds(rows) == ["arrival", "transfer_out", "transfer_in"]
    assert rows[1]["at"] == rows[0]["at"]  # recorded today, as the arrival was


def test_a_failed_write_leaves_no_movement(client: TestClient, session: Session) -> None:
    zoo, other = make_zoo(session), make_zoo(session)
    animal = make_animal(session, zoo)
    elsewhere = make_enclosure(session, other)
    session.commit()
    refused = client.patch(f"{API}/{animal.id}", json={"enclosure_id": elsewhere.id})
    assert_problem(refused, 422)
    path = f"{API}/{animal.id}/transfers"
    ours = make_enclosure(session, zoo).id
    for body in (
        {"to_zoo_id": zoo.id, "on": "2024-01-01"},  # already there
        {"to_zoo_id": other.id, "on": "2024-01-01", "enclosure_id": ours},  # not in the new zoo
        {"to_zoo_id": other.id, "on": "2999-01-01"},  # in the future
    ):
        assert_problem(client.post(path, json=body), 422)
    assert kinds(movements(client, animal.id)) == ["arrival"]  # type: ignore[arg-type]
    assert_problem(client.get(f"{API}/2147483647/movements"), 404)


def test_transfers_need_a_key_for_both_zoos(anon_client: TestClient, session: Session) -> None:
    zoo, other = make_zoo(session), make_zoo(session)
    animal = make_animal(session, zoo)
    session.commit()
    body = {"to_zoo_id": other.id, "on": "2024-11-20"}
    path = f"{API}/{animal.id}/transfers"
    only_ours = bearer(make_key(session, Role.inspector, zoos=[zoo.slug]))
    only_theirs = bearer(make_key(session, Role.inspector, zoos=[other.slug]))
    reporter = bearer(make_key(session, Role.reporter))
    assert_problem(anon_client.post(path, json=body), 401)
    for headers in (only_ours, only_theirs, reporter):
        assert_problem(anon_client.post(path, json=body, headers=headers), 403)
    both = bearer(make_key(session, Role.inspector, zoos=[zoo.slug, other.slug]))
    assert anon_client.post(path, json=body, headers=both).status_code == 201


def test_a_gifted_animal_keeps_its_gift_and_its_incidents_stay(
    client: TestClient, session: Session
) -> None:
    zoo, other = make_zoo(session), make_zoo(session)
    gift = make_gift(session, recipient_zoo_id=zoo.id)
    onward = make_gift(session, recipient_zoo_id=other.id)
    animal = make_animal(session, zoo, origin=Origin.diplomatic_gift, gift_id=gift.id)
    session.commit()
    report = post_report(client, zoo.id, animal_id=animal.id)
    wrong_gift = client.post(
        f"{API}/{animal.id}/transfers",
        json={"to_zoo_id": other.id, "on": "2024-11-20", "gift_id": gift.id},
    )
    assert_problem(wrong_gift, 422)  # that gift went to the first zoo, not this one
    sent = client.post(
        f"{API}/{animal.id}/transfers",
        json={"to_zoo_id": other.id, "on": "2024-11-20", "gift_id": onward.id},
    )
    assert sent.status_code == 201, sent.text
    assert sent.json()["animal"]["gift_id"] == gift.id  # the gift that first brought it
    assert [m["gift_id"] for m in sent.json()["movements"]] == [onward.id, onward.id]
    renamed = client.patch(f"{API}/{animal.id}", json={"name": "Moved"})
    assert renamed.status_code == 200, renamed.text
    incident = client.get(f"/api/v1/incidents/{report['incident_id']}").json()
    assert incident["zoo_id"] == zoo.id  # it happened there
    gifts_animals = client.get(f"/api/v1/gifts/{gift.id}/animals").json()["items"]
    assert [(a["id"], a["zoo_id"]) for a in gifts_animals] == [(animal.id, other.id)]


@pytest.fixture
def scratch_url() -> Any:
    url = create_database("movements")
    yield url
    drop_database(url)


def test_the_migration_backfills_an_arrival_and_unwinds(scratch_url: str) -> None:
    migrations.upgrade(scratch_url, "0015")
    engine = create_engine(scratch_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO zoo (id, name, slug, country_code, concern_version, created_at,"
                    " updated_at) VALUES (1, 'Zoo', 'zoo', 'KP', 0, :t, :t)"
                ),
                {"t": "2024-01-02 03:04:05"},
            )
            conn.execute(
                text(
                    "INSERT INTO species (id, scientific_name, common_name, taxon_class,"
                    " is_domestic, social_structure, min_group_size, climate_zones, updated_at)"
                    " VALUES (1, 'Pan troglodytes', 'Chimpanzee', 'mammal', false, 'group', 6,"
                    " '[]', :t)"
                ),
                {"t": "2024-01-02 03:04:05"},
            )
            for animal_id, arrived in ((1, "2019-05-01"), (2, None)):
                conn.execute(
                    text(
                        "INSERT INTO animal (id, zoo_id, species_id, sex, count, origin,"
                        " arrived_on, status, created_at, updated_at) VALUES (:id, 1, 1,"
                        " 'unknown', 1, 'unknown', :arrived, 'alive', :t, :t)"
                    ),
                    {"id": animal_id, "arrived": arrived, "t": "2024-01-02 03:04:05"},
                )
        migrations.upgrade(scratch_url, "0016")
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT animal_id, at, kind, to_zoo_id, to_status FROM animal_movement")
            ).all()
        assert sorted((r[0], str(r[1]), r[2], r[3], r[4]) for r in rows) == [
            (1, "2019-05-01", "arrival", 1, "alive"),
            (2, "2024-01-02", "arrival", 1, "alive"),
        ]
        migrations.downgrade(scratch_url, "0015")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM animal")).scalar() == 2
    finally:
        engine.dispose()
