"""Stored flags under concurrent reports, admin writes and reads of one zoo: no request fails
(no deadlock between a read bringing the flags up to date and a write marking or dropping
them) and the stored list ends exactly as the list evaluated from scratch.

Real commits and real concurrent transactions: a database of its own and an app with its own
engine (no rolled-back `session`), the concern cache off so every read goes to the store.
"""

import random
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.concerns.lists import zoo_concerns, zoo_concerns_page
from app.core import migrations
from app.core.config import Settings
from app.main import create_app
from app.models import Zoo
from app.models.api_key import Role
from tests.dbutil import create_database, drop_database
from tests.factories import make_animal, make_enclosure, make_key, make_species, make_zoo

ANIMALS = 12
REPORTS_PER_WRITER = 12
WRITERS, MOVERS, READERS = 4, 1, 3


@pytest.fixture(scope="module")
def live() -> Iterator[tuple[FastAPI, Settings]]:
    url = create_database("store_concurrency")
    settings = Settings(
        database_url=url, write_rate_limit="100000/minute", concern_cache_mb=0, db_pool_size=8
    )
    app = None
    try:
        migrations.upgrade(url)
        app = create_app(settings)
        yield app, settings
    finally:
        if app is not None:
            app.state.engine.dispose()
            app.state.write_engine.dispose()
        drop_database(url)


def test_concurrent_writes_and_reads_leave_the_stored_list_exact(
    live: tuple[FastAPI, Settings],
) -> None:
    app, settings = live
    with Session(app.state.engine, expire_on_commit=False) as session:
        zoo = make_zoo(session)
        group = make_species(session, social_structure="group", min_group_size=3)
        pens = [make_enclosure(session, zoo, capacity=4) for _ in range(3)]
        animals = [
            make_animal(session, zoo, group, enclosure_id=pens[n % 3].id).id for n in range(ANIMALS)
        ]
        reporter = make_key(session, Role.reporter)
        admin = make_key(session, Role.admin)
    failures: list[str] = []
    start = threading.Barrier(WRITERS + MOVERS + READERS)

    def client(token: str | None) -> TestClient:
        # Not entered: entering runs the app's lifespan, and the first client to leave would
        # dispose the engines under the others (a 30 s pool stall). The test runs it once.
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return TestClient(app, headers=headers, raise_server_exceptions=False)

    def check(response: object, expected: tuple[int, ...]) -> None:
        status = getattr(response, "status_code", 0)
        if status not in expected:
            failures.append(f"{status}: {getattr(response, 'text', '')[:300]}")

    def write(seed: int) -> None:
        rng, c = random.Random(seed), client(reporter)
        start.wait()
        for n in range(REPORTS_PER_WRITER):
            body = {
                "zoo_id": zoo.id,
                "animal_id": rng.choice(animals),
                "category": rng.choice(["health", "human_interaction", "nutrition"]),
                "severity": rng.randint(1, 5),
                "title": f"Report {seed}-{n}",
                "observed_at": (datetime.now(UTC) - timedelta(days=n)).isoformat(),
            }
            check(c.post("/api/v1/reports", json=body), (201,))

    def move(seed: int) -> None:
        rng, c = random.Random(seed), client(admin)
        start.wait()
        for _ in range(6):
            animal, pen = rng.choice(animals), rng.choice(pens)
            patch = {"enclosure_id": pen.id}
            check(c.patch(f"/api/v1/animals/{animal}", json=patch), (200,))

    def read(_: int) -> None:
        c = client(None)
        start.wait()
        for _ in range(10):
            check(c.get(f"/api/v1/zoos/{zoo.id}/concerns"), (200,))

    threads = [
        threading.Thread(target=work, args=(n,))
        for n, work in enumerate([write] * WRITERS + [move] * MOVERS + [read] * READERS)
    ]
    with TestClient(app):  # the app's lifespan, once around every request
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a request hung"
    assert failures == []

    with Session(app.state.engine, expire_on_commit=False) as session:
        current = session.get(Zoo, zoo.id)
        assert current is not None
        items, total = zoo_concerns_page(
            session=session, settings=settings, zoo=current, offset=0, limit=1000
        )
        assert items == zoo_concerns(session=session, settings=settings, zoo=current)
        assert total == len(items) > 0
