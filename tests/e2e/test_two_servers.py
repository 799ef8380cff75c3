"""Two real `zoo-registry serve` processes on two ports, one PostgreSQL database and one Redis,
set up as docs/operations.md's "Several servers behind a load balancer" says (the same
ZWR_SECRET_KEY, ZWR_RATE_LIMIT_STORAGE=redis://..., each server with its background work),
and one `zoo-registry worker` apart. Black-box, through HTTP only:

* a write through one server is read through the other at once (concern list and its ETag,
  an incident and its If-Match);
* the two servers spend one write budget per key and one read budget per address;
* concurrent writes through both servers are in the change feed exactly once each, in one
  order, and both servers serve the same feed;
* every event's webhook reaches a real receiver at least once, signed, sent by both servers'
  workers, also when the worker apart is killed (SIGKILL) in the middle of its deliveries.

PostgreSQL only. The Redis counts go under a key prefix of the run's own
(ZWR_RATE_LIMIT_KEY_PREFIX), whose keys are deleted afterwards; no other key is touched.
"""

import signal
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from standardwebhooks.webhooks import Webhook as Verifier

from app.core import crypto
from tests.dbutil import create_database, drop_database
from tests.e2e.server import ServedApp, admin_token, served_app, service_env, tail
from tests.e2e.workers import WORKER, Worker

pytestmark = pytest.mark.postgres_only

REDIS_URL = "redis://127.0.0.1:6379"
WRITE_BUDGET = 40  # writes per key per hour; no other test here writes that much with one key
READ_BUDGET = 20  # anonymous reads per address per hour; every other request carries a key
SERVER_INTERVAL_S = 0.5  # the servers' background work: idle wait between passes
WORKER_INTERVAL_S = 0.05  # the worker apart looks more often, so it claims the first deliveries
WEBHOOK_TIMEOUT_S = 3
LEASE_S = 6  # a killed worker's deliveries are claimed again after this
DEADLINE_S = 30.0
HTTP_TIMEOUT_S = 20.0
EVENTS = "/api/v1/events"
REPORTS = "/api/v1/reports"


@dataclass
class Deployment:
    a: ServedApp
    b: ServedApp
    worker: Worker
    admin: str  # an admin key, issued with the CLI

    def logs(self) -> str:
        return "\n".join(
            f"--- {name}:\n{tail(path)}"
            for name, path in (
                ("server A", self.a.log),
                ("server B", self.b.log),
                ("worker", self.worker.stderr),
            )
        )

    @contextmanager
    def clients(self, token: str | None = "admin") -> Iterator[tuple[httpx.Client, httpx.Client]]:
        """A client of each server, sending `token` (by default the admin key; None: no key)."""
        key = self.admin if token == "admin" else token
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        with (
            httpx.Client(base_url=self.a.base_url, headers=headers, timeout=HTTP_TIMEOUT_S) as a,
            httpx.Client(base_url=self.b.base_url, headers=headers, timeout=HTTP_TIMEOUT_S) as b,
        ):
            yield a, b

    def wait_for(self, condition: Callable[[], object], what: str) -> None:
        """Until `condition()`, failing with the logs when a process exits or time runs out."""
        deadline = time.monotonic() + DEADLINE_S
        while not condition():
            if time.monotonic() > deadline:
                pytest.fail(f"not within {DEADLINE_S:.0f} s: {what}\n{self.logs()}")
            time.sleep(0.05)


