"""Durability under PostgreSQL restarts: no lost, no duplicated reports, 503s instead of 500s.

    python -m bench.durability [--server-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

Creates a throwaway database `zwr_durability_<random>` on the server, migrates and seeds it
with the `zoo-registry` command, issues a reporter key, and starts the real service
(`zoo-registry serve`, one worker, its background worker on) against it, with a webhook
subscribed to report.filed through the API, delivered to a local receiver (bench/receiver.py;
the service allows http and private addresses for it, and retries on a short schedule).
Sixteen clients then post distinct welfare reports, each with its own Idempotency-Key, and
retry a report with the same key and body after a 503 (waiting the Retry-After, capped) or a
connection error, until it is answered 201. Meanwhile PostgreSQL is restarted twice with
`pg_ctlcluster 15 main restart`.

Afterwards it checks that
* every report answered 201 is in the database, and replays name the same report as the
  first 201 for their key;
* there are no duplicates: one report row (and one idempotency record) per confirmed key;
* no request was answered 500, and every 503 was an application/problem+json document with
  a Retry-After header;
* the service recovered on its own: every client finished its reports with 201s, and no 503
  came long after PostgreSQL was accepting connections again;
* the change feed (GET /api/v1/events followed from the start) holds each event once, and
  exactly one report.filed per report answered 201 (its subject_id the report's id);
* the webhook received each of those report.filed events at least once (by webhook-id), within
  --delivery-wait seconds after the clients stopped; deliveries twice are counted, allowed.

It exits 0 when all hold, 1 otherwise. The database is dropped, the service stopped and
PostgreSQL left running whatever happens. Restarting PostgreSQL breaks every other session
connected to that server, so do not run it next to other work on the same cluster. The
server URL defaults to $ZWR_DURABILITY_SERVER_URL, then $ZWR_TEST_DATABASE_URL, then the
local PostgreSQL; it must name a cluster on this machine, which pg_ctlcluster restarts.
"""

import argparse
import itertools
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.receiver import Receiver

DEFAULT_SERVER_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
CATEGORIES = ("nutrition", "environment", "health", "behaviour", "human_interaction", "other")
PROBLEM_MEDIA_TYPE = "application/problem+json"
# A 503 whose request started this long after PostgreSQL accepted connections again means the
# pool did not recover on its own.
RECOVERY_GRACE = 5.0
REPEAT_EVERY = 8
FEED_PAGE = 1000
# The service's webhook settings for the run: the local receiver allowed; short retries (an
# attempt whose outcome could not be recorded during a restart is sent again); a short lease
# (at least twice the time limit), so a claim committed while its worker lost the connection
# is due again within seconds, not a minute.
WEBHOOK_ENV = {
    "ZWR_WEBHOOK_ALLOW_INSECURE": "true",
    "ZWR_WEBHOOK_ALLOW_PRIVATE": "true",
    "ZWR_WEBHOOK_RETRY_SCHEDULE": "1,1,2,5",
    "ZWR_WEBHOOK_TIMEOUT_S": "5",
    "ZWR_WEBHOOK_LEASE_S": "10",
}


@dataclass(frozen=True)
class Config:
    server_url: str
    clients: int
    max_reports: int
    restart_at: tuple[float, ...]
    settle: float
    deadline: float
    retry_cap: float
    delivery_wait: float
    pg_version: str
    pg_cluster: str
    keep_log: bool


@dataclass
class Attempt:
    """One HTTP attempt: when it started and ended (seconds into the run) and what it got."""

    client: int
    key: str
    request_id: str  # sent as X-Request-ID, so the service log can be matched to attempts
    started: float
    ended: float
    status: int | None  # None: no HTTP answer (connection error or timeout)
    error: str | None = None
    content_type: str = ""
    retry_after: str | None = None
    replayed: bool = False
    report_id: int | None = None
    repeat: bool = False  # a deliberate second post of a key already answered 201


