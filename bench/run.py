"""Load benchmark: the real server under wrk, each endpoint measured against a no-op reference.

    python -m bench.run --db postgresql --size S --generate
    python -m bench.run --db sqlite --size S --generate --duration 3 --target-factor 0.5

Starts `zoo-registry serve` on a generated registry (see bench/generate.py) and drives it with
wrk at 32 connections (a small asyncio load generator stands in when wrk is missing). Every
endpoint run follows a run of GET /bench/noop, the async no-op reference behind the same
middleware, and is reported as a ratio of the reference's throughput, so the numbers carry
from one machine to another. Two server phases: the concern cache switched off (POST reports,
concerns for changing zoos, filtered incidents, the ranking with reports filed beside it) and
on (concerns again, repeated, the ranking with no writes, and pages of the change feed; then
one client following the feed, and one downloading the open-data export). A third phase,
when asked for, files reports with three webhook subscribers attached, delivered to a local
receiver (bench/receiver.py). Then the
day's rollover: every zoo's stored state set to yesterday, the worker's catch-up timed, and
each zoo's first read compared with an ordinary one (and, for contrast, with the worker off).
Prints medians over the rounds, checks the targets and exits 1 when one falls more than
(1 - target factor) under its target. See bench/README.md.
"""

import argparse
import asyncio
import itertools
import json
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psutil

from bench.generate import SIZES, Size
from bench.receiver import Delivery, Receiver

ROOT = Path(__file__).resolve().parent.parent
LUA_DIR = Path(__file__).resolve().parent / "lua"
PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"
RATE_LIMIT = "100000000/minute"
EVAL_TARGET_MS = 15.0
SEARCH_TARGET_MS = 50.0
MEMORY_TARGET_MB = 300.0
BENCH_DATABASE = r"zwr_bench_[a-z]+(_[a-z0-9]+)?"  # the only databases this script touches
MAX_ERROR_SHARE = 0.01  # more non-2xx or socket errors than this makes a run invalid
CATEGORIES = ("nutrition", "environment", "health", "behaviour", "transport", "mortality", "other")
INCIDENT_QUERY = "status=reported&status=confirmed&min_severity=3&sort=severity&limit=50"
# The per-zoo endpoints' paths (per_zoo.lua), %d the zoo's number (bench-zoo-N has id N).
CONCERNS_PATH = "/api/v1/zoos/bench-zoo-%d/concerns"
FILTERED_PATH = CONCERNS_PATH + "?min_severity=3&subject_type=animal"
ANIMAL_PATH = "/api/v1/animals/%d/concerns"
INCIDENTS_PATH = "/api/v1/incidents?zoo_id=%d&" + INCIDENT_QUERY
PAGE_PATH = "/zoos/bench-zoo-%d"
DEEP_ROWS = 100_000  # incidents_deep: the page this many rows into the whole list (or half-way)
DEEP_PATH = "/api/v1/incidents?limit=50&after={after}"


# --------------------------------------------------------------------------- endpoints


@dataclass(frozen=True)
class Endpoint:
    name: str
    label: str
    lua: str
    cache: bool  # which server phase: concern cache on or off
    min_ratio: float | None = None  # target: throughput / reference throughput
    max_p99_factor: float | None = None  # target: p99 / reference p99
    beside: str | None = None  # an endpoint loaded alongside, on 1/8 of the connections
    webhooks: int = 0  # subscribers attached: a server phase of its own, with a receiver
    path: str = ""  # per_zoo.lua's path, %d the zoo's number
    accept: str = ""  # the Accept header sent, if any
    per_animal: bool = False  # path's %d is the zoo's first animal, not the zoo's number


REFERENCE = Endpoint("noop", "GET /bench/noop (reference)", "noop.lua", cache=False)
ENDPOINTS = (
    Endpoint("reports", "POST /api/v1/reports", "reports.lua", False, 0.12, 10.0),
    Endpoint(
        "concerns_uncached",
        "GET /zoos/{zoo}/concerns uncached",
        "per_zoo.lua",
        False,
        0.05,
        path=CONCERNS_PATH,
    ),
    Endpoint(
        "concerns_filtered",
        "GET /zoos/{zoo}/concerns?filtered",
        "per_zoo.lua",
        False,
        0.05,
        path=FILTERED_PATH,
    ),
    Endpoint(
        "incidents", "GET /incidents?zoo_id&status&sev", "per_zoo.lua", False, path=INCIDENTS_PATH
    ),
    Endpoint("submissions", "POST /api/v1/submissions", "submissions.lua", False, 0.1),
    # The whole list, one page 100,000 rows in by its cursor (informational below XL).
    Endpoint(
        "incidents_deep",
        "GET /incidents?after=<100,000 deep>",
        "per_zoo.lua",
        False,
        path=DEEP_PATH,
    ),
    # The ranking has no response cache; the cache-off phase is the one with writes.
    Endpoint(
        "ranking_writes",
        "GET /concerns + reports beside",
        "ranking.lua",
        False,
        0.05,
        beside="reports",
    ),
    Endpoint(
        "concerns_cached",
        "GET /zoos/{zoo}/concerns cached",
        "per_zoo.lua",
        True,
        0.5,
        path=CONCERNS_PATH,
    ),
    Endpoint("ranking", "GET /concerns ranking, no writes", "ranking.lua", True, 0.2),
    Endpoint(
        "animal_concerns",
        "GET /animals/{animal}/concerns",
        "per_zoo.lua",
        True,
        0.2,
        path=ANIMAL_PATH,
        per_animal=True,
    ),
    Endpoint(
        "zoo_page",
        "GET /zoos/{zoo} page (HTML)",
        "per_zoo.lua",
        True,
        0.2,
        path=PAGE_PATH,
        accept="text/html",
    ),
    # The feed has no cache; the cache-on phase is the one without writes.
    Endpoint("events_page", "GET /events?limit=100&after=mid", "events.lua", True, 0.3),
    Endpoint(
        "reports_webhooks",
        "POST /api/v1/reports, 3 webhooks",
        "reports.lua",
        False,
        0.10,
        webhooks=3,
    ),
)
BY_NAME = {e.name: e for e in ENDPOINTS}
# Per-zoo endpoints whose ratio in a larger registry must keep this share of a smaller one's.
FLAT = ("concerns_uncached", "concerns_cached", "animal_concerns", "zoo_page")
FLAT_SHARE = 0.8
RANKING_P50_TARGET_MS = 50.0  # at one connection, judged at size L
ROLLOVER_TARGET = 1.5  # first read after the day's rollover p50 / ordinary read p50
# Not a wrk run: one client follows the feed from the start, in the cache-on phase.
FOLLOW = "events_follow"
FOLLOW_TARGET = 20_000.0  # events per second
# Not a wrk run either: one client downloads GET /api/v1/export.zip, in the cache-on phase.
EXPORT = "export"
# Not a wrk run on one server: two servers on one database (bench/pair.py), PostgreSQL only.
PAIR = "two_servers"
EXPORT_TARGET_S = 60.0  # the whole zip, judged at size L
EXPORT_FIRST_BYTE_S = 1.0
EXPORT_MEMORY_MB = 200.0  # the server's peak RSS while it streams the zip
FOLLOW_EVENTS = 100_000  # read at most, in pages of FOLLOW_LIMIT
FOLLOW_LIMIT = 1000
PAGE_EVENTS = 100  # events_page's limit
# The webhooks phase's server: the local receiver allowed, and short retries, so an attempt
# that fails (none should: the receiver is always up) holds the wait below for seconds, not
# minutes. After each reports run the deliveries are waited for this long at most.
WEBHOOK_ENV = {
    "ZWR_WEBHOOK_ALLOW_INSECURE": "true",
    "ZWR_WEBHOOK_ALLOW_PRIVATE": "true",
    "ZWR_WEBHOOK_RETRY_SCHEDULE": "1,1,2,5",
}
DELIVERY_WAIT_S = 120.0


