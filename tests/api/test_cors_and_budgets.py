"""Cross-origin access (public reads from any origin, writes only from ZWR_CORS_ORIGINS, with
preflights answered) and the RateLimit headers on writes."""

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.core.config import Settings
from app.core.ratelimit import WriteRateLimiter
from app.main import create_app
from tests.dbutil import share_session
from tests.factories import make_zoo
from tests.limits import set_client_limits

NEWSROOM = "https://newsroom.example"
PARTNER = "https://ngo.example"


@pytest.fixture
def cors_client(settings: Settings, session: Session, admin_key: str) -> Iterator[TestClient]:
    app = create_app(settings.model_copy(update={"cors_origins": [PARTNER]}))
    share_session(app, session)
    with TestClient(app, headers={"Authorization": f"Bearer {admin_key}"}) as client:
        yield client
    app.state.engine.dispose()
    app.state.write_engine.dispose()


def test_public_reads_are_readable_from_any_origin(anon_client: TestClient) -> None:
    response = anon_client.get("/api/v1/zoos", headers={"Origin": NEWSROOM})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "ETag" in response.headers["Access-Control-Expose-Headers"]
    assert "Origin" in response.headers["Vary"]
    assert "Access-Control-Allow-Credentials" not in response.headers
    # Without an Origin (not a browser), nothing is added.
    assert "Access-Control-Allow-Origin" not in anon_client.get("/api/v1/zoos").headers


def test_a_read_preflight_is_answered_for_any_origin(anon_client: TestClient) -> None:
    response = anon_client.options(
        "/api/v1/zoos/1/concerns",
        headers={
            "Origin": NEWSROOM,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "if-none-match",
        },
    )
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "If-None-Match" in response.headers["Access-Control-Allow-Headers"]
    assert "POST" not in response.headers["Access-Control-Allow-Methods"]


def test_writes_only_from_listed_origins(cors_client: TestClient, session: Session) -> None:
    preflight = {"Access-Control-Request-Method": "POST"}
    refused = cors_client.options("/api/v1/zoos", headers={"Origin": NEWSROOM, **preflight})
    assert refused.status_code == 204
    assert "Access-Control-Allow-Origin" not in refused.headers
    allowed = cors_client.options("/api/v1/zoos", headers={"Origin": PARTNER, **preflight})
    assert allowed.headers["Access-Control-Allow-Origin"] == PARTNER
    assert "POST" in allowed.headers["Access-Control-Allow-Methods"]
    assert "Authorization" in allowed.headers["Access-Control-Allow-Headers"]
    body = {"slug": "cors-zoo", "name": "Cors Zoo", "country_code": "KP"}
    written = cors_client.post("/api/v1/zoos", json=body, headers={"Origin": PARTNER})
    assert written.status_code == 201
    assert written.headers["Access-Control-Allow-Origin"] == PARTNER
    # A page on another origin gets no readable answer to a write.
    other = cors_client.post(
        "/api/v1/zoos", json=body | {"slug": "cors-zoo-2"}, headers={"Origin": NEWSROOM}
    )
    assert "Access-Control-Allow-Origin" not in other.headers


def test_writes_carry_their_budget(app: FastAPI, client: TestClient, session: Session) -> None:
    app.state.rate_limiter = WriteRateLimiter("3/minute", "memory://")
    zoo = make_zoo(session)
    seen = []
    for n in range(4):
        response = client.patch(f"/api/v1/zoos/{zoo.id}", json={"name": f"Zoo {n}"})
        seen.append((response.status_code, response.headers.get("RateLimit-Remaining")))
        assert response.headers["RateLimit-Limit"] == "3"
        assert 0 <= int(response.headers["RateLimit-Reset"]) <= 60
    assert seen == [(200, "2"), (200, "1"), (200, "0"), (429, "0")]
    # Reads with a key spend no budget and say nothing of one.
    assert "RateLimit-Limit" not in client.get("/api/v1/zoos").headers


def test_anonymous_reads_carry_their_address_budget(app: FastAPI, anon_client: TestClient) -> None:
    set_client_limits(app, reads="3/minute")
    seen = []
    for _ in range(4):
        response = anon_client.get("/api/v1/zoos")
        seen.append((response.status_code, response.headers.get("RateLimit-Remaining")))
        assert response.headers["RateLimit-Limit"] == "3"
        assert 1 <= int(response.headers["RateLimit-Reset"]) <= 60
    assert seen == [(200, "2"), (200, "1"), (200, "0"), (429, "0")]
    assert int(response.headers["Retry-After"]) >= 1