@dataclass
class Outage:
    started: float
    ended: float | None = None  # when pg_isready first answered again


@dataclass
class Run:
    cfg: Config
    base_url: str
    token: str
    zoo_ids: list[int]
    t0: float = field(default_factory=time.monotonic)
    stop_new: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    attempts: list[Attempt] = field(default_factory=list)
    outages: list[Outage] = field(default_factory=list)
    titles: dict[str, str] = field(default_factory=dict)  # key -> title
    unfinished: list[str] = field(default_factory=list)  # keys given up without a 201
    controller_error: str | None = None
    sequence: Iterator[int] = field(default_factory=itertools.count)

    def now(self) -> float:
        return time.monotonic() - self.t0

    def record(self, attempt: Attempt) -> None:
        with self.lock:
            self.attempts.append(attempt)


def log(message: str) -> None:
    print(message, flush=True)


# --- PostgreSQL ------------------------------------------------------------------------------


def pg_host_port(server_url: str) -> tuple[str, int]:
    url = make_url(server_url)
    return url.host or "127.0.0.1", url.port or 5432


def pg_is_ready(server_url: str) -> bool:
    host, port = pg_host_port(server_url)
    try:
        result = subprocess.run(
            ["pg_isready", "-h", host, "-p", str(port), "-q"], timeout=5, check=False
        )
    except subprocess.TimeoutExpired:
        return False
    return result.returncode == 0


def wait_pg_ready(server_url: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pg_is_ready(server_url):
            return True
        time.sleep(0.1)
    return False


def pg_ctl(cfg: Config, action: str) -> None:
    """Runs `pg_ctlcluster <version> <cluster> <action>`, bypassing systemctl if it fails."""
    plain = ["pg_ctlcluster", cfg.pg_version, cfg.pg_cluster, action]
    result = subprocess.run(plain, capture_output=True, text=True, timeout=60, check=False)
    if result.returncode == 0:
        return
    direct = ["pg_ctlcluster", "--skip-systemctl-redirect", cfg.pg_version, cfg.pg_cluster, action]
    retry = subprocess.run(direct, capture_output=True, text=True, timeout=60, check=False)
    if retry.returncode != 0:
        raise RuntimeError(
            f"pg_ctlcluster {action} failed: {result.stderr.strip()} / {retry.stderr.strip()}"
        )


def ensure_pg_running(cfg: Config) -> None:
    """Leaves PostgreSQL running: waits out a restart in progress, else starts the cluster."""
    if wait_pg_ready(cfg.server_url, 10):
        return
    log("== PostgreSQL is not running; starting it")
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", cfg.pg_version, cfg.pg_cluster, "start"],
        timeout=60,
        check=False,
    )
    if not wait_pg_ready(cfg.server_url, 30):
        log("!! PostgreSQL did not come back up; start it by hand")


@contextmanager
def throwaway_database(server_url: str) -> Iterator[str]:
    """Creates `zwr_durability_<random>` and yields its URL; drops it (WITH (FORCE)) after."""
    name = f"zwr_durability_{uuid.uuid4().hex[:12]}"
    admin = create_engine(
        server_url, isolation_level="AUTOCOMMIT", pool_pre_ping=True, hide_parameters=True
    )
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        try:
            admin.dispose()  # connections from before a restart are dead
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        except Exception as exc:
            log(f"!! could not drop database {name}: {exc}")
        admin.dispose()


# --- the service -----------------------------------------------------------------------------


def zoo_registry() -> str:
    """The `zoo-registry` script of the running interpreter's environment."""
    found = shutil.which("zoo-registry", path=str(Path(sys.executable).parent))
    found = found or shutil.which("zoo-registry")
    if found is None:
        raise RuntimeError("zoo-registry is not installed (pip install -e .)")
    return found