@dataclass(frozen=True)
class Plan:
    """What the requests need to know about the data: zoos, animals per zoo, the key."""

    zoos: int
    per_zoo: int
    key: str
    events: int = 0  # the feed's head (its last position) when the run started
    deep_after: str = ""  # incidents_deep's cursor: DEEP_ROWS into the incident list

    def path_of(self, endpoint: Endpoint) -> str:
        """A per_zoo.lua endpoint's path, its cursor put in."""
        return endpoint.path.replace("{after}", self.deep_after)

    def event_pages(self) -> tuple[int, int]:
        """events_page's cursors: `pages` pages of PAGE_EVENTS from position `base`, around
        the middle of the feed."""
        pages = min(100, self.events // (2 * PAGE_EVENTS))
        return self.events // 2 - pages * PAGE_EVENTS // 2, pages

    def lua_args(self, endpoint: Endpoint) -> list[str]:
        if endpoint.name == "noop" or endpoint.lua == "ranking.lua":
            return []
        if endpoint.lua == "reports.lua":
            return [str(self.zoos), str(self.per_zoo), self.key]
        if endpoint.lua == "submissions.lua":
            return [str(self.zoos), str(self.per_zoo)]
        if endpoint.lua == "events.lua":
            return [str(n) for n in self.event_pages()]
        stride = self.per_zoo if endpoint.per_animal else 1
        return [str(self.zoos), self.path_of(endpoint), endpoint.accept, str(stride)]


def build_request(endpoint: str, i: int, plan: Plan) -> tuple[str, str, bytes | None]:
    """Request number i of an endpoint's sequence: the same sequence as its wrk Lua script."""
    zoo = i % plan.zoos + 1
    if endpoint == "noop":
        return "GET", "/bench/noop", None
    if endpoint.startswith("reports"):
        animal = (zoo - 1) * plan.per_zoo + (i * 7919) % plan.per_zoo + 1
        body = {
            "zoo_id": zoo,
            "animal_id": animal,
            "category": CATEGORIES[i % len(CATEGORIES)],
            "severity": i % 3 + 1,
            "title": f"Bench report {i}",
            "observed_at": "2020-01-01T12:00:00Z",
            "reporter_name": "bench",
        }
        return "POST", "/api/v1/reports", json.dumps(body).encode()
    if endpoint == "submissions":
        body = {
            "zoo_id": zoo,
            "animal_id": (zoo - 1) * plan.per_zoo + (i * 7919) % plan.per_zoo + 1,
            "category": "other",
            "title": f"Bench submission {i}",
            "observed_at": "2020-01-01T12:00:00Z",
            "reporter_name": "bench",
        }
        return "POST", "/api/v1/submissions", json.dumps(body).encode()
    found = BY_NAME[endpoint]
    if found.path:
        path = plan.path_of(found)
        number = (zoo - 1) * plan.per_zoo + 1 if found.per_animal else zoo
        return "GET", path % number if "%d" in path else path, None
    if endpoint.startswith("ranking"):
        return "GET", f"/api/v1/concerns?limit=50&offset={i % 5}", None
    if endpoint == "events_page":
        base, pages = plan.event_pages()
        after = base + (i % pages) * PAGE_EVENTS
        return "GET", f"/api/v1/events?limit={PAGE_EVENTS}&after={after:012x}", None
    raise ValueError(endpoint)


def request_headers(endpoint: str, plan: Plan) -> dict[str, str]:
    if endpoint.startswith("reports"):
        return {"Authorization": f"Bearer {plan.key}", "Content-Type": "application/json"}
    if endpoint == "submissions":
        return {"Content-Type": "application/json"}
    accept = BY_NAME[endpoint].accept if endpoint in BY_NAME else ""
    return {"Accept": accept} if accept else {}


# --------------------------------------------------------------------------- process metrics


def _tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def tree_cpu(pid: int) -> float:
    """CPU seconds of a process tree, reaped children of the root included."""
    total = 0.0
    for i, proc in enumerate(_tree(pid)):
        with suppress(psutil.Error):
            t = proc.cpu_times()
            total += t.user + t.system
            if i == 0:
                total += t.children_user + t.children_system
    return total


def tree_rss_mb(pid: int) -> float:
    total = 0
    for proc in _tree(pid):
        with suppress(psutil.Error):
            total += proc.memory_info().rss
    return total / 2**20


def tree_hwm_mb(pid: int) -> float:
    """Sum of the RSS high-water marks (VmHWM) of the tree's processes, in MiB."""
    total_kb = 0
    for proc in _tree(pid):
        with suppress(OSError, ValueError):
            status = Path(f"/proc/{proc.pid}/status").read_text()
            match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
            if match:
                total_kb += int(match.group(1))
    return total_kb / 1024


def postgres_cpu() -> float:
    """CPU seconds of every postgres process, plus the exited backends the postmaster reaped."""
    total = 0.0
    for proc in psutil.process_iter(["name", "ppid"]):
        if proc.info["name"] != "postgres":
            continue
        with suppress(psutil.Error):
            t = proc.cpu_times()
            total += t.user + t.system
            parent = psutil.Process(proc.info["ppid"]) if proc.info["ppid"] else None
            if parent is None or parent.name() != "postgres":  # the postmaster
                total += t.children_user + t.children_system
    return total


def children_cpu() -> float:
    """CPU seconds of this process's reaped children (the load generator, once it exits)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class RssSampler:
    """Samples the server tree's RSS every 100 ms in a thread; keeps the peak."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_mb = max(self.peak_mb, tree_rss_mb(self.pid))
            self._stop.wait(0.1)

    def __enter__(self) -> "RssSampler":
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_mb = max(self.peak_mb, tree_rss_mb(self.pid))


# --------------------------------------------------------------------------- load generators


@dataclass
class LoadResult:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int  # non-2xx/3xx answers plus socket errors and timeouts
    detail: dict[str, int]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def _parse_result(output: str) -> LoadResult:
    match = re.search(r"^ZWR_RESULT (\{.*\})$", output, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"the load generator printed no result:\n{output[-2000:]}")
    r = json.loads(match.group(1))
    detail = {k: int(r[k]) for k in ("connect", "read", "write", "status", "timeout")}
    return LoadResult(
        requests=int(r["requests"]),
        seconds=r["duration_us"] / 1e6,
        p50_ms=r["p50_us"] / 1000,
        p99_ms=r["p99_us"] / 1000,
        errors=sum(detail.values()),
        detail=detail,
    )


@dataclass(frozen=True)
class LoadConfig:
    tool: str  # "wrk" or "python"
    connections: int
    threads: int
    timeout: float


def load_command(
    cfg: LoadConfig, base_url: str, endpoint: Endpoint, plan: Plan, seconds: float
) -> tuple[list[str], dict[str, str]]:
    if cfg.tool == "wrk":
        cmd = [
            "wrk",
            f"--threads={cfg.threads}",
            f"--connections={cfg.connections}",
            f"--duration={max(1, round(seconds))}s",
            f"--timeout={cfg.timeout:g}s",
            f"--script={LUA_DIR / endpoint.lua}",
            base_url + ("/bench/noop" if endpoint.name == "noop" else "/"),
            "--",
            *plan.lua_args(endpoint),
        ]
        env = {**os.environ, "LUA_PATH": f"{LUA_DIR}/?.lua;;"}
    else:
        spec = {
            "base_url": base_url,
            "endpoint": endpoint.name,
            "plan": asdict(plan),
            "seconds": seconds,
            "connections": cfg.connections,
            "timeout": cfg.timeout,
        }
        cmd = [sys.executable, "-m", "bench.run", "--loadgen-spec", json.dumps(spec)]
        env = dict(os.environ)
    return cmd, env


def _loaded(cmd: list[str], returncode: int, stdout: str, stderr: str) -> LoadResult:
    if returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed ({returncode}):\n{(stdout + stderr)[-2000:]}")
    return _parse_result(stdout)


def run_load(
    cfg: LoadConfig, base_url: str, endpoint: Endpoint, plan: Plan, seconds: float
) -> LoadResult:
    cmd, env = load_command(cfg, base_url, endpoint, plan, seconds)
    proc = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=seconds + cfg.timeout + 60,
        check=False,
    )
    return _loaded(cmd, proc.returncode, proc.stdout, proc.stderr)


@contextmanager
def load_beside(
    cfg: LoadConfig, base_url: str, endpoint: Endpoint, plan: Plan, seconds: float
) -> Iterator[list[LoadResult]]:
    """Runs a second load generator for `seconds` (plus one, so it covers the run inside the
    block), started half a second before the block; its result is in the list afterwards."""
    cmd, env = load_command(cfg, base_url, endpoint, plan, seconds + 1)
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT
    )
    result: list[LoadResult] = []
    try:
        time.sleep(0.5)
        yield result
        out, err = proc.communicate(timeout=seconds + cfg.timeout + 60)
        result.append(_loaded(cmd, proc.returncode, out, err))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("connection closed")
    status = int(status_line.split()[1])
    length, chunked, close = 0, False, False
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        name, value = name.strip().lower(), value.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "transfer-encoding" and "chunked" in value:
            chunked = True
        elif name == "connection" and value == "close":
            close = True
    if chunked:
        while True:
            size = int((await reader.readline()).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status, close


async def _python_load(spec: dict[str, Any]) -> dict[str, Any]:
    """The fallback load generator: keep-alive HTTP/1.1 over asyncio streams."""
    match = re.match(r"http://([^:/]+):(\d+)", spec["base_url"])
    assert match is not None
    host, port = match.group(1), int(match.group(2))
    plan = Plan(**spec["plan"])
    endpoint, timeout = spec["endpoint"], spec["timeout"]
    headers = "".join(f"{k}: {v}\r\n" for k, v in request_headers(endpoint, plan).items())
    counter = itertools.count(1)
    latencies: list[float] = []
    errors = Counter[str]()
    loop = asyncio.get_running_loop()
    started = loop.time()
    deadline = started + spec["seconds"]

    async def connection() -> None:
        reader = writer = None
        while loop.time() < deadline:
            if writer is None:
                try:
                    reader, writer = await asyncio.open_connection(host, port)
                except OSError:
                    errors["connect"] += 1
                    await asyncio.sleep(0.01)
                    continue
            assert reader is not None
            method, path, body = build_request(endpoint, next(counter), plan)
            head = f"{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\n{headers}"
            if body is not None:
                head += f"Content-Length: {len(body)}\r\n"
            t0 = time.perf_counter()
            try:
                writer.write(head.encode("latin-1") + b"\r\n" + (body or b""))
                status, close = await asyncio.wait_for(_read_response(reader), timeout)
            except TimeoutError:
                errors["timeout"] += 1
                close = True
            except (OSError, ConnectionError, asyncio.IncompleteReadError, ValueError):
                errors["read"] += 1
                close = True
            else:
                latencies.append(time.perf_counter() - t0)
                if status > 399:
                    errors["status"] += 1
            if close:
                writer.close()
                reader = writer = None
        if writer is not None:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(spec["connections"])))
    elapsed = loop.time() - started
    latencies.sort()

    def pct(q: float) -> int:
        return int(latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1e6)

    return {
        "requests": len(latencies),
        "duration_us": int(elapsed * 1e6),
        "p50_us": pct(0.50) if latencies else 0,
        "p99_us": pct(0.99) if latencies else 0,
        "mean_us": statistics.fmean(latencies) * 1e6 if latencies else 0,
        "max_us": int(latencies[-1] * 1e6) if latencies else 0,
        **{k: errors[k] for k in ("connect", "read", "write", "status", "timeout")},
    }


# --------------------------------------------------------------------------- databases


