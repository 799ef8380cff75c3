"""OWASP API6:2023 Unrestricted Access to Sensitive Business Flows.

Business flows that must not be automated past their budget: one key cannot flood the
registry with reports, and a retried report is filed once.
"""

from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from app.models import WelfareReport
from app.models.api_key import Role
from tests.factories import make_key, make_zoo


def _report(zoo_id: int) -> dict[str, Any]:
    return {
        "zoo_id": zoo_id,
        "category": "health",
        "severity": 2,
        "title": "Seen limping",
        "observed_at": "2024-01-02T03:04:05Z",
    }


def test_a_retried_report_is_filed_once(client: TestClient, session: Session) -> None:
    zoo = make_zoo(session)
    headers = {"Idempotency-Key": "visit-2024-01-02"}
    first = client.post("/api/v1/reports", json=_report(zoo.id), headers=headers)
    again = client.post("/api/v1/reports", json=_report(zoo.id), headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers["Idempotent-Replayed"] == "true"
    count = session.exec(
        select(func.count()).select_from(WelfareReport).where(WelfareReport.zoo_id == zoo.id)
    ).one()
    assert count == 1


def test_one_key_cannot_flood_reports(
    app: FastAPI, anon_client: TestClient, session: Session
) -> None:
    from app.core.ratelimit import WriteRateLimiter

    app.state.rate_limiter = WriteRateLimiter("3/minute", "memory://")
    zoo = make_zoo(session)
    headers = {"Authorization": f"Bearer {make_key(session, Role.reporter)}"}
    statuses = [
        anon_client.post("/api/v1/reports", json=_report(zoo.id), headers=headers).status_code
        for _ in range(5)
    ]
    assert statuses == [201, 201, 201, 429, 429]
