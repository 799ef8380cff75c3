"""More requests in flight than database connections: all are answered, none stalls.

A request holds its connection across threadpool hops; without admission control, 40 busy
threads can all wait for connections held by requests that wait for a thread, until the pool
times out (30 s) and the requests fail with 500. The real server, a tiny pool and a burst of
concurrent clients show the queueing at work, on a search, and on one animal's concerns, a zoo's
timeline and its page (whose routes once took a second connection while holding the first:
with every connection held by a request waiting for a second one, nothing moved until the pool
timed out).
"""

import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.server import run_cli, served_app

CLIENTS = 48  # more than the threadpool's 40 threads
POOL = 2
DEADLINE_S = 20.0  # well under the pool's 30 s timeout


@pytest.mark.parametrize("target", ["search", "animal_concerns", "timeline", "zoo_page"])
def test_a_burst_beyond_the_pool_is_queued_not_stalled(tmp_path: Path, target: str) -> None:
    # The concern cache off: every request of one animal's concerns goes through its route,
    # which reads the animal, its zoo's stamp and its flags, all on the request's connection.
    env = {"ZWR_DB_POOL_SIZE": str(POOL), "ZWR_CONCERN_CACHE_MB": "0"}
    if target != "search":
        run_cli(tmp_path, "db", "upgrade")
        run_cli(tmp_path, "seed")
    with served_app(tmp_path, env) as app:
        params: dict[str, str] = {}
        if target == "search":
            path, params = "/api/v1/zoos", {"q": "zoo"}
        elif target == "animal_concerns":
            first = httpx.get(f"{app.base_url}/api/v1/animals", params={"limit": 1})
            path = f"/api/v1/animals/{first.json()['items'][0]['id']}/concerns"
        else:
            zoo = httpx.get(f"{app.base_url}/api/v1/zoos", params={"limit": 1}).json()["items"][0]
            timeline = f"/api/v1/zoos/{zoo['slug']}/concerns/timeline"
            path = timeline if target == "timeline" else f"/zoos/{zoo['slug']}"
        barrier = threading.Barrier(CLIENTS)
        statuses: list[int] = []
        lock = threading.Lock()

        def client() -> None:
            with httpx.Client(base_url=app.base_url, timeout=DEADLINE_S) as http:
                barrier.wait(timeout=DEADLINE_S)
                for _ in range(3):
                    status = http.get(path, params=params).status_code
                    with lock:
                        statuses.append(status)

        started = time.monotonic()
        threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=DEADLINE_S + 5)
        elapsed = time.monotonic() - started

    assert all(not t.is_alive() for t in threads), "some clients never got an answer"
    assert statuses == [200] * (CLIENTS * 3), sorted(set(statuses))
    assert elapsed < DEADLINE_S