@dataclass(frozen=True)
class Target:
    db: str
    size_name: str
    url: str

    @property
    def size(self) -> Size:
        return SIZES[self.size_name]

    @property
    def label(self) -> str:
        return f"{'PostgreSQL' if self.db == 'postgresql' else 'SQLite'}, size {self.size_name}"


def database_for(
    db: str, size_name: str, data_dir: Path, pg_server: str, suffix: str = ""
) -> Target:
    name = f"zwr_bench_{size_name.lower()}" + (f"_{suffix}" if suffix else "")
    if db == "postgresql":
        return Target(db, size_name, f"{pg_server.rstrip('/')}/{name}")
    return Target(db, size_name, f"sqlite:///{data_dir / (name + '.db')}")


@contextmanager
def _server_connection(url: str) -> Iterator[Any]:
    """An autocommit connection to the server's postgres database (to create or drop ours)."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    engine = create_engine(
        make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT", hide_parameters=True
    )
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def ensure_pg_database(url: str) -> None:
    """Creates the bench database when missing; touches no other database."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    target = make_url(url)
    name = target.database
    assert name and re.fullmatch(BENCH_DATABASE, name), name
    with _server_connection(url) as conn:
        exists = conn.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
        ).first()
        if exists is None:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
            log(f"created database {name}")


def drop(target: Target) -> None:
    """Removes the bench database (only ever one of ours)."""
    from sqlalchemy.engine import make_url

    url = make_url(target.url)
    name = url.database
    assert name and re.fullmatch(BENCH_DATABASE, Path(name).stem), name
    if target.db == "sqlite":
        for extra in ("", "-wal", "-shm"):
            Path(name + extra).unlink(missing_ok=True)
    else:
        with _server_connection(target.url) as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    log(f"dropped {name}")


def check_data(target: Target) -> None:
    """Refuses to run on a database that does not hold the generated registry of this size."""
    from sqlalchemy import create_engine, text

    engine = create_engine(target.url, hide_parameters=True)
    try:
        with engine.connect() as conn:
            zoos = conn.execute(text("SELECT count(*) FROM zoo")).scalar_one()
            animals = conn.execute(text("SELECT count(*) FROM animal")).scalar_one()
            slug = conn.execute(text("SELECT slug FROM zoo WHERE id = 1")).scalar()
    except Exception as exc:
        raise SystemExit(
            f"{target.url}: no benchmark data ({type(exc).__name__}); run with --generate"
        ) from exc
    finally:
        engine.dispose()
    size = target.size
    if (zoos, animals, slug) != (size.zoos, size.animals, "bench-zoo-1"):
        raise SystemExit(
            f"{target.url} holds {zoos} zoos and {animals} animals, not the generated size "
            f"{target.size_name} ({size.zoos} zoos, {size.animals} animals); run with --generate"
        )
    upgrade_schema(target)


def upgrade_schema(target: Target) -> None:
    """Brings data generated under older migrations up to the code's schema (new indexes)."""
    from sqlalchemy import create_engine

    from app.core import migrations

    engine = create_engine(target.url, hide_parameters=True)
    try:
        current = migrations.current_revision(engine)
    finally:
        engine.dispose()
    head = migrations.head_revision()
    if current != head:
        log(f"the bench database is at revision {current}; upgrading it to {head}")
        migrations.upgrade(target.url)


