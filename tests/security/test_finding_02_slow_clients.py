"""Slow senders and slow readers hold no admission slot: the real server (uvicorn), a pool of
two, and more slow clients than slots.

Before the fix, five sockets that sent a report's headers and then one byte a second took
every slot (a slot was taken before the body was read), and every /api request and /readyz
timed out; a client that stopped reading a large response held its slot the same way.
"""

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.server import ServedApp, admin_token, run_cli, served_app

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
