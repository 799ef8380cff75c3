"""The ranking read from stored totals, the flags raised and cleared, the daily snapshots
behind the timeline, and the worker that keeps them fresh (in-process here; real processes
in tests/e2e/test_worker_processes.py)."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.concerns import ConcernWorker
from app.concerns.lists import zoo_concerns
from app.core.config import Settings
from app.core.db import Sessions
from app.models import ConcernChange, ConcernSnapshot, FlagsState, Zoo
from tests.factories import make_animal, make_enclosure, make_species, make_zoo

TODAY = datetime.now(UTC).date()


def shared(session: Session) -> Sessions:
    @contextmanager
    def sessions() -> Iterator[Session]:
        yield session

    return sessions


def ranking(client: TestClient, **params: object) -> list[dict[str, object]]:
    response = client.get("/api/v1/concerns", params={"limit": 500, **params})
    assert response.status_code == 200, response.text
    items: list[dict[str, object]] = response.json()["items"]
    return items


def test_the_ranking_lists_every_zoo_with_its_totals(
    anon_client: TestClient, session: Session, settings: Settings
) -> None:
    quiet = make_zoo(session, country_code="SE")
    busy = make_zoo(session, country_code="SE")
    make_enclosure(session, busy, last_inspected_on=None)  # inspection_overdue, severity 2
    group = make_species(session, social_structure="group", min_group_size=3)
    pen = make_enclosure(session, busy, capacity=5, last_inspected_on=TODAY)
    make_animal(session, busy, group, enclosure_id=pen.id)  # social_isolation, severity 3
    items = {i["zoo"]["id"]: i for i in ranking(anon_client, country_code="SE")}  # type: ignore[index]
    assert set(items) == {quiet.id, busy.id}
    assert items[quiet.id]["total_score"] == 0 and items[quiet.id]["max_severity"] == 0
    assert items[busy.id]["flagged_animals"] == 1
    assert items[busy.id]["flagged_enclosures"] == 1
    assert items[busy.id]["total_score"] == 5 and items[busy.id]["max_severity"] == 3
    assert items[busy.id]["evaluated_at"] is not None
    # The totals are those of the zoo's list, evaluated from scratch.
    whole = zoo_concerns(session=session, settings=settings, zoo=busy)
    assert items[busy.id]["total_score"] == sum(i.score for i in whole)
    order = [i["zoo"]["id"] for i in ranking(anon_client, country_code="SE")]  # type: ignore[index]
    assert order == [busy.id, quiet.id]


def test_the_ranking_reflects_a_write_committed_before_it(
    client: TestClient, session: Session
) -> None:
    zoo = make_zoo(session, country_code="NO")
    animal = make_animal(session, zoo, make_species(session))
    assert ranking(client, country_code="NO")[0]["total_score"] == 0
    body = {
        "zoo_id": zoo.id,
        "animal_id": animal.id,
        "category": "health",
        "severity": 5,
        "title": "Seen limping",
        "observed_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
    }
    assert client.post("/api/v1/reports", json=body).status_code == 201
    (item,) = ranking(client, country_code="NO")
    assert item["total_score"] == 5 and item["open_incidents"] == 1


def test_changes_record_flags_raised_and_cleared(session: Session, settings: Settings) -> None:
    zoo = make_zoo(session)
    pen = make_enclosure(session, zoo, last_inspected_on=None)
    worker = ConcernWorker(settings, shared(session))
    assert worker.run_once() >= 1
    changes = session.exec(select(ConcernChange).where(ConcernChange.zoo_id == zoo.id)).all()
    assert [(c.kind, c.rule, c.subject_id) for c in changes] == [
        ("raised", "inspection_overdue", pen.id)
    ]
    assert changes[0].reason == "never inspected" and changes[0].severity == 2
    pen.last_inspected_on = TODAY
    session.add(pen)
    session.commit()  # the write hook makes the zoo stale
    assert worker.run_once() >= 1
    kinds = session.exec(
        select(ConcernChange.kind).where(ConcernChange.zoo_id == zoo.id).order_by(ConcernChange.id)
    ).all()
    assert kinds == ["raised", "cleared"]
    # Evaluated again with nothing changed: no new changes.
    session.delete(session.get(FlagsState, zoo.id))
    session.commit()
    assert zoo.id in ranking_stale(session, settings)
    worker.run_once()
    assert len(session.exec(select(ConcernChange).where(ConcernChange.zoo_id == zoo.id)).all()) == 2


def ranking_stale(session: Session, settings: Settings) -> list[int]:
    from app.concerns import ranking

    return ranking.stale(session, settings, datetime.now(UTC))


def test_the_worker_does_each_stale_zoo_once_and_each_new_day(
    session: Session, settings: Settings
) -> None:
    zoos = [make_zoo(session) for _ in range(3)]
    for zoo in zoos:
        make_enclosure(session, zoo, last_inspected_on=None)
    worker = ConcernWorker(settings, shared(session))
    assert worker.run_once() >= 3
    assert worker.run_once() == 0  # nothing stale
    for zoo in zoos:
        state = session.get(FlagsState, zoo.id)
        version = session.exec(select(Zoo.concern_version).where(Zoo.id == zoo.id)).one()
        assert state is not None and state.version == version
        assert state.flagged_enclosures == 1 and state.total_score == 2
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    later = ConcernWorker(settings, shared(session), clock=lambda: tomorrow)
    assert later.run_once() >= 3  # the day's rollover: every zoo again
    assert later.run_once() == 0
    days = {
        s.day
        for s in session.exec(
            select(ConcernSnapshot).where(ConcernSnapshot.zoo_id == zoos[0].id)
        ).all()
    }
    assert days == {TODAY, tomorrow.date()}


def test_the_timeline_has_a_day_per_item_oldest_first(
    anon_client: TestClient, session: Session, settings: Settings
) -> None:
    zoo = make_zoo(session)
    make_enclosure(session, zoo, last_inspected_on=None)
    session.add(
        ConcernSnapshot(
            zoo_id=zoo.id,
            day=TODAY - timedelta(days=5),
            flagged_animals=2,
            flagged_enclosures=1,
            total_score=9,
            max_severity=4,
            open_incidents=3,
        )
    )
    session.commit()
    ConcernWorker(settings, shared(session)).run_once()
    response = anon_client.get(f"/api/v1/zoos/{zoo.slug}/concerns/timeline", params={"days": 8})
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert [i["date"] for i in items] == [
        (TODAY - timedelta(days=d)).isoformat() for d in range(7, -1, -1)
    ]
    before, carried, today = items[:2], items[2:7], items[7]
    assert all(i["total_score"] == 0 and i["open_incidents"] == 0 for i in before)
    assert all(i["total_score"] == 9 and i["flagged_animals"] == 2 for i in carried)
    assert today == {
        "date": TODAY.isoformat(),
        "flagged_animals": 0,
        "flagged_enclosures": 1,
        "total_score": 2,
        "open_incidents": 0,
    }
    assert len(anon_client.get(f"/api/v1/zoos/{zoo.id}/concerns/timeline").json()["items"]) == 365
    for bad in ("0", "3661", "x"):
        refused = anon_client.get(f"/api/v1/zoos/{zoo.id}/concerns/timeline?days={bad}")
        assert refused.status_code == 422
    assert anon_client.get("/api/v1/zoos/no-such-zoo/concerns/timeline").status_code == 404


def test_a_zoo_that_fails_holds_up_no_other_and_stop_ends_a_pass(
    session: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.concerns import store, worker

    zoos = [make_zoo(session) for _ in range(3)]
    for zoo in zoos:
        make_enclosure(session, zoo, last_inspected_on=None)
    real, broken = store.update, zoos[0].id

    def update(session: Session, ctx: Any, **kwargs: Any) -> bool:
        if ctx.zoo_id == broken:
            raise RuntimeError("this zoo's update fails")
        return real(session, ctx, **kwargs)

    monkeypatch.setattr(worker.store, "update", update)
    stopped = threading.Event()
    stopped.set()
    pool = ConcernWorker(settings, shared(session))
    assert pool.run_once(stopped) == 0  # stopped before the first zoo
    assert pool.run_once() >= 2  # the broken zoo is logged and skipped
    assert broken in ranking_stale(session, settings)
    assert not {z.id for z in zoos[1:]} & set(ranking_stale(session, settings))