def generate(target: Target) -> None:
    from bench.generate import generate as fill

    if target.db == "postgresql":
        ensure_pg_database(target.url)
    else:
        Path(target.url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    log(f"generating size {target.size_name} into {target.url}")
    started = time.perf_counter()
    fill(target.url, target.size_name, echo=False)
    log(f"generated in {time.perf_counter() - started:.1f} s")


def cli_path() -> str:
    local = Path(sys.executable).parent / "zoo-registry"
    found = str(local) if local.exists() else shutil.which("zoo-registry")
    if not found:
        raise SystemExit("zoo-registry is not installed (pip install -e '.[dev]')")
    return found


def create_key(target: Target, role: str = "reporter") -> str:
    env = {**os.environ, "ZWR_DATABASE_URL": target.url}
    name = f"bench-{role}-{datetime.now(UTC):%Y%m%dT%H%M%S}"
    proc = subprocess.run(
        [cli_path(), "keys", "create", "--name", name, "--role", role],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    lines = proc.stdout.splitlines()
    if proc.returncode != 0 or len(lines) < 2 or not lines[1].startswith("zwr_"):
        raise RuntimeError(f"keys create failed:\n{proc.stdout}\n{proc.stderr}")
    return lines[1].strip()


def analyze_concerns(target: Target) -> None:
    """ANALYZE of the concern tables, which the first read of every zoo has just filled: what
    autovacuum does after that much change (its analyze threshold is a tenth of a table's
    rows). This machine's PostgreSQL runs with autovacuum off, and planned on the statistics
    of the nearly empty tables the generation left, a filtered list joins its page of subjects
    to all of the zoo's flags (75 ms at size S instead of 3)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(target.url, hide_parameters=True)
    try:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE concern_flag, concern_subject, concern_state"))
    finally:
        engine.dispose()


def feed_state(target: Target, forget_webhooks: bool = False) -> int:
    """The feed's head (its last position). With `forget_webhooks`, first removes every
    subscription (with its deliveries and log) an interrupted webhooks phase may have left in
    the bench database, so no later server delivers to a receiver long gone."""
    from sqlalchemy import create_engine, text

    engine = create_engine(target.url, hide_parameters=True)
    try:
        with engine.begin() as conn:
            if forget_webhooks:
                for table in ("webhook_attempt", "webhook_delivery", "webhook"):
                    conn.execute(text(f"DELETE FROM {table}"))
            return int(conn.execute(text(FEED_HEAD)).scalar() or 0)
    finally:
        engine.dispose()


FEED_HEAD = "SELECT position FROM event_sequence WHERE id = 1"


# --------------------------------------------------------------------------- the evaluation


def time_evaluation(target: Target, repeats: int) -> dict[str, float]:
    """In-process wall time of the concern evaluation for zoo 1, medians after one warm-up:
    the page statement alone (what an uncached request runs: the first page of the zoo's stored
    subjects in rank order), the whole page (as the service returns it), the zoo's evaluation in
    full into its stored flags (after a write that drops them, or on a new day), and the whole
    list evaluated from the incidents (as a CSV download reads it)."""
    from sqlmodel import Session

    from app.concerns import pages, store
    from app.concerns.engine import evaluate
    from app.concerns.lists import build_items, zoo_concerns_page
    from app.concerns.rules import RULES, Context
    from app.core.config import Settings
    from app.core.db import make_engine
    from app.models.base import utcnow
    from app.services.zoos import get_by_ref

    settings = Settings(database_url=target.url)
    engine = make_engine(settings)
    times: dict[str, list[float]] = {
        "statement_ms": [],
        "page_ms": [],
        "full_ms": [],
        "list_ms": [],
    }
    flags = 0
    try:
        with Session(engine) as session:
            zoo = get_by_ref(session=session, ref="1")
            for i in range(repeats + 1):
                ctx = Context(settings=settings, zoo_id=1, now=utcnow())
                t0 = time.perf_counter()
                store.drop(session.connection(), [1])
                store.update(session, ctx)
                session.commit()
                t1 = time.perf_counter()
                pages.page(session, ctx, RULES, None, 0, 50)
                t2 = time.perf_counter()
                zoo_concerns_page(session=session, settings=settings, zoo=zoo, limit=50)
                t3 = time.perf_counter()
                rows = evaluate(session, ctx)
                build_items(session, rows)
                t4 = time.perf_counter()
                session.rollback()
                if i:
                    took = {
                        "full_ms": t1 - t0,
                        "statement_ms": t2 - t1,
                        "page_ms": t3 - t2,
                        "list_ms": t4 - t3,
                    }
                    for key, seconds in took.items():
                        times[key].append(seconds * 1000)
                flags = len(rows)
    finally:
        engine.dispose()
    return {key: statistics.median(values) for key, values in times.items()} | {
        "flags": flags,
        "repeats": repeats,
    }


SEARCHES = (
    "/api/v1/animals?q=species%2017&limit=20",
    "/api/v1/animals?q=A-4242&limit=20",
    "/api/v1/incidents?q=4242&limit=20",
    "/api/v1/zoos?q=zoo%2042&limit=20",
    "/api/v1/gifts?q=gift%2042&limit=20",
)


@contextmanager
def in_process(target: Target) -> Iterator[Any]:
    """A client of the whole app in this process, on the bench database (no rate limit)."""
    from fastapi.testclient import TestClient

    from app.core.config import Settings
    from app.main import create_app

    app = create_app(Settings(database_url=target.url, read_rate_limit="100000/minute"))
    with TestClient(app) as client:
        yield client


def time_search(target: Target, repeats: int) -> dict[str, float]:
    """In-process wall time of each search in SEARCHES through the whole app (routing,
    validation, the indexed query, the count and the response), medians after one warm-up."""
    times: dict[str, list[float]] = {path: [] for path in SEARCHES}
    with in_process(target) as client:
        for i in range(repeats + 1):
            for path in SEARCHES:
                t0 = time.perf_counter()
                response = client.get(path)
                took = (time.perf_counter() - t0) * 1000
                if response.status_code != 200:
                    raise RuntimeError(f"{path}: {response.status_code} {response.text[:200]}")
                if i:
                    times[path].append(took)
    return {path: statistics.median(values) for path, values in times.items()}


def deep_cursor(target: Target) -> str:
    """The cursor DEEP_ROWS into the whole incident list (half-way when it is shorter), as a
    client would get it: the `next` of the page that ends there."""
    with in_process(target) as client:
        depth = min(DEEP_ROWS, target.size.incidents // 2)
        response = client.get(f"/api/v1/incidents?limit=1&offset={depth - 1}")
        if response.status_code != 200 or not response.json()["next"]:
            raise RuntimeError(f"no cursor {depth} rows deep: {response.text[:200]}")
        return str(response.json()["next"])


# --------------------------------------------------------------------------- the server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(
    url: str, method: str = "GET", body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


class Server:
    """`zoo-registry serve` in its own session, its output in a log file."""

    def __init__(
        self,
        target: Target,
        workers: int,
        cache_entries: int,
        log_path: Path,
        pool: int | None,
        worker: bool = True,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        env = {k: v for k, v in os.environ.items() if not k.startswith("ZWR_")}
        # The generated data's key (bench.generate sets it for this process).
        env["ZWR_SECRET_KEY"] = os.environ["ZWR_SECRET_KEY"]
        env |= {
            "ZWR_DATABASE_URL": target.url,
            # The load comes from one address, far beyond any client's budget; the limits are
            # still checked on every request, as in production.
            "ZWR_WRITE_RATE_LIMIT": RATE_LIMIT,
            "ZWR_READ_RATE_LIMIT": RATE_LIMIT,
            "ZWR_AUTH_FAILURE_RATE_LIMIT": RATE_LIMIT,
            "ZWR_SUBMISSION_RATE_LIMIT": RATE_LIMIT,
            "ZWR_BENCH_ROUTES": "true",
            # Any positive number turns the cache on (MB of rendered lists); 0 turns it off.
            "ZWR_CONCERN_CACHE_MB": str(cache_entries),
        }
        if pool is not None:
            env["ZWR_DB_POOL_SIZE"] = str(pool)
        env |= extra_env or {}
        self.env = env
        cmd = [cli_path(), "serve", "--port", str(self.port), "--workers", str(workers)]
        if not worker:  # the background worker is on by default
            cmd.append("--no-worker")
        self._log = log_path.open("wb")
        self.proc = subprocess.Popen(
            cmd,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=ROOT,
            start_new_session=True,
        )
        self.pid = self.proc.pid

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited ({self.proc.returncode}):\n{self.tail()}")
            with suppress(OSError):
                status, body = http(self.base_url + "/readyz")
                if status == 200:
                    return
                last = f"/readyz answered {status}: {body[:500].decode(errors='replace')}"
            time.sleep(0.2)
        raise RuntimeError(f"the server was not ready within {timeout:g} s; {last}")

    def tail(self, chars: int = 3000) -> str:
        self._log.flush()
        with suppress(OSError):
            return self.log_path.read_bytes()[-chars:].decode(errors="replace")
        return ""

    def stop(self) -> None:
        procs = _tree(self.pid)
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        for proc in procs[1:]:  # workers left behind, if any, by their own ids
            with suppress(psutil.Error):
                if proc.is_running():
                    proc.kill()
        self._log.close()

    def log_summary(self) -> dict[str, Any]:
        """Responses by route and status from the access log, and the exceptions logged."""
        statuses: Counter[str] = Counter()
        exceptions: Counter[str] = Counter()
        with self.log_path.open("rb") as f:
            for raw in f:
                line = raw.decode(errors="replace").rstrip()
                if line.startswith("{"):
                    with suppress(ValueError, KeyError):
                        entry = json.loads(line)
                        statuses[f"{entry['method']} {entry['route']} {entry['status']}"] += 1
                        continue
                # The last line of a traceback: "package.module.SomeError: message".
                if re.match(r"^[A-Za-z_][\w.]*(Error|Exception|Timeout)\b.*:", line):
                    exceptions[line.split(" (Background")[0][:200]] += 1
        bad = {k: n for k, n in statuses.items() if not k.rsplit(" ", 1)[1].startswith(("2", "3"))}
        return {"non_2xx": bad, "exceptions": dict(exceptions.most_common(5))}


@contextmanager
def worker_beside(server: Server) -> Iterator[None]:
    """`zoo-registry worker` in a process of its own, with the server's settings (which then
    runs with --no-worker): the background work off the server's process, as deployed."""
    log_path = server.log_path.with_name(server.log_path.stem + "-worker.log")
    with log_path.open("wb") as out:
        proc = subprocess.Popen(
            [cli_path(), "worker"], stdout=out, stderr=subprocess.STDOUT, env=server.env, cwd=ROOT
        )
        try:
            yield
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


@contextmanager
def running_server(
    target: Target,
    workers: int,
    cache_entries: int,
    log_dir: Path,
    pool: int | None,
    startup_timeout: float,
    worker: bool = True,
    phase: str = "",
    extra_env: dict[str, str] | None = None,
) -> Iterator[Server]:
    phase = phase or ("cached" if cache_entries else "uncached")
    log_path = log_dir / f"server-{target.db}-{target.size_name}-w{workers}-{phase}.log"
    server = Server(target, workers, cache_entries, log_path, pool, worker, extra_env)
    try:
        server.wait_ready(startup_timeout)
        yield server
    finally:
        server.stop()


# --------------------------------------------------------------------------- measuring


@dataclass
class Run:
    endpoint: str
    round: int
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    server_cpu_s: float
    db_cpu_s: float | None
    loadgen_cpu_s: float
    peak_rss_mb: float
    ref_rps: float = 0.0  # the reference run just before it (for endpoint runs)
    ref_p99_ms: float = 0.0
    beside_rps: float | None = None  # the load alongside (Endpoint.beside)


@dataclass
class Phase:
    cache: bool
    name: str = ""
    runs: list[Run] = field(default_factory=list)
    hwm_mb: float = 0.0
    log: dict[str, Any] = field(default_factory=dict)
    drains: list[dict[str, Any]] = field(default_factory=list)
    notes: dict[str, float] = field(default_factory=dict)


def settle(server: Server, limit: float = 90.0) -> float:
    """Waits until the server has answered what the last run left in flight: wrk stops
    without waiting for its outstanding requests, and the server still works through them.
    Done when its CPU stays under 5% of a core for 0.3 s and a GET /readyz (a threadpool
    route using a pooled connection) answers within 0.5 s. Returns the seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        quiet, last = 0, tree_cpu(server.pid)
        while quiet < 2 and time.monotonic() - started < limit:
            time.sleep(0.15)
            now = tree_cpu(server.pid)
            quiet = quiet + 1 if now - last < 0.0075 else 0
            last = now
        t0 = time.monotonic()
        with suppress(OSError):
            http(server.base_url + "/readyz")
        if time.monotonic() - t0 < 0.5:
            break
    return time.monotonic() - started


def measure(
    server: Server,
    cfg: LoadConfig,
    endpoint: Endpoint,
    plan: Plan,
    seconds: float,
    rnd: int,
    pg: bool,
) -> Run:
    cpu0, db0, gen0 = tree_cpu(server.pid), postgres_cpu() if pg else 0.0, children_cpu()
    beside: list[LoadResult] = []
    with RssSampler(server.pid) as sampler:
        if endpoint.beside is None:
            result = run_load(cfg, server.base_url, endpoint, plan, seconds)
        else:
            side = replace(cfg, connections=max(1, cfg.connections // 8))
            with load_beside(
                side, server.base_url, BY_NAME[endpoint.beside], plan, seconds
            ) as beside:
                main = replace(cfg, connections=max(1, cfg.connections - side.connections))
                result = run_load(main, server.base_url, endpoint, plan, seconds)
    run = Run(
        endpoint=endpoint.name,
        round=rnd,
        rps=result.rps,
        p50_ms=result.p50_ms,
        p99_ms=result.p99_ms,
        requests=result.requests,
        errors=result.errors,
        server_cpu_s=tree_cpu(server.pid) - cpu0,
        db_cpu_s=(postgres_cpu() - db0) if pg else None,
        loadgen_cpu_s=children_cpu() - gen0,
        peak_rss_mb=sampler.peak_mb,
        beside_rps=beside[0].rps if beside else None,
    )
    if beside:  # its errors count too, against its requests
        run.errors += beside[0].errors
        run.requests += beside[0].requests
    log(
        f"  round {rnd} {endpoint.name:<18} {run.rps:8.1f} req/s  p99 {run.p99_ms:8.2f} ms"
        f"  errors {run.errors}"
        + (f"  ({endpoint.beside} beside: {run.beside_rps:.1f} req/s)" if beside else "")
    )
    return run


def preflight(server: Server, endpoint: Endpoint, plan: Plan) -> None:
    """One request of the endpoint's sequence must succeed before it is loaded."""
    method, path, body = build_request(endpoint.name, 0, plan)
    status, content = http(
        server.base_url + path, method, body, request_headers(endpoint.name, plan)
    )
    if not 200 <= status < 300:
        raise RuntimeError(f"{method} {path} answered {status} before the load: {content[:1000]!r}")


def drain(phase: Phase, server: Server, endpoint: str) -> None:
    """Lets the server finish a run's leftover requests before the next run; notes slow ones."""
    waited = settle(server)
    if waited > 5:
        phase.drains.append({"after": endpoint, "seconds": round(waited, 1)})
        log(f"  the server needed {waited:.1f} s to finish the requests {endpoint} left")


def run_phase(
    target: Target,
    workers: int,
    cache: bool,
    endpoints: list[Endpoint],
    plan: Plan,
    args: argparse.Namespace,
    cfg: LoadConfig,
    extras: frozenset[str] = frozenset(),
) -> Phase:
    cache_entries = 64 if cache else 0
    subscribers = max((e.webhooks for e in endpoints), default=0)
    name = "webhooks" if subscribers else "cached" if cache else "uncached"
    phase = Phase(cache=cache, name=name)
    pg = target.db == "postgresql"
    log(
        f"server: {workers} worker(s), concern cache {'on' if cache else 'off'}"
        + (f", {subscribers} webhook subscribers" if subscribers else "")
    )
    with ExitStack() as stack:
        server = stack.enter_context(
            running_server(
                target,
                workers,
                cache_entries,
                args.data_dir,
                args.db_pool_size,
                args.startup_timeout,
                worker=not subscribers,
                phase=name,
                extra_env=WEBHOOK_ENV if subscribers else None,
            )
        )
        if subscribers:  # deliveries (and the concern work) in a worker process apart
            stack.enter_context(worker_beside(server))
        hooks = (
            stack.enter_context(subscribed(server, target, subscribers)) if subscribers else None
        )

        def delivered(endpoint: Endpoint) -> float:
            """After a run that filed reports with subscribers attached: waits until every
            delivery of its events was answered; returns when (time.time())."""
            return wait_delivered(hooks) if hooks is not None and endpoint.webhooks else 0.0

        # Every zoo once, first: fills the cache when on, and evaluates each zoo into its
        # stored flags (as its first read of a day does; timed apart as "zoo evaluated in
        # full"), one zoo per request; a first ranking would evaluate every zoo in one.
        # Reports measured later mark their subjects, which reads then evaluate again. Its
        # page too when pages are measured: a first rendering is timed apart ("zoo page
        # rendered afresh"), as a first evaluation is.
        pages = "zoo_page" in (e.name for e in endpoints)
        animals = "animal_concerns" in (e.name for e in endpoints)
        first_pages: list[float] = []
        for zoo in range(1, target.size.zoos + 1):
            http(server.base_url + CONCERNS_PATH % zoo)
            if animals:  # the animal the runs ask of this zoo: its first
                http(server.base_url + ANIMAL_PATH % ((zoo - 1) * plan.per_zoo + 1))
            if pages:
                started = time.perf_counter()
                http(server.base_url + PAGE_PATH % zoo, headers={"Accept": "text/html"})
                first_pages.append((time.perf_counter() - started) * 1000)
        if pg:
            analyze_concerns(target)
        if first_pages:
            phase.notes |= {
                "page_first_p50_ms": med(first_pages),
                "page_first_max_ms": max(first_pages),
            }
        for endpoint in [REFERENCE, *endpoints]:
            preflight(server, endpoint, plan)
            delivered(endpoint)
        if args.warmup > 0:
            warm = max(args.warmup, 2) if cache else args.warmup
            for endpoint in [REFERENCE, *endpoints]:
                run_load(cfg, server.base_url, endpoint, plan, warm)
                delivered(endpoint)
                drain(phase, server, endpoint.name)
        for rnd in range(1, args.rounds + 1 if endpoints else 1):
            # ref, endpoint, ref, endpoint...; the endpoints' order turns each round.
            shift = (rnd - 1) % len(endpoints)
            for endpoint in endpoints[shift:] + endpoints[:shift]:
                ref = measure(server, cfg, REFERENCE, plan, args.duration, rnd, pg)
                drain(phase, server, REFERENCE.name)
                started = time.time()
                run = measure(server, cfg, endpoint, plan, args.duration, rnd, pg)
                if hooks is not None and endpoint.webhooks:
                    stopped = time.time()
                    hooks.windows.append((started, stopped, delivered(endpoint)))
                drain(phase, server, endpoint.name)
                run.ref_rps, run.ref_p99_ms = ref.rps, ref.p99_ms
                phase.runs += [ref, run]
        if "ranking" in (e.name for e in endpoints):
            # Its latency alone: one connection, so no request waits behind another.
            one = run_load(
                replace(cfg, connections=1),
                server.base_url,
                BY_NAME["ranking"],
                plan,
                args.duration,
            )
            phase.notes |= {"ranking_p50_1conn_ms": one.p50_ms, "ranking_p99_1conn_ms": one.p99_ms}
            log(f"  ranking at 1 connection: p50 {one.p50_ms:.2f} ms, p99 {one.p99_ms:.2f} ms")
        if FOLLOW in extras:  # one pass: 100,000 events take seconds
            read, seconds = follow_feed(server.base_url)
            phase.notes |= {
                "events_follow_events": read,
                "events_follow_s": seconds,
                "events_follow_per_s": read / seconds,
            }
            log(f"  {FOLLOW}: {read} events in {seconds:.2f} s, {read / seconds:,.0f} events/s")
        if EXPORT in extras:
            phase.notes |= download_export(server)
        if hooks is not None:
            phase.notes |= delivery_notes(hooks)
        phase.hwm_mb = tree_hwm_mb(server.pid)
    phase.log = server.log_summary()
    return phase


# --------------------------------------------------------------------------- the export


def download_export(server: Server) -> dict[str, float]:
    """Downloads the open-data zip once, reading as fast as it comes: the seconds to its first
    byte and to its end, its size, and the server's peak RSS meanwhile."""
    with RssSampler(server.pid) as sampler, httpx.Client(base_url=server.base_url) as client:
        started = time.perf_counter()
        first = size = 0.0
        with client.stream("GET", "/api/v1/export.zip", timeout=300) as response:
            if response.status_code != 200:
                raise RuntimeError(f"GET /api/v1/export.zip answered {response.status_code}")
            for chunk in response.iter_raw():
                first = first or time.perf_counter() - started
                size += len(chunk)
        seconds = time.perf_counter() - started
    log(
        f"  {EXPORT}: {size / 2**20:.0f} MB in {seconds:.1f} s, first byte after "
        f"{first:.3f} s, server peak {sampler.peak_mb:.0f} MB"
    )
    return {
        "export_s": seconds,
        "export_first_byte_s": first,
        "export_mb": size / 2**20,
        "export_server_mb": sampler.peak_mb,
    }


# --------------------------------------------------------------------------- the change feed


def follow_feed(base_url: str, upto: int = FOLLOW_EVENTS) -> tuple[int, float]:
    """One client follows GET /api/v1/events from the start, FOLLOW_LIMIT events a page, each
    request sent once the last answer is read (and parsed, for its `next`), until `upto`
    events or the feed's end. Returns the events read and the seconds taken."""
    read, after = 0, None
    with httpx.Client(base_url=base_url, timeout=60) as client:
        started = time.perf_counter()
        while read < upto:
            params: dict[str, Any] = {"limit": FOLLOW_LIMIT}
            if after is not None:
                params["after"] = after
            response = client.get("/api/v1/events", params=params)
            if response.status_code != 200:
                raise RuntimeError(f"GET /api/v1/events answered {response.status_code}")
            page = response.json()
            read += len(page["items"])
            after = page["next"]
            if len(page["items"]) < FOLLOW_LIMIT:
                break
        return read, time.perf_counter() - started


@dataclass
class Webhooks:
    """The subscribers of the webhooks phase: the receiver, the subscriptions' ids, and per
    measured run (start, end of the load, all its deliveries answered) as time.time()."""

    receiver: Receiver
    engine: Any
    ids: list[int] = field(default_factory=list)
    windows: list[tuple[float, float, float]] = field(default_factory=list)
    left: int = 0  # the most still outstanding when a wait for the deliveries timed out


@contextmanager
def subscribed(server: Server, target: Target, count: int) -> Iterator[Webhooks]:
    """`count` subscriptions to every event, each to its own path of a local receiver,
    created through the API with an inspector's key, and deleted after."""
    from sqlalchemy import create_engine

    key = create_key(target, "inspector")
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    with Receiver() as receiver:
        hooks = Webhooks(receiver, create_engine(target.url, hide_parameters=True))
        try:
            for n in range(1, count + 1):
                body = {"url": receiver.url(f"/hook-{n}"), "description": f"bench subscriber {n}"}
                status, content = http(
                    server.base_url + "/api/v1/webhooks", "POST", json.dumps(body).encode(), headers
                )
                if status != 201:
                    raise RuntimeError(
                        f"POST /api/v1/webhooks answered {status}: {content[:500]!r}"
                    )
                hooks.ids.append(json.loads(content)["id"])
            yield hooks
        finally:
            for hook in hooks.ids:
                with suppress(OSError):
                    http(f"{server.base_url}/api/v1/webhooks/{hook}", "DELETE", headers=headers)
            hooks.engine.dispose()


# Zero once every event is positioned, every subscription has fanned out to the feed's head
# and no delivery is pending (each answered, or failed after its retries).
OUTSTANDING = f"""SELECT (SELECT count(*) FROM event WHERE position IS NULL)
    + (SELECT count(*) FROM webhook WHERE status = 'active' AND cursor < ({FEED_HEAD}))
    + (SELECT count(*) FROM webhook_delivery WHERE status = 'pending')"""


def wait_delivered(hooks: Webhooks) -> float:
    """Polls until nothing is outstanding (DELIVERY_WAIT_S at most); returns time.time()."""
    from sqlalchemy import text

    deadline = time.monotonic() + DELIVERY_WAIT_S
    while True:
        with hooks.engine.connect() as conn:
            left = int(conn.execute(text(OUTSTANDING)).scalar_one())
        if not left:
            return time.time()
        if time.monotonic() > deadline:
            hooks.left = max(hooks.left, left)
            log(f"  {left} events or deliveries still outstanding after {DELIVERY_WAIT_S:g} s")
            return time.time()
        time.sleep(0.05)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def delivery_notes(hooks: Webhooks) -> dict[str, float]:
    """Per measured run, the deliveries of the events that occurred in it (from its start until
    all were answered): their rate from the run's start to the last one's arrival, and how long
    after the load stopped that last one came. Over all runs, the latency (arrival minus the
    event's occurred_at) and the duplicates (a webhook-id at one subscriber more than once)."""
    got = hooks.receiver.deliveries()
    seen = Counter((d.path, d.webhook_id) for d in got)
    rates, lags, latencies = [], [], []
    for start, stopped, done in hooks.windows:
        mine: list[Delivery] = [
            d for d in got if d.occurred is not None and start <= d.occurred <= done
        ]
        if mine:
            last = max(d.arrived for d in mine)
            rates.append(len(mine) / max(last - start, 1e-3))
            lags.append(last - stopped)
            latencies += [d.arrived - d.occurred for d in mine if d.occurred is not None]
    notes = {
        "webhooks_subscribers": len(hooks.ids),
        "webhooks_deliveries": len(latencies),
        "webhooks_per_s": med(rates),
        "webhooks_last_after_s": med(lags),
        "webhooks_p50_ms": pct(latencies, 0.50) * 1000,
        "webhooks_p99_ms": pct(latencies, 0.99) * 1000,
        "webhooks_duplicates": sum(n - 1 for n in seen.values()),
        "webhooks_left": hooks.left,
    }
    log(
        f"  webhooks: {notes['webhooks_deliveries']} deliveries, {notes['webhooks_per_s']:.0f}/s, "
        f"p50 {notes['webhooks_p50_ms']:.0f} ms, p99 {notes['webhooks_p99_ms']:.0f} ms"
    )
    return notes


# --------------------------------------------------------------------------- the day's rollover


@dataclass
class Rollover:
    """Uncached reads of each zoo's list, one at a time, before and right after a simulated
    new day (every concern_state row set to yesterday), with the background worker on or off."""

    worker: bool
    zoos: int
    ordinary_ms: list[float] = field(default_factory=list)
    first_ms: list[float] = field(default_factory=list)
    caught_up_s: list[float] = field(default_factory=list)  # worker on: until no zoo was left
    left_behind: int = 0  # zoos still from yesterday when waiting for the worker timed out

    @property
    def factor(self) -> float:
        return med(self.first_ms) / med(self.ordinary_ms)


def _from_yesterday(engine: Any, set_: bool) -> int:
    """Sets every zoo's stored state to yesterday (what the day's rollover looks like to the
    staleness checks), or counts the zoos whose state is still from before today."""
    from sqlalchemy import func, select, update

    from app.models import FlagsState
    from app.models.base import table_of, utcnow

    state = table_of(FlagsState)
    today = utcnow().date()
    with engine.begin() as conn:
        if set_:
            conn.execute(update(state).values(evaluated_on=today - timedelta(days=1)))
        query = select(func.count()).select_from(state).where(state.c.evaluated_on < today)
        return int(conn.execute(query).scalar_one())


def run_rollover(target: Target, plan: Plan, args: argparse.Namespace, worker: bool) -> Rollover:
    """Per pass (enough for 30 first reads): the state set to yesterday, (worker on) the wait
    until the worker has brought every zoo back to today, then each zoo's list read twice in a
    row: its first read of the new day, and an ordinary one (so machine noise hits both
    alike). Concern cache off, one request at a time."""
    from sqlalchemy import create_engine

    result = Rollover(worker=worker, zoos=plan.zoos)
    phase = "rollover" if worker else "rollover-noworker"
    log(f"server: day rollover, background worker {'on' if worker else 'off'}")

    def read(base_url: str, zoo: int) -> float:
        path = f"/api/v1/zoos/bench-zoo-{zoo}/concerns"
        t0 = time.perf_counter()
        status, body = http(base_url + path)
        if status != 200:
            raise RuntimeError(f"GET {path} answered {status}: {body[:500]!r}")
        return (time.perf_counter() - t0) * 1000

    engine = create_engine(target.url, hide_parameters=True)
    try:
        with running_server(
            target, 1, 0, args.data_dir, args.db_pool_size, args.startup_timeout, worker, phase
        ) as server:
            for zoo in range(1, plan.zoos + 1):  # warm-up; brings every zoo up to date
                read(server.base_url, zoo)
            timeout = max(60.0, 2.0 * plan.zoos)
            for _ in range(-(-30 // plan.zoos)):
                started = time.monotonic()
                left = _from_yesterday(engine, set_=True)
                while worker and left and time.monotonic() - started < timeout:
                    time.sleep(0.02)
                    left = _from_yesterday(engine, set_=False)
                if worker:
                    result.caught_up_s.append(time.monotonic() - started)
                    result.left_behind = max(result.left_behind, left)
                    settle(server)  # the worker's last pass, which finds nothing left
                for zoo in range(1, plan.zoos + 1):
                    result.first_ms.append(read(server.base_url, zoo))
                    result.ordinary_ms.append(read(server.base_url, zoo))
                settle(server)
    finally:
        engine.dispose()
    log(
        f"  first read after the rollover p50 {med(result.first_ms):.1f} ms, ordinary p50 "
        f"{med(result.ordinary_ms):.1f} ms"
        + (f"; worker caught up in {med(result.caught_up_s):.1f} s" if worker else "")
    )
    return result


# --------------------------------------------------------------------------- reporting


def med(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


@dataclass
class Row:
    endpoint: Endpoint
    rps: float
    ratio: float | None
    steady_ratio: float | None  # against the median of the phase's reference runs
    p99_ms: float
    ref_p99_ms: float | None
    p99_factor: float | None
    peak_mb: float
    server_cpu_s: float
    db_cpu_s: float | None
    loadgen_cpu_s: float
    requests: int
    errors: int


def summarize(phases: list[Phase], endpoints: list[Endpoint]) -> list[Row]:
    runs = [r for p in phases for r in p.runs]
    # Each phase's reference runs, for a steadier denominator than the one run before each
    # endpoint run: a single reference run can be slowed by the machine.
    reference = {
        r.endpoint: med([x.rps for x in p.runs if x.endpoint == REFERENCE.name])
        for p in phases
        for r in p.runs
    }
    rows = []
    for endpoint in [REFERENCE, *endpoints]:
        mine = [r for r in runs if r.endpoint == endpoint.name]
        is_ref = endpoint is REFERENCE
        db = [r.db_cpu_s for r in mine if r.db_cpu_s is not None]
        steady = med([r.rps for r in mine]) / reference[endpoint.name] if mine else None
        rows.append(
            Row(
                endpoint=endpoint,
                rps=med([r.rps for r in mine]),
                ratio=None if is_ref else med([r.rps / r.ref_rps for r in mine if r.ref_rps]),
                steady_ratio=None if is_ref else steady,
                p99_ms=med([r.p99_ms for r in mine]),
                ref_p99_ms=None if is_ref else med([r.ref_p99_ms for r in mine]),
                p99_factor=None
                if is_ref
                else med([r.p99_ms / r.ref_p99_ms for r in mine if r.ref_p99_ms]),
                peak_mb=max((r.peak_rss_mb for r in mine), default=0.0),
                server_cpu_s=med([r.server_cpu_s for r in mine]),
                db_cpu_s=med(db) if db else None,
                loadgen_cpu_s=med([r.loadgen_cpu_s for r in mine]),
                requests=sum(r.requests for r in mine),
                errors=sum(r.errors for r in mine),
            )
        )
    return rows


@dataclass
class Check:
    what: str
    value: float
    target: float
    higher_is_better: bool
    verdict: str = ""
    exact: bool = False  # a count that must be the target, never tolerated


def judge(check: Check, factor: float) -> Check:
    if check.higher_is_better:
        met, tolerated = check.value >= check.target, check.value >= factor * check.target
    else:
        met, tolerated = check.value < check.target, check.value < check.target / factor
    check.verdict = "PASS" if met else "MISS (tolerated)" if tolerated else "FAIL"
    return check


def checks_for(
    rows: list[Row],
    hwm_mb: float,
    factor: float,
    workers: int,
    notes: dict[str, float],
    size_name: str,
    rollovers: list[Rollover],
) -> list[Check]:
    checks = []
    for row in rows:
        e = row.endpoint
        if row.requests and row.errors > MAX_ERROR_SHARE * row.requests:
            checks.append(Check(f"{e.name} errors", row.errors, 0, False, "FAIL"))
        if e.min_ratio is not None and row.ratio is not None:
            checks.append(
                judge(Check(f"{e.name} throughput ratio", row.ratio, e.min_ratio, True), factor)
            )
        if e.max_p99_factor is not None and row.p99_factor is not None:
            checks.append(
                judge(
                    Check(f"{e.name} p99 / reference p99", row.p99_factor, e.max_p99_factor, False),
                    factor,
                )
            )
    if workers == 1 and hwm_mb > 0:  # 0: no server phase ran
        checks.append(
            judge(Check("server peak memory MB", hwm_mb, MEMORY_TARGET_MB, False), factor)
        )
    if size_name == "L" and "ranking_p50_1conn_ms" in notes:
        p50 = notes["ranking_p50_1conn_ms"]
        checks.append(
            judge(Check("ranking p50 ms, 1 connection", p50, RANKING_P50_TARGET_MS, False), factor)
        )
    if "events_follow_per_s" in notes:
        rate = notes["events_follow_per_s"]
        checks.append(judge(Check(f"{FOLLOW} events/s", rate, FOLLOW_TARGET, True), factor))
    if "export_s" in notes:
        for what, value, limit in (
            ("s, whole zip", notes["export_s"], EXPORT_TARGET_S),
            ("s to first byte", notes["export_first_byte_s"], EXPORT_FIRST_BYTE_S),
            ("server peak MB", notes["export_server_mb"], EXPORT_MEMORY_MB),
        ):
            checks.append(judge(Check(f"{EXPORT} {what}", value, limit, False), factor))
    if "pair_events" in notes:  # correctness across the two servers: never tolerated
        for what, value, want in (
            ("list follows a write through the other", notes["pair_list_follows_writes"], 1),
            ("zoos whose lists differ", notes["pair_lists_differing"], 0),
            ("budget steps not shared", notes["pair_budget_steps_wrong"], 0),
            (
                "reports not in the feed once",
                notes["pair_reports_filed"]
                - notes["pair_reports_in_feed"]
                + notes["pair_feed_duplicates"],
                0,
            ),
            ("events without a webhook", notes["pair_webhooks_missing"], 0),
        ):
            verdict = "PASS" if value == want else "FAIL"
            checks.append(Check(f"{PAIR} {what}", value, want, want > 0, verdict, exact=True))
    for r in rollovers:
        if r.worker:
            what = "rollover first read p50 / ordinary p50"
            checks.append(judge(Check(what, r.factor, ROLLOVER_TARGET, False), factor))
    return checks


def fmt(value: float | None, spec: str = ".2f") -> str:
    return "-" if value is None else format(value, spec)


def render_table(rows: list[Row], pg: bool) -> str:
    header = (
        f"{'endpoint':<36} {'req/s':>8} {'ratio':>6} {'~med':>6} {'target':>6} {'p99 ms':>8} "
        f"{'ref p99':>8} {'p99/ref':>7} {'peak MB':>7} {'CPU s srv/db/load':>18} {'errors':>6}"
    )
    lines = [header, "-" * len(header)]
    for r in rows:
        cpu = f"{r.server_cpu_s:.1f}/{fmt(r.db_cpu_s, '.1f') if pg else 'n/a'}/" + format(
            r.loadgen_cpu_s, ".1f"
        )
        ratio = "1.000" if r.ratio is None else fmt(r.ratio, ".3f")
        steady = "1.000" if r.steady_ratio is None else fmt(r.steady_ratio, ".3f")
        lines.append(
            f"{r.endpoint.label:<36} {r.rps:8.1f} {ratio:>6} {steady:>6} "
            f"{fmt(r.endpoint.min_ratio):>6} {r.p99_ms:8.2f} {fmt(r.ref_p99_ms):>8} "
            f"{fmt(r.p99_factor, '.1f'):>7} {r.peak_mb:7.0f} {cpu:>18} {r.errors:>6}"
        )
    return "\n".join(lines)


@dataclass
class Report:
    title: str
    workers: int
    table: str
    checks: list[Check]
    evaluation: dict[str, float]
    hwm_mb: float
    logs: list[dict[str, Any]]
    rows: list[Row]
    runs: list[Run]
    notes: dict[str, float] = field(default_factory=dict)
    rollovers: list[Rollover] = field(default_factory=list)

    def text(self, factor: float) -> str:
        ev = self.evaluation
        verdict = "PASS" if ev["statement_ms"] < EVAL_TARGET_MS else "FAIL"
        lines = [
            self.title,
            "",
            self.table,
            "",
            f"server peak memory (VmHWM summed over the server's processes): {self.hwm_mb:.0f} MB",
            f"concern evaluation in-process, zoo bench-zoo-1 ({ev['flags']} flags, median of "
            f"{ev['repeats']}): page statement {ev['statement_ms']:.1f} ms (target "
            f"{EVAL_TARGET_MS:g} ms: {verdict}, informational); whole page "
            f"{ev['page_ms']:.1f} ms; zoo evaluated in full into its stored flags "
            f"{ev['full_ms']:.1f} ms; whole list {ev['list_ms']:.1f} ms",
            f"slowest search (median, in-process): {ev['search_ms']:.1f} ms (target "
            f"{SEARCH_TARGET_MS:g} ms: "
            f"{'PASS' if ev['search_ms'] < SEARCH_TARGET_MS else 'FAIL'}, informational)",
            *self.ranking_lines(),
            *self.feed_lines(),
            *(rollover_line(r) for r in self.rollovers),
            "",
            f"targets (1 worker; FAIL = more than {(1 - factor) * 100:.0f}% worse than target):"
            if self.workers == 1
            else "targets apply to 1 worker; shown for information:",
        ]
        for c in self.checks:
            op = "=" if c.exact else ">=" if c.higher_is_better else "<"
            shown = c.verdict if self.workers == 1 else f"({c.verdict})"
            lines.append(f"  {c.what:<40} {c.value:9.3f}  target {op} {c.target:g}  {shown}")
        for summary in self.logs:
            phase = summary.get("phase", "")
            if summary.get("non_2xx"):
                lines.append(f"server log ({phase}): non-2xx answers {summary['non_2xx']}")
            for exc, n in summary.get("exceptions", {}).items():
                lines.append(f"server log ({phase}): {n} x {exc}")
            for d in summary.get("slow_drains", []):
                lines.append(
                    f"server ({phase}) needed {d['seconds']} s to finish the requests left "
                    f"in flight by {d['after']}"
                )
        return "\n".join(lines)

    def feed_lines(self) -> list[str]:
        n, lines = self.notes, []
        if "events_follow_per_s" in n:
            read = int(n["events_follow_events"])
            lines.append(
                f"{FOLLOW}: one client read the feed from its start, {FOLLOW_LIMIT} a page, "
                f"{read:,} events"
                + (f" (all it holds, fewer than {FOLLOW_EVENTS:,})" if read < FOLLOW_EVENTS else "")
                + f" in {n['events_follow_s']:.2f} s: {n['events_follow_per_s']:,.0f} events/s "
                f"(target >= {FOLLOW_TARGET:,.0f})"
            )
        if "export_s" in n:
            lines.append(
                f"{EXPORT}: GET /api/v1/export.zip, {n['export_mb']:.0f} MB in "
                f"{n['export_s']:.1f} s (target < {EXPORT_TARGET_S:.0f}), first byte after "
                f"{n['export_first_byte_s']:.3f} s (target < {EXPORT_FIRST_BYTE_S:.0f}), server "
                f"peak {n['export_server_mb']:.0f} MB (target < {EXPORT_MEMORY_MB:.0f})"
            )
        if "pair_events" in n:
            lines.append(
                f"{PAIR}: two servers on one database, rate limits in Redis, the load split "
                f"between them: POST /reports {n['pair_reports_ratio']:.3f} and the uncached "
                f"concern list {n['pair_concerns_uncached_ratio']:.3f} of the pair's no-op; "
                f"{n['pair_reports_filed']:.0f} reports filed, {n['pair_reports_in_feed']:.0f} "
                f"in the feed ({n['pair_feed_duplicates']:.0f} twice); {n['pair_events']:.0f} "
                f"events, {n['pair_webhooks_missing']:.0f} without a webhook"
            )
        if "webhooks_deliveries" in n:
            lines.append(
                f"reports_webhooks: {n['webhooks_deliveries']:.0f} deliveries to "
                f"{n['webhooks_subscribers']:.0f} subscribers of the events of the measured "
                f"runs, {n['webhooks_per_s']:.0f}/s from a run's start to its last delivery "
                f"(median; the last {n['webhooks_last_after_s']:.1f} s after the load stopped); "
                f"arrival - occurred_at p50 {n['webhooks_p50_ms']:.0f} ms, p99 "
                f"{n['webhooks_p99_ms']:.0f} ms; {n['webhooks_duplicates']:.0f} delivered twice"
                + (
                    f"; {n['webhooks_left']:.0f} still outstanding after {DELIVERY_WAIT_S:g} s"
                    if n["webhooks_left"]
                    else ""
                )
            )
        return lines

    def ranking_lines(self) -> list[str]:
        lines = []
        if "ranking_p50_1conn_ms" in self.notes:
            loaded = med([r.p50_ms for r in self.runs if r.endpoint == "ranking"])
            lines.append(
                f"ranking GET /concerns?limit=50: p50 {self.notes['ranking_p50_1conn_ms']:.1f} ms"
                f" at 1 connection (target < {RANKING_P50_TARGET_MS:g} ms, judged at size L), "
                f"p99 {self.notes['ranking_p99_1conn_ms']:.1f} ms; p50 {loaded:.1f} ms under load"
            )
        if "page_first_p50_ms" in self.notes:
            lines.append(
                f"zoo page rendered afresh (each zoo's first, before the runs): p50 "
                f"{self.notes['page_first_p50_ms']:.1f} ms, max "
                f"{self.notes['page_first_max_ms']:.1f} ms (informational)"
            )
        beside = [r.beside_rps for r in self.runs if r.beside_rps is not None]
        if beside:
            lines.append(
                f"ranking_writes: POST /api/v1/reports beside it on 1/8 of the connections: "
                f"{med(beside):.1f} req/s (median)"
            )
        return lines


def rollover_line(r: Rollover) -> str:
    """One line about a day-rollover phase."""
    reads = f"{len(r.first_ms)} first reads of {r.zoos} zoos"
    line = (
        f"day rollover, worker {'on' if r.worker else 'off'} ({reads}, uncached): first read "
        f"p50 {med(r.first_ms):.1f} ms, ordinary read p50 {med(r.ordinary_ms):.1f} ms "
        f"(x{r.factor:.2f}"
        + (f", target < {ROLLOVER_TARGET:g})" if r.worker else ", informational)")
    )
    if r.caught_up_s:
        line += (
            f"; the worker had every zoo on today's date {med(r.caught_up_s):.2f} s after the "
            f"rollover (median; max {max(r.caught_up_s):.2f} s)"
        )
    if r.left_behind:
        line += f"; {r.left_behind} zoos were still from yesterday when the wait timed out"
    return line


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_workers(
    target: Target,
    workers: int,
    plan: Plan,
    endpoints: list[Endpoint],
    args: argparse.Namespace,
    cfg: LoadConfig,
    evaluation: dict[str, float],
    extras: frozenset[str] = frozenset(),
) -> Report:
    phases = []
    uncached = [e for e in endpoints if not e.cache and not e.webhooks]
    cached = [e for e in endpoints if e.cache]
    hooked = [e for e in endpoints if e.webhooks]
    if uncached:
        phases.append(run_phase(target, workers, False, uncached, plan, args, cfg))
    if cached or extras & {FOLLOW, EXPORT}:
        phases.append(run_phase(target, workers, True, cached, plan, args, cfg, extras))
    if hooked:
        phases.append(run_phase(target, workers, False, hooked, plan, args, cfg))
    rollovers = []
    if workers == 1 and args.rollover != "none":
        rollovers.append(run_rollover(target, plan, args, worker=True))
        if args.rollover == "both":
            rollovers.append(run_rollover(target, plan, args, worker=False))
    rows = summarize(phases, endpoints)
    hwm = max((p.hwm_mb for p in phases), default=0.0)
    notes = {k: v for p in phases for k, v in p.notes.items()}
    if PAIR in extras and workers == 1 and target.db == "postgresql":
        from bench.pair import run_pair

        notes |= run_pair(target, plan, args, cfg)
    title = (
        f"== {target.label}, {workers} worker{'s' if workers > 1 else ''}: medians of "
        f"{args.rounds} rounds x {args.duration:g} s, {cfg.connections} connections, "
        f"{cfg.tool} =="
    )
    return Report(
        title=title,
        workers=workers,
        table=render_table(rows, target.db == "postgresql"),
        checks=checks_for(
            rows, hwm, args.target_factor, workers, notes, target.size_name, rollovers
        ),
        evaluation=evaluation,
        hwm_mb=hwm,
        logs=[{**p.log, "phase": p.name, "slow_drains": p.drains} for p in phases],
        rows=rows,
        runs=[r for p in phases for r in p.runs],
        notes=notes,
        rollovers=rollovers,
    )


def write_output(path: Path, reports: list[Report], factor: float, argv: list[str]) -> None:
    if path.suffix == ".json":
        data = {
            "command": "python -m bench.run " + " ".join(argv),
            "target_factor": factor,
            "reports": [
                {
                    "title": r.title,
                    "workers": r.workers,
                    "server_peak_mb": r.hwm_mb,
                    "evaluation": r.evaluation,
                    "rows": [{**asdict(row), "endpoint": row.endpoint.name} for row in r.rows],
                    "checks": [asdict(c) for c in r.checks],
                    "server_logs": r.logs,
                    "runs": [asdict(run) for run in r.runs],
                    "notes": r.notes,
                    "rollovers": [{**asdict(x), "factor": x.factor} for x in r.rollovers],
                }
                for r in reports
            ],
        }
        path.write_text(json.dumps(data, indent=2) + "\n")
    else:
        parts = [f"`python -m bench.run {' '.join(argv)}`\n"]
        parts += [f"```\n{r.text(factor)}\n```\n" for r in reports]
        path.write_text("\n".join(parts))


def compare(base_path: Path, other_path: Path) -> tuple[str, bool]:
    """Two JSON results (say L and XL) side by side: each endpoint's ratio in both (1 server
    worker) and the second over the first. The per-zoo endpoints must keep FLAT_SHARE of it:
    a request that concerns one zoo must not cost more in a larger registry."""

    def ratios(path: Path) -> tuple[str, dict[str, float]]:
        data = json.loads(path.read_text())
        report = next(r for r in data["reports"] if r["workers"] == 1)
        found = {row["endpoint"]: row["ratio"] for row in report["rows"] if row["ratio"]}
        return report["title"], found

    (base_title, base), (other_title, other) = ratios(base_path), ratios(other_path)
    lines = [f"A: {base_title}", f"B: {other_title}", ""]
    lines.append(f"{'endpoint':<20} {'A ratio':>8} {'B ratio':>8} {'B/A':>6}  judged")
    ok = True
    for name in (n for n in BY_NAME if n in base and n in other):
        share = other[name] / base[name]
        verdict = ""
        if name in FLAT:
            passed = share >= FLAT_SHARE
            ok &= passed
            verdict = f"{'PASS' if passed else 'FAIL'} (>= {FLAT_SHARE:g})"
        lines.append(f"{name:<20} {base[name]:8.3f} {other[name]:8.3f} {share:6.2f}  {verdict}")
    return "\n".join(lines), ok


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--db", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--size", choices=sorted(SIZES), default="S")
    parser.add_argument("--generate", action="store_true", help="(re)generate the data first")
    parser.add_argument(
        "--workers", type=int, nargs="+", default=[1], help="server workers; e.g. --workers 1 2"
    )
    parser.add_argument("--duration", type=int, default=5, help="seconds per load run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1, help="seconds per endpoint, 0: none")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--timeout", type=float, default=30.0, help="request timeout, seconds")
    parser.add_argument("--loadgen", choices=("auto", "wrk", "python"), default="auto")
    names = [e.name for e in ENDPOINTS] + [FOLLOW, EXPORT, PAIR]
    parser.add_argument(
        "--endpoints",
        default=",".join(names),
        help="comma-separated subset of: " + ", ".join(names),
    )
    parser.add_argument(
        "--rollover",
        choices=("both", "worker", "none"),
        default="both",
        help="day-rollover phase with the background worker on, on and off (both), or none",
    )
    parser.add_argument("--target-factor", type=float, default=0.75)
    parser.add_argument("--eval-repeats", type=int, default=7)
    parser.add_argument("--output", type=Path, help="result file: .json, else markdown")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "zwr-bench",
        help="SQLite files and server logs",
    )
    parser.add_argument("--pg-server", default=PG_SERVER, help="PostgreSQL URL without database")
    parser.add_argument(
        "--name",
        default="",
        type=lambda v: v if re.fullmatch(r"[a-z0-9]*", v) else parser.error("--name: a-z, 0-9"),
        help="suffix of the bench database name (zwr_bench_s_NAME), e.g. ci",
    )
    parser.add_argument("--drop", action="store_true", help="drop the bench database after")
    parser.add_argument(
        "--not-enforced",
        default="",
        help="comma-separated endpoints whose targets are reported but do not fail the run",
    )
    parser.add_argument("--db-pool-size", type=int, help="ZWR_DB_POOL_SIZE for the server")
    parser.add_argument("--startup-timeout", type=float, default=60.0)
    parser.add_argument("--loadgen-spec", help=argparse.SUPPRESS)
    parser.add_argument(
        "--compare",
        nargs=2,
        type=Path,
        metavar=("A.json", "B.json"),
        help="print two results' ratios side by side (B/A) and judge the per-zoo endpoints",
    )
    args = parser.parse_args(argv)
    if not 0 < args.target_factor <= 1:
        parser.error("--target-factor must be in (0, 1]")
    if args.rounds < 1 or args.duration <= 0:
        parser.error("--rounds and --duration must be positive")
    return args


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if args.loadgen_spec:
        result = asyncio.run(_python_load(json.loads(args.loadgen_spec)))
        print("ZWR_RESULT " + json.dumps(result))
        return 0
    if args.compare:
        table, ok = compare(*args.compare)
        print(table)
        return 0 if ok else 1
    # A SIGTERM (CI's timeout) unwinds like Ctrl-C, so the servers are always stopped.
    signal.signal(signal.SIGTERM, _interrupt)
    names = [n.strip() for n in args.endpoints.split(",") if n.strip()]
    unknown = [n for n in names if n not in BY_NAME and n not in (FOLLOW, EXPORT, PAIR)]
    if unknown:
        raise SystemExit(f"unknown endpoints: {', '.join(unknown)}")
    endpoints = [BY_NAME[n] for n in names if n in BY_NAME]
    tool = args.loadgen
    if tool == "auto":
        tool = "wrk" if shutil.which("wrk") else "python"
    elif tool == "wrk" and not shutil.which("wrk"):
        raise SystemExit("wrk is not installed; use --loadgen python")
    if tool == "python":
        log("wrk not used: the Python load generator drives the server (slower, noisier)")
    cfg = LoadConfig(tool, args.connections, args.threads, args.timeout)
    args.data_dir.mkdir(parents=True, exist_ok=True)

    target = database_for(args.db, args.size, args.data_dir, args.pg_server, args.name)
    try:
        extras = frozenset(names) & {FOLLOW, EXPORT, PAIR}
        return run(target, args, argv, endpoints, cfg, extras)
    finally:
        if args.drop:
            drop(target)


def run(
    target: Target,
    args: argparse.Namespace,
    argv: list[str],
    endpoints: list[Endpoint],
    cfg: LoadConfig,
    extras: frozenset[str] = frozenset(),
) -> int:
    if args.generate:
        generate(target)
    check_data(target)
    size = target.size
    # Subscriptions an interrupted webhooks phase left behind are removed first.
    head = feed_state(target, forget_webhooks=True)
    log(f"the change feed holds {head} positioned events")
    if head < 2 * PAGE_EVENTS and "events_page" in (e.name for e in endpoints):
        raise SystemExit(f"events_page needs a feed of events; run with --generate (holds {head})")
    plan = Plan(
        zoos=size.zoos,
        per_zoo=size.animals // size.zoos,
        key=create_key(target),
        events=head,
        deep_after=deep_cursor(target) if BY_NAME["incidents_deep"] in endpoints else "",
    )
    evaluation = time_evaluation(target, args.eval_repeats)
    log(
        f"concern evaluation, zoo 1: {evaluation['statement_ms']:.1f} ms (page statement), "
        f"{evaluation['page_ms']:.1f} ms (page), {evaluation['full_ms']:.1f} ms (zoo in full), "
        f"{evaluation['list_ms']:.1f} ms (whole list)"
    )
    searches = time_search(target, args.eval_repeats)
    evaluation["search_ms"] = max(searches.values())
    for path, ms in searches.items():
        log(f"search {path}: {ms:.1f} ms")
    reports = []
    for workers in args.workers:
        report = run_workers(target, workers, plan, endpoints, args, cfg, evaluation, extras)
        reports.append(report)
        print(report.text(args.target_factor) + "\n", flush=True)
    if args.output:
        write_output(args.output, reports, args.target_factor, argv)
        log(f"wrote {args.output}")
    waived = [n.strip() for n in args.not_enforced.split(",") if n.strip()]
    failed = [
        c
        for r in reports
        if r.workers == 1
        for c in r.checks
        if c.verdict == "FAIL" and not c.what.startswith(tuple(f"{n} " for n in waived))
    ]
    if waived:
        log("reported but not enforced: " + ", ".join(waived))
    if failed:
        log("FAILED: " + ", ".join(c.what for c in failed))
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt as exc:
        log(f"interrupted ({exc or 'Ctrl-C'}); the server was stopped")
        sys.exit(130)
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        log(f"benchmark error: {exc}")
        sys.exit(2)
