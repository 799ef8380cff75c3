"""Anonymous reads are limited per client address, and the cross-zoo ranking is evaluated
once per state of the registry: before the fix, every anonymous GET /concerns re-evaluated
every zoo's incidents (1-2 s at size S), and 10 concurrent calls starved the service."""

from datetime import UTC, datetime

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from limits.storage import storage_from_string
from sqlmodel import Session

from app.core.clients import client_address, parse_networks
from app.core.ratelimit import ClientLimits
from app.models.api_key import Role
from app.welfare import engine
from tests.factories import make_animal, make_key, make_species, make_zoo


def _limit_reads(app: FastAPI, rate: str) -> None:
    app.state.client_limits = ClientLimits(
        read_rate=rate, auth_failure_rate="1000/minute", storage=storage_from_string("memory://")
    )


def test_anonymous_reads_over_the_budget_get_429(app: FastAPI, anon_client: TestClient) -> None:
    _limit_reads(app, "5/minute")
    statuses = [anon_client.get("/api/v1/zoos").status_code for _ in range(5)]
    assert statuses == [200] * 5
    refused = anon_client.get("/api/v1/concerns")
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.headers["content-type"] == "application/problem+json"
    assert "per address" in refused.json()["detail"]
    # The cached concern list, answered before routing, is counted too.
    zoo_list = anon_client.get("/api/v1/zoos/1/concerns")
    assert zoo_list.status_code == 429


def test_reads_with_a_key_are_not_counted_against_the_address(
    app: FastAPI, anon_client: TestClient, session: Session
) -> None:
    _limit_reads(app, "2/minute")
    token = make_key(session, Role.reporter)
    for _ in range(5):
        response = anon_client.get("/api/v1/zoos", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200


def test_a_junk_key_does_not_bypass_the_read_limit(app: FastAPI, anon_client: TestClient) -> None:
    _limit_reads(app, "1/minute")
    junk = {"Authorization": "Bearer zwr_0123456789ab_not-a-real-secret"}
    # A key that is sent is checked, on every route (even those that need none).
    assert anon_client.get("/api/v1/concerns", headers=junk).status_code == 401
    assert anon_client.get("/api/v1/zoos/1/concerns", headers=junk).status_code == 401


def _scope(peer: str, forwarded: str | None) -> dict:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
    return {"type": "http", "client": (peer, 1234), "headers": headers}


def test_the_client_address_trusts_x_forwarded_for_only_from_trusted_proxies() -> None:
    proxies = parse_networks(["10.0.0.0/8", "192.0.2.7"])
    assert client_address(_scope("203.0.113.5", "1.2.3.4"), proxies) == "203.0.113.5"
    assert client_address(_scope("10.1.2.3", "1.2.3.4"), proxies) == "1.2.3.4"
    # A client cannot hide behind an address it writes itself, left of the proxy's entry.
    assert client_address(_scope("10.1.2.3", "6.6.6.6, 1.2.3.4"), proxies) == "1.2.3.4"
    assert client_address(_scope("10.1.2.3", "1.2.3.4, 192.0.2.7"), proxies) == "1.2.3.4"
    assert client_address(_scope("10.1.2.3", None), proxies) == "10.1.2.3"
    assert client_address(_scope("10.1.2.3", "1.2.3.4"), ()) == "10.1.2.3"


@pytest.fixture
def rank_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = engine.rank_zoos

    def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "rank_zoos", counted)
    return calls


def test_the_ranking_is_evaluated_once_per_state_of_the_registry(
    client: TestClient, session: Session, rank_calls: list[int]
) -> None:
    zoo = make_zoo(session)
    animal = make_animal(session, zoo=zoo, species=make_species(session))
    first = client.get("/api/v1/concerns").json()
    client.get("/api/v1/concerns")
    client.get("/api/v1/concerns?offset=1")
    assert len(rank_calls) == 1
    report = {
        "zoo_id": zoo.id,
        "animal_id": animal.id,
        "category": "health",
        "severity": 5,
        "title": "Untreated wound",
        "observed_at": datetime.now(UTC).isoformat(),
    }
    assert client.post("/api/v1/reports", json=report).status_code == 201
    after = client.get("/api/v1/concerns").json()
    assert len(rank_calls) == 2
    ranked = {item["zoo"]["id"]: item for item in after["items"]}
    assert ranked[zoo.id]["total_score"] > 0
    assert after != first
