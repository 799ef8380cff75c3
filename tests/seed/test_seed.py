"""The seed loads the public facts once; a second run changes nothing."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from app.core import migrations
from app.core.config import Settings
from app.core.db import make_engine
from app.main import create_app
from app.models import Animal, Enclosure, Gift, Species, Zoo
from app.seed.loader import load_seed
from tests.dbutil import create_database, drop_database


@pytest.fixture(scope="module")
def seeded_engine() -> Iterator[Engine]:
    url = create_database("seed")
    migrations.upgrade(url)
    engine = make_engine(Settings(database_url=url))
    yield engine
    engine.dispose()
    drop_database(url)


def _counts(engine: Engine) -> dict[str, int]:
    with Session(engine) as session:
        return {
            model.__name__: session.exec(select(func.count()).select_from(model)).one()
            for model in (Zoo, Species, Gift, Enclosure, Animal)
        }


def test_seed_loads_facts_then_is_idempotent(seeded_engine: Engine) -> None:
    first = load_seed(seeded_engine)
    assert first == {
        "zoos": 2,
        "species": 8,
        "gifts": 4,
        "enclosures": 6,
        "animals": 9,
        "incidents": 1,
    }
    before = _counts(seeded_engine)
    assert load_seed(seeded_engine) == {}
    assert _counts(seeded_engine) == before


def test_seeded_registry_through_the_api(seeded_engine: Engine) -> None:
    load_seed(seeded_engine)
    app = create_app(Settings(database_url=seeded_engine.url.render_as_string(False)))
    with TestClient(app) as client:
        zoo = client.get("/api/v1/zoos/korea-central-zoo")
        assert zoo.status_code == 200
        assert zoo.json()["country_code"] == "KP"

        animals = client.get("/api/v1/animals", params={"zoo_id": zoo.json()["id"]}).json()
        names = {a["name"] for a in animals["items"]}
        assert "Dallae" in names

        gifts = client.get("/api/v1/gifts", params={"q": "November 2024"}).json()["items"]
        assert len(gifts) == 1
        brought = client.get(f"/api/v1/gifts/{gifts[0]['id']}/animals").json()["items"]
        # 1 lion, 2 bears, 2 yaks, 5 cockatoos, 25 pheasants, 40 ducks: 75 animals
        assert sum(a["count"] for a in brought) == 75
        assert len(brought) == 8
        assert all(a["origin"] == "diplomatic_gift" for a in brought)


def test_seed_enclosures_are_marked_illustrative(seeded_engine: Engine) -> None:
    load_seed(seeded_engine)
    with Session(seeded_engine) as session:
        notes = session.exec(select(Enclosure.notes)).all()
    assert notes and all("Illustrative" in (n or "") for n in notes)
