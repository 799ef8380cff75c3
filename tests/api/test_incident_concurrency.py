"""Concurrent writers against one incident and one Idempotency-Key.

These need real commits and real concurrent transactions, so they use a database of their own
and an app with its own engine (no rolled-back `session`, no dependency override).
"""

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import func
from sqlmodel import Session, select

from app.core import migrations
from app.core.config import Settings
from app.main import create_app
from app.models import IdempotencyRecord, IncidentEvent, WelfareIncident, WelfareReport
from app.models.api_key import Role
from tests.dbutil import create_database, drop_database
from tests.factories import make_key, make_zoo

pytestmark = pytest.mark.postgres_only

THREADS = 20
REPORTS = "/api/v1/reports"
INCIDENTS = "/api/v1/incidents"


@dataclass
class Timed:
    response: Response
    started: float
    finished: float


@pytest.fixture(scope="module")
def live_app() -> Iterator[FastAPI]:
    """An app on a freshly migrated database that commits for real; dropped afterwards."""
    url = create_database("concurrency")
    app = None
    try:
        migrations.upgrade(url)
        app = create_app(Settings(database_url=url, write_rate_limit="10000/minute"))
        yield app
    finally:
        if app is not None:
            app.state.engine.dispose()
            app.state.write_engine.dispose()
        drop_database(url)


@pytest.fixture
def reporter(live_app: FastAPI) -> tuple[int, str]:
    """A committed zoo and a reporter key; returns (zoo id, token)."""
    with Session(live_app.state.engine, expire_on_commit=False) as session:
        zoo = make_zoo(session)
        token = make_key(session, Role.reporter)
        assert zoo.id is not None
        return zoo.id, token


def report_body(zoo_id: int, **overrides: Any) -> dict[str, Any]:
    return {
        "zoo_id": zoo_id,
        "category": "human_interaction",
        "severity": 3,
        "title": "Chimpanzee made to smoke for visitors",
        "observed_at": "2016-10-19T10:00:00Z",
        "reporter_name": "A visitor",
        "reporter_contact": "visitor@example.org",
    } | overrides


def all_at_once(app: FastAPI, send: Callable[[TestClient, int], Response]) -> list[Timed]:
    """Runs `send` in THREADS threads, each with its own client (so its own event loop),
    released together by a barrier; returns every response with its timing."""
    barrier = threading.Barrier(THREADS)
    results: list[Timed | BaseException | None] = [None] * THREADS

    def worker(n: int) -> None:
        client = TestClient(app)
        try:
            barrier.wait(timeout=30)
            started = time.monotonic()
            response = send(client, n)
            results[n] = Timed(response, started, time.monotonic())
        except BaseException as exc:  # reported by the main thread
            results[n] = exc
        finally:
            client.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a request hung"
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, errors
    timed = [r for r in results if isinstance(r, Timed)]
    assert len(timed) == THREADS
    return timed


def max_overlap(timed: list[Timed]) -> int:
    """How many requests were in flight at the same moment, at most."""
    return max(sum(1 for o in timed if o.started <= t.started < o.finished) for t in timed)


def count_where(app: FastAPI, model: Any, *conditions: Any) -> int:
    with Session(app.state.engine) as session:
        return session.exec(select(func.count()).select_from(model).where(*conditions)).one()


def test_concurrent_reports_to_one_incident_are_all_counted(
    live_app: FastAPI, reporter: tuple[int, str]
) -> None:
    zoo_id, token = reporter
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(live_app) as client:
        first = client.post(REPORTS, json=report_body(zoo_id, severity=1), headers=headers)
    assert first.status_code == 201, first.text
    incident_id = first.json()["incident_id"]

    def send(client: TestClient, n: int) -> Response:
        body = report_body(
            zoo_id,
            incident_id=incident_id,
            severity=1 + n % 5,
            observed_at=f"2016-10-{1 + n:02d}T10:00:00Z",
            title=f"Report {n}",
        )
        return client.post(REPORTS, json=body, headers=headers)

    timed = all_at_once(live_app, send)

    assert [t.response.status_code for t in timed] == [201] * THREADS, [
        t.response.text for t in timed if t.response.status_code != 201
    ]
    assert {t.response.json()["incident_id"] for t in timed} == {incident_id}
    assert len({t.response.json()["id"] for t in timed}) == THREADS
    assert max_overlap(timed) > 1, "the requests did not run concurrently"

    rows = count_where(live_app, WelfareReport, WelfareReport.incident_id == incident_id)
    assert rows == THREADS + 1
    with TestClient(live_app) as client:
        incident = client.get(f"{INCIDENTS}/{incident_id}").json()
        listed = client.get(f"{INCIDENTS}/{incident_id}/reports").json()
    assert incident["report_count"] == rows
    assert listed["total"] == rows
    assert incident["severity"] == 5
    assert incident["first_observed_at"] == "2016-10-01T10:00:00Z"
    assert incident["last_observed_at"] == "2016-10-20T10:00:00Z"
    assert incident["version"] == 1 + THREADS, "every added report moves the version on"
    added = count_where(
        live_app,
        IncidentEvent,
        IncidentEvent.incident_id == incident_id,
        IncidentEvent.kind == "report_added",
    )
    assert added == rows


def test_concurrent_retries_of_one_idempotency_key_create_one_report(
    live_app: FastAPI, reporter: tuple[int, str]
) -> None:
    zoo_id, token = reporter
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "one-report-please"}
    body = report_body(zoo_id)

    timed = all_at_once(
        live_app, lambda client, n: client.post(REPORTS, json=body, headers=headers)
    )

    assert [t.response.status_code for t in timed] == [201] * THREADS, [
        t.response.text for t in timed if t.response.status_code != 201
    ]
    assert len({t.response.json()["id"] for t in timed}) == 1
    assert len({t.response.json()["incident_id"] for t in timed}) == 1
    assert len({t.response.headers["location"] for t in timed}) == 1
    replayed = [t for t in timed if t.response.headers.get("idempotent-replayed") == "true"]
    assert len(replayed) == THREADS - 1
    assert max_overlap(timed) > 1, "the requests did not run concurrently"

    assert count_where(live_app, WelfareReport, WelfareReport.zoo_id == zoo_id) == 1
    assert count_where(live_app, WelfareIncident, WelfareIncident.zoo_id == zoo_id) == 1
    assert (
        count_where(live_app, IdempotencyRecord, IdempotencyRecord.key == "one-report-please") == 1
    )
