"""OWASP API4:2023 Unrestricted Resource Consumption: no client, however slow or insistent, takes
more than its share of connections, memory or work.

Finding 2: slow senders and slow readers hold no admission slot (tested on the real server,
uvicorn, with a pool of two and more slow clients than slots). Before the fix, five sockets that
sent a report's headers and then one byte a second took every slot (a slot was taken before the
body was read), and every /api request and /readyz timed out; a client that stopped reading a
large response held its slot the same way.

Finding 3: the concern-list cache counts what it really holds, and junk query parameters make no
entries: before the fix, each new junk parameter was cached under the raw query string but
counted as 256 bytes (1,000 requests with 60 KB query strings grew the process by 58 MB while
the cache counted 0.26 MB).

Finding 4: anonymous reads are limited per client address, and the cross-zoo ranking is
evaluated once per state of the registry: before the fix, every anonymous GET /concerns re-
evaluated every zoo's incidents (1-2 s at size S), and 10 concurrent calls starved the service.
"""

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.concerns import engine
from app.core.clients import client_address, parse_networks
from app.models.api_key import Role
from tests.e2e.server import ServedApp, admin_token, run_cli, served_app
from tests.factories import make_animal, make_key, make_species, make_zoo
from tests.limits import set_client_limits

POOL = 2


SLOW_CLIENTS = 4  # more than the pool


READ_TIMEOUT_S = 3


ANSWER_WITHIN_S = 2.5  # the admission wait of /readyz is 2 s


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServedApp, str]]:
    folder = tmp_path_factory.mktemp("slow-clients")
    env = {
        "ZWR_DB_POOL_SIZE": str(POOL),
        "ZWR_BODY_READ_TIMEOUT_S": str(READ_TIMEOUT_S),
        "ZWR_WRITE_RATE_LIMIT": "100000/minute",
    }
    token = admin_token_after_upgrade(folder, env)
    with served_app(folder, env) as app:
        yield app, token


def admin_token_after_upgrade(folder: Path, env: dict[str, str]) -> str:
    run_cli(folder, "db", "upgrade", extra_env=env)
    return admin_token(folder)


def _open(app: ServedApp) -> socket.socket:
    host, port = app.base_url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=30)
    return sock


def _answers_fast(app: ServedApp) -> None:
    with httpx.Client(base_url=app.base_url, timeout=ANSWER_WITHIN_S) as http:
        for path in ("/api/v1/zoos?limit=1", "/readyz", "/api/v1/concern-rules"):
            started = time.monotonic()
            response = http.get(path)
            assert response.status_code == 200, (path, response.text)
            assert time.monotonic() - started < ANSWER_WITHIN_S