def cli(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [zoo_registry(), *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"zoo-registry {' '.join(args)} failed:\n{result.stderr}")
    return result.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_service(env: dict[str, str], log_path: Path) -> Iterator[str]:
    """Starts `zoo-registry serve` on a free port, waits for /readyz; stops it after."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [zoo_registry(), "serve", "--port", str(port), "--workers", "1"],
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"the service exited with {process.returncode}")
                try:
                    if httpx.get(f"{base_url}/readyz", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("the service was not ready within 30 s")
                time.sleep(0.2)
            yield base_url
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


# --- clients and the restart controller ------------------------------------------------------


def report_body(run: Run, client: int, number: int, key: str) -> dict:
    observed = datetime.now(UTC) - timedelta(minutes=5 + number)
    title = f"durability c{client:02d} #{number:04d} {key}"
    with run.lock:
        run.titles[key] = title
    return {
        "zoo_id": run.zoo_ids[(client + number) % len(run.zoo_ids)],
        "category": CATEGORIES[number % len(CATEGORIES)],
        "severity": 1 + (client + number) % 5,
        "title": title,
        "description": "Posted by bench/durability.py while PostgreSQL restarts.",
        "observed_at": observed.isoformat(timespec="seconds"),
    }


def retry_delay(response: httpx.Response, cap: float) -> float:
    try:
        return min(float(response.headers.get("retry-after", "1")), cap)
    except ValueError:
        return cap


def post_until_created(
    run: Run, http: httpx.Client, client: int, key: str, body: dict, *, repeat: bool = False
) -> bool:
    """Posts one report, retrying with the same key and body until 201; False if given up."""
    deadline = run.cfg.deadline
    while run.now() < deadline:
        started = run.now()
        request_id = f"durability-{client:02d}-{next(run.sequence)}"
        headers = {"Idempotency-Key": key, "X-Request-ID": request_id}
        try:
            response = http.post("/api/v1/reports", json=body, headers=headers)
        except httpx.TransportError as exc:
            error = type(exc).__name__
            run.record(
                Attempt(client, key, request_id, started, run.now(), None, error, repeat=repeat)
            )
            time.sleep(0.2)
            continue
        attempt = Attempt(
            client,
            key,
            request_id,
            started,
            run.now(),
            response.status_code,
            content_type=response.headers.get("content-type", ""),
            retry_after=response.headers.get("retry-after"),
            replayed=response.headers.get("idempotent-replayed") == "true",
            repeat=repeat,
        )
        if response.status_code == 201:
            attempt.report_id = response.json()["id"]
            run.record(attempt)
            return True
        run.record(attempt)
        if response.status_code == 503:
            time.sleep(retry_delay(response, run.cfg.retry_cap))
        elif response.status_code == 500:
            time.sleep(run.cfg.retry_cap)  # a failure already; retry to check for duplicates
        else:
            return False  # 4xx: retrying the same request cannot help
    return False


def client_loop(run: Run, client: int) -> None:
    headers = {"Authorization": f"Bearer {run.token}"}
    timeout = httpx.Timeout(10.0, connect=2.0)
    with httpx.Client(base_url=run.base_url, headers=headers, timeout=timeout) as http:
        for number in range(run.cfg.max_reports):
            if run.stop_new.is_set() or run.now() >= run.cfg.deadline:
                return
            key = str(uuid.uuid4())
            body = report_body(run, client, number, key)
            done = post_until_created(run, http, client, key, body)
            # Every REPEAT_EVERY-th report is sent again, as by a client that lost the answer:
            # it must be replayed (same report, Idempotent-Replayed: true), not stored twice.
            if done and number % REPEAT_EVERY == REPEAT_EVERY - 1:
                done = post_until_created(run, http, client, key, body, repeat=True)
            if not done:
                with run.lock:
                    run.unfinished.append(key)
                return


def controller(run: Run) -> None:
    """Restarts PostgreSQL at each configured time, then lets the clients settle and stop."""
    try:
        for at in run.cfg.restart_at:
            while run.now() < at:
                time.sleep(0.05)
            outage = Outage(started=run.now())
            run.outages.append(outage)
            log(f"   {outage.started:5.1f} s  restarting PostgreSQL")
            pg_ctl(run.cfg, "restart")
            if not wait_pg_ready(run.cfg.server_url, 30):
                raise RuntimeError("PostgreSQL did not accept connections 30 s after a restart")
            outage.ended = run.now()
            log(f"   {outage.ended:5.1f} s  PostgreSQL accepting connections")
        time.sleep(run.cfg.settle)
    except Exception as exc:
        run.controller_error = f"{type(exc).__name__}: {exc}"
    finally:
        run.stop_new.set()


# --- checks ----------------------------------------------------------------------------------


def overlaps(run: Run, a: Attempt, o: Outage, grace: float = 0.0) -> bool:
    """Whether the attempt was in flight during the outage (extended by `grace`)."""
    return a.ended >= o.started and a.started <= (o.ended or run.now()) + grace


def in_outage(run: Run, a: Attempt) -> bool:
    """From a restart until PostgreSQL answers again, plus RECOVERY_GRACE."""
    return any(overlaps(run, a, o, RECOVERY_GRACE) for o in run.outages)


def check(run: Run, database_url: str, key_id: int) -> list[str]:
    """Prints the counts; returns the failures."""
    failures: list[str] = []
    attempts = run.attempts
    statuses = Counter(a.status for a in attempts if a.status is not None)
    created: dict[str, set[int]] = {}
    for a in attempts:
        if a.status == 201 and a.report_id is not None:
            created.setdefault(a.key, set()).add(a.report_id)
    replays = sum(1 for a in attempts if a.status == 201 and a.replayed)
    conn_errors = Counter(a.error for a in attempts if a.status is None)
    other = {s: n for s, n in statuses.items() if s not in (201, 500, 503)}
    late_503 = [a for a in attempts if a.status == 503 and not in_outage(run, a)]
    repeats = [a for a in attempts if a.repeat and a.status == 201]
    not_replayed = [a for a in repeats if not a.replayed]

    engine = create_engine(database_url, pool_pre_ping=True, hide_parameters=True)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT id, title FROM welfare_report WHERE api_key_id = :k"), {"k": key_id}
            ).all()
            records = conn.execute(
                text("SELECT key, location FROM idempotency_record WHERE api_key_id = :k"),
                {"k": key_id},
            ).all()
    finally:
        engine.dispose()
    row_ids = {r.id for r in rows}
    per_title = Counter(r.title for r in rows)
    duplicates = sum(n - 1 for n in per_title.values() if n > 1)
    confirmed_titles = {run.titles[k] for k in created}
    unconfirmed_rows = [r for r in rows if r.title not in confirmed_titles]
    missing = sorted(i for ids in created.values() for i in ids if i not in row_ids)
    inconsistent = {k: ids for k, ids in created.items() if len(ids) > 1}
    record_ids = Counter(int(r.location.rsplit("/", 1)[-1]) for r in records if r.location)

    log("== results")
    log(f"   requests             {len(attempts)}")
    log(f"   reports confirmed    {len(created)} (distinct keys answered 201)")
    log(
        f"   201                  {statuses.get(201, 0)} (replays: {replays}, of which "
        f"{len(repeats) - len(not_replayed)} answer deliberate repeats of {len(repeats)})"
    )
    log(f"   503                  {statuses.get(503, 0)} (outside an outage: {len(late_503)})")
    log(f"   500                  {statuses.get(500, 0)}")
    log(f"   other statuses       {dict(sorted(other.items())) or 0}")
    log(f"   connection errors    {sum(conn_errors.values())} {dict(conn_errors) or ''}")
    log(f"   rows                 {len(rows)} reports, {len(records)} idempotency records")
    log(f"   duplicates           {duplicates}")
    log(f"   unconfirmed rows     {len(unconfirmed_rows)} (stored, never answered 201)")
    for i, o in enumerate(run.outages, 1):
        during = [a for a in attempts if overlaps(run, a, o)]
        window = f"{o.started:.1f}-{o.ended:.1f} s" if o.ended is not None else "unfinished"
        seen = Counter(a.status if a.status is not None else a.error for a in during)
        log(f"   restart {i}            {window}: {dict(seen)}")

    if run.controller_error:
        failures.append(f"restarting PostgreSQL failed: {run.controller_error}")
    if len(run.outages) < len(run.cfg.restart_at):
        failures.append(
            f"only {len(run.outages)} of {len(run.cfg.restart_at)} restarts happened "
            "before the clients stopped"
        )
    if missing:
        failures.append(f"{len(missing)} reports answered 201 are not in the database: {missing}")
    if inconsistent:
        failures.append(f"{len(inconsistent)} keys were answered 201 with different reports")
    if not_replayed:
        failures.append(
            f"{len(not_replayed)} repeats of a key answered 201 were not marked "
            "Idempotent-Replayed: true"
        )
    if duplicates:
        failures.append(f"{duplicates} duplicate report rows (same report stored twice)")
    if len(rows) != len(created) + len(unconfirmed_rows) or len(records) != len(rows):
        failures.append(
            f"{len(rows)} report rows and {len(records)} idempotency records for "
            f"{len(created)} confirmed keys"
        )
    if sorted(record_ids) != sorted(row_ids) or any(n > 1 for n in record_ids.values()):
        failures.append("idempotency records and report rows do not match one to one")
    if statuses.get(500):
        failures.append(f"{statuses[500]} requests were answered 500 (see the service log)")
    bad_problems = [
        a
        for a in attempts
        if a.status in (500, 503)
        and (
            not a.content_type.startswith(PROBLEM_MEDIA_TYPE)
            or (a.status == 503 and not a.retry_after)
        )
    ]
    if bad_problems:
        sample = bad_problems[0]
        failures.append(
            f"{len(bad_problems)} 500/503 answers were not problem+json with Retry-After "
            f"(e.g. {sample.status} {sample.content_type!r}, Retry-After {sample.retry_after!r})"
        )
    if other:
        failures.append(f"unexpected statuses: {other}")
    if late_503:
        failures.append(
            f"{len(late_503)} 503s came more than {RECOVERY_GRACE:.0f} s after PostgreSQL "
            f"was back (first at {late_503[0].started:.1f} s): the pool did not recover"
        )
    if run.unfinished:
        failures.append(
            f"{len(run.unfinished)} reports were never answered 201 before the "
            f"{run.cfg.deadline:.0f} s deadline: the service did not recover"
        )
    last_back = max((o.ended for o in run.outages if o.ended is not None), default=None)
    if last_back is not None:
        recovered = {a.client for a in attempts if a.status == 201 and a.started > last_back}
        if len(recovered) < run.cfg.clients:
            failures.append(
                f"only {len(recovered)} of {run.cfg.clients} clients got a 201 after the "
                "last restart"
            )
    if not statuses.get(503) and not failures:
        log(
            "!! warning: no 503 was seen, so the outage answers went untested; the restarts "
            "fell between requests (or PostgreSQL restarted faster than any request noticed)"
        )
    return failures


@dataclass
class LoggedError:
    """An 'unhandled error' the service logged, with the access line that followed it."""

    lines: list[str]
    request_id: str | None
    status: int | None

    @property
    def summary(self) -> str:
        """The exceptions in the chain, and the app's own frames."""
        keep = [
            line.strip()
            for line in self.lines
            if (
                line
                and not line.startswith((" ", "Traceback", "The above", "During", "(Background"))
            )
            or "/app/" in line
        ]
        return "\n      ".join(dict.fromkeys(keep))


def logged_errors(log_path: Path) -> list[LoggedError]:
    """Each 'unhandled error on ...' traceback in the service log, matched to its request.

    The middleware logs the traceback and then, with no await between, the request's JSON
    access line; so the first JSON line after a traceback is that request's.
    """
    if not log_path.exists():
        return []
    lines = log_path.read_text(encoding="utf-8", errors="replace").splitlines()
    found: list[LoggedError] = []
    index = 0
    while index < len(lines):
        if not lines[index].startswith("unhandled error on"):
            index += 1
            continue
        start = index
        index += 1
        while index < len(lines) and not lines[index].startswith("{"):
            index += 1
        access: dict = {}
        if index < len(lines):
            try:
                access = json.loads(lines[index])
            except ValueError:
                access = {}
        found.append(
            LoggedError(lines[start:index], access.get("request_id"), access.get("status"))
        )
    return found


def report_logged_errors(run: Run, errors: list[LoggedError]) -> None:
    """Says which requests the service logged unhandled errors for, and what clients saw."""
    by_id = {a.request_id: a for a in run.attempts}
    seen: Counter[str] = Counter()
    for error in errors:
        attempt = by_id.get(error.request_id or "")
        if attempt is None:
            seen[f"logged status {error.status}, request not ours"] += 1
            continue
        what = f"client got {attempt.status}"
        if attempt.status == 201:
            what += " (replay)" if attempt.replayed else " (new report)"
        seen[what] += 1
    log(f"!! the service logged {len(errors)} unhandled errors: {dict(seen)}")
    if any("response already started" in e.summary for e in errors):
        log(
            "   (raised after the response was sent, so clients got their answers; an app "
            "problem: a disconnect while closing the request's session is not handled)"
        )
    for summary, count in Counter(e.summary for e in errors).most_common(3):
        log(f"   {count} x\n      {summary}")


# --- main ------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> Config:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--server-url",
        default=os.environ.get("ZWR_DURABILITY_SERVER_URL")
        or os.environ.get("ZWR_TEST_DATABASE_URL", "").strip()
        or DEFAULT_SERVER_URL,
        help="A PostgreSQL URL naming the server and an admin database.",
    )
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--max-reports", type=int, default=1000, help="Per client, at most.")
    parser.add_argument(
        "--restart-at",
        type=float,
        nargs="+",
        default=[3.0, 9.0],
        help="Seconds into the run at which PostgreSQL is restarted.",
    )
    parser.add_argument(
        "--settle", type=float, default=6.0, help="Seconds of load after the last restart."
    )
    parser.add_argument(
        "--deadline", type=float, default=60.0, help="Seconds after which clients give up."
    )
    parser.add_argument("--retry-cap", type=float, default=0.5, help="Longest wait on a 503.")
    parser.add_argument(
        "--delivery-wait",
        type=float,
        default=60.0,
        help="Seconds to wait, after the clients stopped, for the webhook deliveries.",
    )
    parser.add_argument("--pg-version", default="15")
    parser.add_argument("--pg-cluster", default="main")
    parser.add_argument("--keep-log", action="store_true", help="Keep the service log.")
    args = parser.parse_args(argv)
    if not args.server_url.startswith("postgresql"):
        parser.error(f"--server-url must be a PostgreSQL URL, not {args.server_url!r}")
    return Config(
        server_url=args.server_url,
        clients=args.clients,
        max_reports=args.max_reports,
        restart_at=tuple(sorted(args.restart_at)),
        settle=args.settle,
        deadline=args.deadline,
        retry_cap=args.retry_cap,
        delivery_wait=args.delivery_wait,
        pg_version=args.pg_version,
        pg_cluster=args.pg_cluster,
        keep_log=args.keep_log,
    )