def redis_database() -> Any:
    redis = pytest.importorskip("redis", reason="the Redis client: pip install -e '.[dev]'")
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"no Redis at {REDIS_URL}: {exc}")
    return client


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    redis = redis_database()
    prefix = f"zwr-test-{uuid.uuid4().hex[:12]}"
    url = create_database("two_servers")
    folder = tmp_path_factory.mktemp("two-servers")
    env = {
        "ZWR_DATABASE_URL": url,
        "ZWR_SECRET_KEY": crypto.generate_key(),  # the same on every process
        "ZWR_RATE_LIMIT_STORAGE": REDIS_URL,
        "ZWR_RATE_LIMIT_KEY_PREFIX": prefix,
        "ZWR_WRITE_RATE_LIMIT": f"{WRITE_BUDGET}/hour",
        "ZWR_READ_RATE_LIMIT": f"{READ_BUDGET}/hour",
        "ZWR_WORKER_INTERVAL_S": str(SERVER_INTERVAL_S),
        "ZWR_WEBHOOK_ALLOW_INSECURE": "true",
        "ZWR_WEBHOOK_ALLOW_PRIVATE": "true",
        "ZWR_WEBHOOK_TIMEOUT_S": str(WEBHOOK_TIMEOUT_S),
        "ZWR_WEBHOOK_LEASE_S": str(LEASE_S),
        "ZWR_WEBHOOK_RETRY_SCHEDULE": "1,1,1,1,1",
    }
    for name in ("a", "b", "worker"):
        (folder / name).mkdir()
    try:
        with ExitStack() as stack:
            a = stack.enter_context(served_app(folder / "a", env))
            b = stack.enter_context(served_app(folder / "b", env))
            worker = stack.enter_context(
                worker_apart(
                    folder / "worker", env | {"ZWR_WORKER_INTERVAL_S": str(WORKER_INTERVAL_S)}
                )
            )
            yield Deployment(a, b, worker, admin_token(folder / "a", env))
    finally:
        drop_database(url)
        ours = list(redis.scan_iter(match=f"{prefix}:*"))
        if ours:
            redis.delete(*ours)
        redis.close()