def test_slow_senders_hold_no_slot_and_get_408(server: tuple[ServedApp, str]) -> None:
    app, token = server
    sockets = [_open(app) for _ in range(SLOW_CLIENTS)]
    stop = threading.Event()
    head = (
        "POST /api/v1/reports HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        "Content-Length: 100000\r\n\r\n{"
    ).encode()
    for sock in sockets:
        sock.sendall(head)

    def dribble() -> None:
        while not stop.wait(0.5):
            for sock in sockets:
                with contextlib.suppress(OSError):
                    sock.send(b" ")

    dribbler = threading.Thread(target=dribble, daemon=True)
    dribbler.start()
    try:
        time.sleep(0.5)
        _answers_fast(app)
        # Each slow sender is answered 408 once its body is late, however it keeps dribbling.
        for sock in sockets:
            sock.settimeout(READ_TIMEOUT_S + 5)
            answer = sock.recv(4096).decode("latin-1")
            assert answer.startswith("HTTP/1.1 408"), answer[:200]
            assert "application/problem+json" in answer
    finally:
        stop.set()
        dribbler.join(timeout=5)
        for sock in sockets:
            sock.close()


def test_slow_readers_hold_no_slot(server: tuple[ServedApp, str]) -> None:
    app, token = server
    # Zoos with long notes make a large list page (about 1.5 MB).
    with httpx.Client(
        base_url=app.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    ) as http:
        existing = http.get("/api/v1/zoos", params={"limit": 1}).json()["total"]
        for n in range(existing, 300):
            created = http.post(
                "/api/v1/zoos",
                json={
                    "slug": f"zoo-{n}",
                    "name": f"Zoo {n}",
                    "country_code": "KP",
                    "notes": "n" * 4900,
                },
            )
            assert created.status_code == 201, created.text
    request = b"GET /api/v1/zoos?limit=500 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    readers = []
    for _ in range(SLOW_CLIENTS):
        sock = _open(app)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.sendall(request * 10)  # about 15 MB of answers, never read
        readers.append(sock)
    try:
        time.sleep(1.5)  # the server is now blocked writing to every reader
        _answers_fast(app)
    finally:
        for sock in readers:
            sock.close()


def test_unknown_query_parameters_are_refused_and_cache_nothing(
    app: FastAPI, anon_client: TestClient, session: Session
) -> None:
    zoo = make_zoo(session)
    cache = app.state.concerns.cache
    before = cache.size
    for n in range(20):
        response = anon_client.get(f"/api/v1/zoos/{zoo.slug}/concerns?junk{n}={'x' * 2000}")
        assert response.status_code == 422
        assert response.json()["errors"][0]["location"] == ["query", f"junk{n}"]
    assert cache.size == before


def test_every_entry_counts_its_key_and_body(
    app: FastAPI, anon_client: TestClient, session: Session
) -> None:
    zoo = make_zoo(session)
    cache = app.state.concerns.cache
    before = cache.size
    accepts = [f"application/json;q=0.{n}, " + "x" * 900 for n in range(1, 30)]
    for accept in accepts:
        response = anon_client.get(f"/api/v1/zoos/{zoo.slug}/concerns", headers={"Accept": accept})
        assert response.status_code == 200
    # One rendered body shared by every alias, each alias keyed by its raw Accept header.
    assert cache.size - before >= sum(len(a) for a in accepts)
    # And repeats are answered from the cache without growing it.
    grown = cache.size
    for accept in accepts[:5]:
        assert (
            anon_client.get(
                f"/api/v1/zoos/{zoo.slug}/concerns", headers={"Accept": accept}
            ).status_code
            == 200
        )
    assert cache.size == grown


def test_the_cache_stays_within_its_budget(
    app: FastAPI, anon_client: TestClient, session: Session
) -> None:
    zoo = make_zoo(session)
    cache = app.state.concerns.cache
    cache.max_bytes = 20_000
    for n in range(60):
        accept = f"application/json;q=0.{n % 9 + 1}, " + "y" * (500 + n)
        anon_client.get(f"/api/v1/zoos/{zoo.slug}/concerns", headers={"Accept": accept})
        assert cache.size <= cache.max_bytes


def test_anonymous_reads_over_the_budget_get_429(app: FastAPI, anon_client: TestClient) -> None:
    set_client_limits(app, reads="5/minute")
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
    set_client_limits(app, reads="2/minute")
    token = make_key(session, Role.reporter)
    for _ in range(5):
        response = anon_client.get("/api/v1/zoos", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200


def test_a_junk_key_does_not_bypass_the_read_limit(app: FastAPI, anon_client: TestClient) -> None:
    set_client_limits(app, reads="1/minute")
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
def evaluations(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The rule evaluations made (each zoo's: the ranking reads stored totals)."""
    calls: list[int] = []
    real = engine.evaluate

    def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "evaluate", counted)
    return calls


def test_the_ranking_is_evaluated_once_per_state_of_the_registry(
    client: TestClient, session: Session, evaluations: list[int]
) -> None:
    zoo = make_zoo(session)
    animal = make_animal(session, zoo=zoo, species=make_species(session))
    first = client.get("/api/v1/concerns").json()
    evaluated = len(evaluations)
    client.get("/api/v1/concerns")
    client.get("/api/v1/concerns?offset=1")
    assert len(evaluations) == evaluated  # the zoos' totals were up to date
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
    assert len(evaluations) == evaluated + 1  # the one zoo written to, its one subject
    ranked = {item["zoo"]["id"]: item for item in after["items"]}
    assert ranked[zoo.id]["total_score"] > 0
    assert after != first