def setup(env: dict[str, str]) -> tuple[str, int, str, list[int]]:
    """Migrates and seeds the database; returns a reporter key's token and id, an inspector
    key's token (for the webhook) and the zoo ids."""
    cli(env, "db", "upgrade")
    cli(env, "seed")
    lines = cli(env, "keys", "create", "--name", "durability bench", "--role", "reporter")
    first, token = lines.splitlines()[:2]
    key_id = int(first.split()[1])  # "key <id> (reporter, prefix ...); store it now:"
    lines = cli(env, "keys", "create", "--name", "durability webhook", "--role", "inspector")
    inspector = lines.splitlines()[1]
    engine = create_engine(env["ZWR_DATABASE_URL"], hide_parameters=True)
    try:
        with engine.connect() as conn:
            zoo_ids = list(conn.execute(text("SELECT id FROM zoo ORDER BY id")).scalars())
    finally:
        engine.dispose()
    if not zoo_ids:
        raise RuntimeError("the seed loaded no zoos")
    return token.strip(), key_id, inspector.strip(), zoo_ids


def subscribe(base_url: str, token: str, url: str) -> int:
    """A webhook for report.filed, created through the API; returns its id."""
    response = httpx.post(
        f"{base_url}/api/v1/webhooks",
        json={"url": url, "types": ["report.filed"], "description": "bench/durability.py"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    if response.status_code != 201:
        raise RuntimeError(
            f"POST /api/v1/webhooks answered {response.status_code}: {response.text}"
        )
    return int(response.json()["id"])


def read_feed(base_url: str) -> list[dict[str, Any]]:
    """Every event of the feed, following `next` from the start."""
    events: list[dict[str, Any]] = []
    after: str | None = None
    with httpx.Client(base_url=base_url, timeout=10) as http:
        while True:
            params: dict[str, str | int] = {"limit": FEED_PAGE}
            if after is not None:
                params["after"] = after
            response = http.get("/api/v1/events", params=params)
            if response.status_code != 200:
                raise RuntimeError(f"GET /api/v1/events answered {response.status_code}")
            page = response.json()
            events += page["items"]
            after = page["next"]
            if len(page["items"]) < FEED_PAGE:
                return events


def check_events(run: Run, base_url: str, receiver: Receiver) -> list[str]:
    """The feed holds each event once and one report.filed per report answered 201, and the
    webhook received every one of those (waiting for the worker); prints the counts and returns
    the failures."""
    acknowledged = {
        a.report_id for a in run.attempts if a.status == 201 and a.report_id is not None
    }
    events = read_feed(base_url)
    duplicate_ids = sum(n - 1 for n in Counter(e["id"] for e in events).values())
    filed = [e for e in events if e["type"] == "report.filed"]
    per_report = Counter(e["subject_id"] for e in filed)
    missing = sorted(acknowledged - per_report.keys())
    twice = sorted(r for r, n in per_report.items() if n > 1)
    wanted = {e["id"] for e in filed if e["subject_id"] in acknowledged}
    started = time.monotonic()
    while True:
        got = receiver.deliveries()
        undelivered = wanted - {d.webhook_id for d in got}
        if not undelivered or time.monotonic() - started > run.cfg.delivery_wait:
            break
        time.sleep(0.2)
    waited = time.monotonic() - started
    redelivered = sum(n - 1 for n in Counter(d.webhook_id for d in got).values())

    log("== change feed and webhook")
    log(
        f"   events in the feed   {len(events)} ({len(filed)} report.filed), duplicate ids: "
        f"{duplicate_ids}"
    )
    log(
        f"   report.filed         exactly once for {sum(per_report[r] == 1 for r in acknowledged)}"
        f" of {len(acknowledged)} confirmed reports; missing {len(missing)}, more than once "
        f"{len(twice)}"
    )
    log(
        f"   delivered            {len(wanted) - len(undelivered)} of {len(wanted)} "
        f"(waited {waited:.1f} s for them); {len(got)} deliveries, "
        f"{redelivered} duplicates delivered"
    )
    failures = []
    if duplicate_ids:
        failures.append(f"{duplicate_ids} events appear more than once in the feed")
    if missing:
        failures.append(f"{len(missing)} reports answered 201 have no report.filed: {missing[:20]}")
    if twice:
        failures.append(f"{len(twice)} reports have more than one report.filed: {twice[:20]}")
    if undelivered:
        failures.append(
            f"{len(undelivered)} report.filed events of confirmed reports were not delivered "
            f"within {run.cfg.delivery_wait:g} s: {sorted(undelivered)[:10]}"
        )
    return failures


def main(argv: list[str] | None = None) -> int:
    cfg = parse_args(argv)
    started = time.monotonic()
    if not pg_is_ready(cfg.server_url):
        shown = make_url(cfg.server_url).render_as_string(hide_password=True)
        log(f"PostgreSQL at {shown} does not accept connections")
        return 1
    log_dir = Path(tempfile.mkdtemp(prefix="zwr-durability-"))
    log_path = log_dir / "service.log"
    failures: list[str] = []
    run: Run | None = None
    try:
        with throwaway_database(cfg.server_url) as database_url:
            env = os.environ | {
                "ZWR_DATABASE_URL": database_url,
                "ZWR_WRITE_RATE_LIMIT": "100000000/minute",
                "ZWR_READ_RATE_LIMIT": "100000000/minute",
                # PostgreSQL needs a key for the private reporter fields to start.
                "ZWR_SECRET_KEY": os.environ.get("ZWR_SECRET_KEY")
                or Fernet.generate_key().decode(),
                **WEBHOOK_ENV,
            }
            log(f"== database {make_url(database_url).database}: migrate, seed, keys")
            token, key_id, inspector, zoo_ids = setup(env)
            with Receiver() as receiver, running_service(env, log_path) as base_url:
                hook = subscribe(base_url, inspector, receiver.url("/durability"))
                log(
                    f"== {cfg.clients} clients posting to {base_url} (webhook {hook} to "
                    f"{receiver.url('/durability')}); PostgreSQL restarts at "
                    + ", ".join(f"{t:g} s" for t in cfg.restart_at)
                )
                run = Run(cfg=cfg, base_url=base_url, token=token, zoo_ids=zoo_ids)
                threads = [
                    threading.Thread(target=client_loop, args=(run, i), daemon=True)
                    for i in range(cfg.clients)
                ]
                control = threading.Thread(target=controller, args=(run,), daemon=True)
                control.start()
                for thread in threads:
                    thread.start()
                # Clients give up at the deadline; a request in flight then ends within its
                # timeout. Joins share one bound, so a stuck client cannot stretch the run.
                join_until = time.monotonic() + cfg.deadline + 15
                for thread in threads:
                    thread.join(max(0.0, join_until - time.monotonic()))
                run.stop_new.set()
                control.join(max(1.0, join_until + 60 - time.monotonic()))
                if any(t.is_alive() for t in threads):
                    failures.append("some clients were still running after the deadline")
                log(f"   {run.now():5.1f} s  clients done")
                ensure_pg_running(cfg)
                try:
                    failures += check_events(run, base_url, receiver)
                except Exception as exc:  # the database checks below still run
                    failures.append(
                        f"checking the feed and the webhook: {type(exc).__name__}: {exc}"
                    )
            ensure_pg_running(cfg)
            failures += check(run, database_url, key_id)
    except Exception as exc:
        failures.append(f"{type(exc).__name__}: {exc}")
    finally:
        ensure_pg_running(cfg)
    errors = logged_errors(log_path)
    if errors and run is not None:
        report_logged_errors(run, errors)
    keep = cfg.keep_log or bool(failures) or bool(errors)
    if keep:
        log(f"== service log kept at {log_path}")
    else:
        shutil.rmtree(log_dir, ignore_errors=True)
    elapsed = time.monotonic() - started
    if failures:
        log(f"FAIL ({elapsed:.0f} s)")
        for failure in failures:
            log(f" - {failure}")
        return 1
    log(
        f"OK ({elapsed:.0f} s): no report lost or duplicated across the restarts, no 500s, "
        "each in the feed once and delivered"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