@contextmanager
def worker_apart(folder: Path, env: dict[str, str]) -> Iterator[Worker]:
    """`zoo-registry worker` on the deployment's database, killed afterwards."""
    stderr = folder / "worker.stderr"
    with stderr.open("wb") as err:
        process = subprocess.Popen(
            WORKER,
            cwd=folder,
            env=service_env(folder, env),
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    worker = Worker(process, stderr)
    try:
        deadline = time.monotonic() + DEADLINE_S
        while "worker: keeping concerns fresh" not in worker.output():
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the worker did not start:\n{worker.output()}")
            time.sleep(0.05)
        yield worker
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


@pytest.fixture(autouse=True)
def logs_on_failure(deployment: Deployment) -> Iterator[None]:
    """The processes' last log lines, which pytest shows when the test failed."""
    yield
    print(deployment.logs())


def new_zoo(http: httpx.Client) -> dict[str, Any]:
    slug = f"zoo-{uuid.uuid4().hex[:10]}"
    created = http.post("/api/v1/zoos", json={"slug": slug, "name": slug, "country_code": "KP"})
    assert created.status_code == 201, created.text
    return dict(created.json())


def new_key(http: httpx.Client, role: str = "reporter") -> str:
    created = http.post("/api/v1/keys", json={"name": f"e2e {role}", "role": role})
    assert created.status_code == 201, created.text
    return str(created.json()["key"])


def report(zoo_id: int, **overrides: Any) -> dict[str, Any]:
    return {
        "zoo_id": zoo_id,
        "category": "behaviour",
        "severity": 3,
        "title": "Bear pacing along the fence",
        "observed_at": "2025-11-20T10:00:00Z",
        "reporter_name": "A visitor",
        "reporter_contact": "visitor@example.org",
    } | overrides


def file_report(http: httpx.Client, zoo_id: int, **overrides: Any) -> dict[str, Any]:
    filed = http.post(REPORTS, json=report(zoo_id, **overrides))
    assert filed.status_code == 201, f"{http.base_url}: {filed.text}"
    return dict(filed.json())


def read_feed(http: httpx.Client, page: int = 25, **filters: Any) -> list[dict[str, Any]]:
    """The whole change feed, from the start, following `next` until a short page."""
    events: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        params = filters | {"limit": page} | ({"after": after} if after else {})
        answer = http.get(EVENTS, params=params)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        events += body["items"]
        if body["items"]:
            assert body["next"] == body["items"][-1]["id"]
        elif after:
            assert body["next"] == after
        if len(body["items"]) < page:
            return events
        after = body["next"]


def assert_rate_limited(answer: httpx.Response) -> None:
    """A 429 as an RFC 9457 problem document."""
    assert answer.status_code == 429, f"{answer.request.url}: {answer.status_code} {answer.text}"
    assert answer.headers["content-type"].startswith("application/problem+json")
    problem = answer.json()
    assert problem["type"] == "urn:zwr:problem:rate-limited"
    assert (problem["status"], problem["title"]) == (429, "Too Many Requests")
    assert problem["instance"] == answer.request.url.path
    assert int(answer.headers["Retry-After"]) >= 1


def test_a_write_through_one_server_is_read_through_the_other(deployment: Deployment) -> None:
    with deployment.clients() as (a, b):
        zoo = new_zoo(a)
        yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
        enclosure = a.post(
            "/api/v1/enclosures",
            json={
                "zoo_id": zoo["id"],
                "name": "Bear Yard",
                "kind": "outdoor",
                "area_m2": 400,
                "capacity": 2,
                "climate": "temperate",
                "last_inspected_on": yesterday,  # not overdue: the list starts empty
            },
        )
        assert enclosure.status_code == 201, enclosure.text
        concerns = f"/api/v1/zoos/{zoo['id']}/concerns"
        # Both servers have the empty list cached before the write.
        empty_a, empty_b = a.get(concerns), b.get(concerns)
        assert empty_a.status_code == empty_b.status_code == 200
        assert empty_a.json()["items"] == empty_b.json()["items"] == []
        assert empty_a.headers["ETag"] == empty_b.headers["ETag"]

        # A severe report about the enclosure, through A; its flag read through B at once.
        incident_id = file_report(
            a, zoo["id"], enclosure_id=enclosure.json()["id"], severity=5, category="environment"
        )["incident_id"]
        flagged = b.get(concerns)
        assert flagged.status_code == 200
        [item] = flagged.json()["items"]
        assert (item["subject_type"], item["subject_id"]) == ("enclosure", enclosure.json()["id"])
        assert [(f["rule"], f["incident_ids"]) for f in item["flags"]] == [
            ("severe_open_incident", [incident_id])
        ]
        assert flagged.headers["ETag"] != empty_b.headers["ETag"]
        # Both servers agree on the new ETag; the old one no longer matches on either.
        assert (
            a.get(concerns, headers={"If-None-Match": flagged.headers["ETag"]}).status_code == 304
        )
        for http in (a, b):
            assert http.get(concerns, headers={"If-None-Match": empty_a.headers["ETag"]}).json()[
                "items"
            ] == [item]

        # The incident's ETag read through A is good for a change through B ...
        incident = f"/api/v1/incidents/{incident_id}"
        seen = a.get(incident)
        dismissed = b.post(
            f"{incident}/transitions",
            json={"to": "dismissed"},
            headers={"If-Match": seen.headers["ETag"]},
        )
        assert dismissed.status_code == 200, dismissed.text
        assert dismissed.headers["ETag"] != seen.headers["ETag"]
        # ... which A shows at once, refusing the ETag it gave before (412).
        now = a.get(incident)
        assert (now.json()["status"], now.headers["ETag"]) == (
            "dismissed",
            dismissed.headers["ETag"],
        )
        stale = a.post(
            f"{incident}/transitions",
            json={"to": "under_review"},
            headers={"If-Match": seen.headers["ETag"]},
        )
        assert stale.status_code == 412, stale.text
        # The dismissed incident's flag is gone from both servers' lists.
        cleared_a, cleared_b = a.get(concerns), b.get(concerns)
        assert cleared_a.json()["items"] == cleared_b.json()["items"] == []
        assert cleared_a.headers["ETag"] == cleared_b.headers["ETag"] != flagged.headers["ETag"]


def test_the_servers_share_one_rate_limit(deployment: Deployment) -> None:
    with deployment.clients() as (admin, _):
        zoo = new_zoo(admin)
        key = new_key(admin)
    with deployment.clients(key) as (a, b):
        # The key's write budget, spent alternately through A and B: each answer counts what
        # both servers took.
        for n in range(WRITE_BUDGET):
            http = (a, b)[n % 2]
            filed = http.post(REPORTS, json=report(zoo["id"], title=f"Report {n}"))
            assert filed.status_code == 201, f"write {n + 1} through {http.base_url}: {filed.text}"
            assert filed.headers["RateLimit-Limit"] == str(WRITE_BUDGET)
            assert filed.headers["RateLimit-Remaining"] == str(WRITE_BUDGET - 1 - n)
        # One more, through either server: refused, with the write budget's headers.
        for http in (a, b):
            refused = http.post(REPORTS, json=report(zoo["id"]))
            assert_rate_limited(refused)
            assert refused.headers["RateLimit-Remaining"] == "0"
        # Reads with a key are not counted by the address's read budget.
        assert a.get("/api/v1/zoos").status_code == b.get("/api/v1/zoos").status_code == 200

    with deployment.clients(token=None) as (a, b):
        for n in range(READ_BUDGET):
            http = (a, b)[n % 2]
            read = http.get(f"/api/v1/zoos/{zoo['id']}")
            assert read.status_code == 200, f"read {n + 1} through {http.base_url}: {read.text}"
        for http in (a, b):
            assert_rate_limited(http.get(f"/api/v1/zoos/{zoo['id']}"))
    with deployment.clients() as (a, b):  # a key's reads go on
        assert a.get("/api/v1/zoos").status_code == b.get("/api/v1/zoos").status_code == 200


THREADS = 4
REPORTS_PER_THREAD = 6


def test_every_write_is_in_the_feed_once_read_through_either_server(
    deployment: Deployment,
) -> None:
    with deployment.clients() as (admin, _):
        zoo = new_zoo(admin)
        keys = [new_key(admin) for _ in range(THREADS)]
    start = threading.Barrier(THREADS)

    def file_reports(n: int) -> list[dict[str, Any]]:
        """Thread n's reports, through A and B in turn, all threads at once."""
        with deployment.clients(keys[n]) as servers:
            start.wait(timeout=HTTP_TIMEOUT_S)
            return [
                file_report(servers[(n + i) % 2], zoo["id"], title=f"Thread {n}, report {i}")
                for i in range(REPORTS_PER_THREAD)
            ]

    with ThreadPoolExecutor(THREADS) as pool:
        filed = [r for reports in pool.map(file_reports, range(THREADS)) for r in reports]
    assert len(filed) == THREADS * REPORTS_PER_THREAD

    with deployment.clients() as (a, b):
        feed_a = read_feed(a)
        feed_b = read_feed(b)
        mine_b = read_feed(b, page=10, type="report.filed", zoo_id=zoo["id"])
    # Other tests' background work may add events meanwhile: the feed only grows at its end.
    shared = min(len(feed_a), len(feed_b))
    assert feed_a[:shared] == feed_b[:shared]
    for feed in (feed_a, feed_b):
        positions = [int(e["id"], 16) for e in feed]
        assert positions == sorted(set(positions)), "positions not strictly increasing"
        assert positions[0] == 1
        ids = Counter(
            e["subject_id"]
            for e in feed
            if e["zoo_id"] == zoo["id"] and e["type"] == "report.filed"
        )
        assert ids == Counter(r["id"] for r in filed)  # each acknowledged report once
        opened = Counter(
            e["subject_id"]
            for e in feed
            if e["zoo_id"] == zoo["id"] and e["type"] == "incident.opened"
        )
        assert opened == Counter(r["incident_id"] for r in filed)
    assert [e for e in feed_a if e["zoo_id"] == zoo["id"] and e["type"] == "report.filed"] == mine_b
    for event in mine_b:  # the report as anyone reads it: no reporter fields
        assert event["data"].get("reporter_name") is None
        assert event["data"].get("reporter_contact") is None


@dataclass(frozen=True)
class Delivery:
    sender: str  # "server A", "server B", "worker", or "unknown"
    webhook_id: str
    headers: dict[str, str]
    body: str
    held: bool  # held unanswered (the worker apart's, until it was killed)


@dataclass
class Receiver:
    """A webhook endpoint in a thread. It records each POST with the process that sent it,
    found from the connection's source port (psutil), answers 200, and holds unanswered
    the requests of the senders in `hold` until `release` is set."""

    senders: dict[int, str]  # pid: name
    hold: set[str] = field(default_factory=set)
    release: threading.Event = field(default_factory=threading.Event)
    held_arrived: threading.Event = field(default_factory=threading.Event)
    deliveries: list[Delivery] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    port: int = 0

    def sender_of(self, source_port: int) -> str:
        for pid, name in self.senders.items():
            try:
                connections = psutil.Process(pid).net_connections(kind="tcp4")
            except psutil.Error:
                continue
            for c in connections:
                if (
                    c.laddr
                    and c.laddr.port == source_port
                    and c.raddr
                    and c.raddr.port == self.port
                ):
                    return name
        return "unknown"

    def received(self) -> list[Delivery]:
        with self.lock:
            return list(self.deliveries)

    def delivered(self) -> set[str]:
        """The webhook ids answered 200 at least once."""
        return {d.webhook_id for d in self.received() if not d.held}


@contextmanager
def receiving(senders: dict[int, str]) -> Iterator[tuple[Receiver, str]]:
    receiver = Receiver(senders)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the workers' clients expect

        def do_POST(self) -> None:
            sender = receiver.sender_of(self.client_address[1])
            body = self.rfile.read(int(self.headers.get("content-length") or 0)).decode()
            held = sender in receiver.hold
            headers = {k.lower(): v for k, v in self.headers.items()}
            with receiver.lock:
                receiver.deliveries.append(
                    Delivery(sender, headers.get("webhook-id", ""), headers, body, held)
                )
            if held:
                receiver.held_arrived.set()
                receiver.release.wait(DEADLINE_S)
            try:
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()
            except OSError:  # a killed sender
                pass

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver.port = server.server_port
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver, f"http://127.0.0.1:{server.server_port}/hook"
    finally:
        receiver.release.set()
        server.shutdown()
        server.server_close()


TYPES = ["incident.opened", "report.filed"]
ROUNDS = 15  # at most, per phase: two reports each, one through each server


def test_webhooks_arrive_at_least_once_from_every_worker(deployment: Deployment) -> None:
    a_app, b_app, worker = deployment.a, deployment.b, deployment.worker
    senders = {a_app.pid: "server A", b_app.pid: "server B", worker.process.pid: "worker"}
    with receiving(senders) as (receiver, url), deployment.clients() as (a, b):
        receiver.hold = {"worker"}
        zoo = new_zoo(a)
        created = b.post(
            "/api/v1/webhooks", json={"url": url, "types": TYPES, "zoo_ids": [zoo["id"]]}
        )
        assert created.status_code == 201, created.text
        secret = created.json()["secret"]
        keys = [new_key(a), new_key(b)]
        rounds = 0

        def file_round() -> None:
            nonlocal rounds
            rounds += 1
            for n, app in enumerate((a_app, b_app)):
                with httpx.Client(
                    base_url=app.base_url,
                    headers={"Authorization": f"Bearer {keys[n]}"},
                    timeout=HTTP_TIMEOUT_S,
                ) as http:
                    file_report(http, zoo["id"], title=f"Round {rounds}, server {'AB'[n]}")

        def expected() -> set[str]:
            return {e["id"] for e in read_feed(a, page=100, zoo_id=zoo["id"], type=TYPES)}

        # Rounds of reports until the worker apart is in the middle of delivering some (it
        # looks most often, so usually the first round); the servers deliver the others.
        for _ in range(ROUNDS):
            file_round()
            deployment.wait_for(
                lambda: receiver.held_arrived.is_set() or expected() <= receiver.delivered(),
                "the round's events delivered",
            )
            if receiver.held_arrived.is_set():
                break
        else:
            pytest.fail(f"the worker apart delivered nothing in {ROUNDS} rounds")
        time.sleep(0.3)  # the rest of its batch on the way
        worker.process.send_signal(signal.SIGKILL)
        worker.process.wait(timeout=10)
        in_flight = {d.webhook_id for d in receiver.received() if d.held}
        receiver.release.set()

        # Rounds until both servers have delivered (whichever polls first takes a round).
        def servers_delivering() -> set[str]:
            return {d.sender for d in receiver.received() if not d.held}

        for _ in range(ROUNDS):
            if {"server A", "server B"} <= servers_delivering():
                break
            file_round()
            deployment.wait_for(
                lambda: expected() - in_flight <= receiver.delivered(),
                "the round's events delivered by the servers",
            )
        else:
            pytest.fail(f"not both servers delivered in {ROUNDS} rounds: {servers_delivering()}")
        # The killed worker's deliveries are taken up again once their lease ends.
        deployment.wait_for(
            lambda: expected() <= receiver.delivered(), "every event delivered at least once"
        )
        events = expected()

    received = receiver.received()
    assert len(events) == 2 * 2 * rounds  # two reports a round, two events each
    assert receiver.delivered() == events  # every event, and nothing else
    verifier = Verifier(secret)
    for delivery in received:
        event = verifier.verify(delivery.body, delivery.headers)  # signature and timestamp
        assert event["id"] == delivery.webhook_id
        assert (event["type"], event["zoo_id"]) in {(t, zoo["id"]) for t in TYPES}
    assert "unknown" not in {d.sender for d in received}
    assert in_flight, "the worker apart had nothing in flight when it was killed"
    # What the killed worker had in flight came again, under the same webhook-id, from a server.
    again = {d.sender for d in received if d.webhook_id in in_flight and not d.held}
    assert again and again <= {"server A", "server B"}
    assert {"server A", "server B"} <= {d.sender for d in received if not d.held}
    counts = Counter(d.sender for d in received)
    duplicates = len(received) - len({d.webhook_id for d in received})
    print(f"{len(events)} events, {len(received)} requests {dict(counts)}, {duplicates} repeated")
