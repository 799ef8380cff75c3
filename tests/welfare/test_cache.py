"""The concern-list cache is invalidated by every kind of write, whichever app server made it.

These tests need real commits seen by separate engines, so they use their own database and
two independent app instances (two "servers") instead of the rolled-back test session.
"""

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.core import migrations
from app.core.config import Settings
from app.core.db import make_engine
from app.main import create_app
from app.models.api_key import Role
from tests.dbutil import create_database, drop_database
from tests.factories import make_animal, make_enclosure, make_key, make_species, make_zoo


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    url = create_database("cache")
    migrations.upgrade(url)
    yield url
    drop_database(url)


@pytest.fixture
def world(database_url: str) -> dict[str, int | str]:
    """A zoo with a lone animal of a group species in a big, inspected enclosure."""
    engine = make_engine(Settings(database_url=database_url))
    try:
        with Session(engine, expire_on_commit=False) as session:
            zoo = make_zoo(session)
            species = make_species(
                session, social_structure="group", min_group_size=2, climate_zones=["temperate"]
            )
            today = datetime.now(UTC).date()
            big = make_enclosure(session, zoo, capacity=10, last_inspected_on=today)
            other = make_enclosure(session, zoo, capacity=10, last_inspected_on=today)
            animal = make_animal(session, zoo, species, enclosure_id=big.id)
            token = make_key(session, Role.inspector)
            return {
                "zoo": zoo.slug,
                "zoo_id": zoo.id,  # type: ignore[dict-item]
                "animal": animal.id,  # type: ignore[dict-item]
                "big": big.id,  # type: ignore[dict-item]
                "other": other.id,  # type: ignore[dict-item]
                "token": token,
            }
    finally:
        engine.dispose()


@pytest.fixture
def servers(database_url: str) -> Iterator[tuple[TestClient, TestClient]]:
    """Two app instances on one database, each with its own engine and its own cache."""
    settings = Settings(database_url=database_url, write_rate_limit="10000/minute")
    first, second = create_app(settings), create_app(settings)
    with TestClient(first) as a, TestClient(second) as b:
        yield a, b


def flags(client: TestClient, world: dict[str, int | str]) -> dict[tuple[str, int], set[str]]:
    response = client.get(f"/api/v1/zoos/{world['zoo']}/concerns")
    assert response.status_code == 200, response.text
    return {
        (item["subject_type"], item["subject_id"]): {f["rule"] for f in item["flags"]}
        for item in response.json()["items"]
    }


def auth(world: dict[str, int | str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {world['token']}"}


def test_a_report_through_another_server_invalidates_the_list(
    servers: tuple[TestClient, TestClient], world: dict[str, int | str]
) -> None:
    a, b = servers
    animal = ("animal", world["animal"])
    before = flags(a, world)  # now cached by server a
    assert "severe_open_incident" not in before.get(animal, set())  # type: ignore[call-overload]

    report = {
        "zoo_id": world["zoo_id"],
        "animal_id": world["animal"],
        "category": "health",
        "severity": 5,
        "title": "Untreated wound",
        "observed_at": datetime.now(UTC).isoformat(),
    }
    assert b.post("/api/v1/reports", json=report, headers=auth(world)).status_code == 201

    assert "severe_open_incident" in flags(a, world)[animal]  # type: ignore[index]


def test_a_transition_through_another_server_invalidates_the_list(
    servers: tuple[TestClient, TestClient], world: dict[str, int | str]
) -> None:
    a, b = servers
    animal = ("animal", world["animal"])
    report = {
        "zoo_id": world["zoo_id"],
        "animal_id": world["animal"],
        "category": "health",
        "severity": 2,
        "title": "Limping",
        "observed_at": datetime.now(UTC).isoformat(),
    }
    created = b.post("/api/v1/reports", json=report, headers=auth(world))
    incident = created.json()["incident_id"]
    assert "confirmed_incident" not in flags(a, world).get(animal, set())  # type: ignore[call-overload]

    moved = b.post(
        f"/api/v1/incidents/{incident}/transitions", json={"to": "confirmed"}, headers=auth(world)
    )
    assert moved.status_code == 200, moved.text

    assert "confirmed_incident" in flags(a, world)[animal]  # type: ignore[index]


def test_moving_an_animal_through_another_server_invalidates_the_list(
    servers: tuple[TestClient, TestClient], world: dict[str, int | str]
) -> None:
    a, b = servers
    enclosure = ("enclosure", world["big"])
    assert enclosure not in flags(a, world)
    # Shrink the other enclosure so the move makes it overcrowded.
    patched = b.patch(
        f"/api/v1/enclosures/{world['other']}", json={"capacity": 1}, headers=auth(world)
    )
    assert patched.status_code == 200
    assert ("enclosure", world["other"]) not in flags(a, world)

    make_crowd = {
        "zoo_id": world["zoo_id"],
        "species_id": b.get(f"/api/v1/animals/{world['animal']}").json()["species_id"],
        "enclosure_id": world["other"],
    }
    assert b.post("/api/v1/animals", json=make_crowd, headers=auth(world)).status_code == 201
    cached = flags(a, world)
    assert ("enclosure", world["other"]) not in cached  # one animal for capacity 1

    moved = b.patch(
        f"/api/v1/animals/{world['animal']}",
        json={"enclosure_id": world["other"]},
        headers=auth(world),
    )
    assert moved.status_code == 200

    after = flags(a, world)
    assert "overcrowded" in after[("enclosure", world["other"])]  # type: ignore[index]


def test_an_unchanged_list_is_served_from_the_cache_with_304(
    servers: tuple[TestClient, TestClient], world: dict[str, int | str]
) -> None:
    a, b = servers
    first = a.get(f"/api/v1/zoos/{world['zoo']}/concerns")
    tag = first.headers["etag"]
    again = a.get(f"/api/v1/zoos/{world['zoo']}/concerns", headers={"If-None-Match": tag})
    assert again.status_code == 304
    assert again.headers["etag"] == tag

    # A write anywhere makes the tag stale on every server.
    patched = b.patch(
        f"/api/v1/enclosures/{world['big']}", json={"capacity": 9}, headers=auth(world)
    )
    assert patched.status_code == 200
    after = a.get(f"/api/v1/zoos/{world['zoo']}/concerns", headers={"If-None-Match": tag})
    assert after.status_code == 200
    assert after.headers["etag"] != tag
