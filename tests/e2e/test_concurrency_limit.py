"""More requests in flight than database connections: all are answered, none stalls.

A request holds its connection across threadpool hops; without admission control, 40 busy
threads can all wait for connections held by requests that wait for a thread, until the pool
times out (30 s) and the requests fail with 500. The real server, a tiny pool and a burst of
concurrent clients show the queueing at work.
"""

import threading
import time
from pathlib import Path

import httpx

from tests.e2e.server import served_app

CLIENTS = 48  # more than the threadpool's 40 threads
POOL = 2
DEADLINE_S = 20.0  # well under the pool's 30 s timeout


def test_a_burst_beyond_the_pool_is_queued_not_stalled(tmp_path: Path) -> None:
    with served_app(tmp_path, {"ZWR_DB_POOL_SIZE": str(POOL)}) as app:
        barrier = threading.Barrier(CLIENTS)
        statuses: list[int] = []
        lock = threading.Lock()

        def client() -> None:
            with httpx.Client(base_url=app.base_url, timeout=DEADLINE_S) as http:
                barrier.wait(timeout=DEADLINE_S)
                for _ in range(3):
                    status = http.get("/api/v1/zoos", params={"q": "zoo"}).status_code
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
