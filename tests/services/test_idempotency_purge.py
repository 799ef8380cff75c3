"""Idempotency keys are kept at least 24 hours, then may be purged."""

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app.models import IdempotencyRecord
from app.models.base import utcnow
from app.services.idempotency import purge as purge_idempotency_records
from tests.factories import make_zoo


def _post(client: TestClient, zoo_id: int, key: str) -> None:
    report = {
        "zoo_id": zoo_id,
        "category": "health",
        "severity": 2,
        "title": f"report {key}",
        "observed_at": "2026-11-01T10:00:00Z",
    }
    response = client.post("/api/v1/reports", json=report, headers={"Idempotency-Key": key})
    assert response.status_code == 201, response.text


def test_only_records_past_their_retention_are_purged(client: TestClient, session: Session) -> None:
    zoo = make_zoo(session)
    for key in ("old", "day-old", "fresh"):
        _post(client, zoo.id, key)  # type: ignore[arg-type]
    ages = {"old": timedelta(hours=49), "day-old": timedelta(hours=23), "fresh": timedelta(0)}
    for record in session.exec(select(IdempotencyRecord)).all():
        record.created_at = utcnow() - ages[record.key]
        session.add(record)
    session.commit()

    # Asking for less than 24 hours still keeps a day's keys.
    removed = purge_idempotency_records(session=session, older_than=timedelta(hours=1))

    assert removed == 1
    left = session.exec(select(IdempotencyRecord.key).order_by(col(IdempotencyRecord.key))).all()
    assert left == ["day-old", "fresh"]
