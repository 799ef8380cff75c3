"""The two-server phase (`two_servers` in --endpoints; PostgreSQL only): two `zoo-registry serve`
processes on the one bench database, deployed as docs/operations.md's "Several servers behind a
load balancer" says: the same secret key, their rate limits in the local Redis (under a key
prefix of the run's own, deleted after), each with its background work, and a webhook
subscriber. The load generator alternates between them by sending to both at once, each
server half the connections; the no-op, POST /reports and the uncached concern list are each
reported as the pair's summed rate over the pair's no-op.

Then, through HTTP (and the database for the counts):

* lists: a severe report filed through A is flagged in B's list at once, and its dismissal
  through B is gone from A's list at once; afterwards every zoo's list is the same on both;
* one rate limit: reports filed through A and B in turn count down one budget
  (RateLimit-Remaining falls by one at each answer, whichever server gave it);
* events exactly once: every report the phase filed is in the feed once as `report.filed`;
* webhooks at least once: every event the phase added reached the subscriber.
"""

import subprocess
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import httpx

from app.events.feed import encode_cursor
from bench.run import (
    BY_NAME,
    CONCERNS_PATH,
    PAIR,
    REFERENCE,
    WEBHOOK_ENV,
    LoadConfig,
    LoadResult,
    Plan,
    Server,
    Target,
    _loaded,
    create_key,
    feed_state,
    load_command,
    log,
    subscribed,
    wait_delivered,
)

REDIS_URL = "redis://127.0.0.1:6379"
LIMIT_STEPS = 20  # reports filed through A and B in turn for the shared budget's check
MEASURED = ("reports", "concerns_uncached")


def load_both(
    cfg: LoadConfig, servers: list[Server], name: str, plan: Plan, seconds: float
) -> list[LoadResult]:
    """One load generator per server, started together, each with half the connections."""
    half = replace(cfg, connections=max(1, cfg.connections // 2), threads=max(1, cfg.threads // 2))
    endpoint = REFERENCE if name == "noop" else BY_NAME[name]
    runs = []
    for server in servers:
        cmd, env = load_command(half, server.base_url, endpoint, plan, seconds)
        runs.append(
            (
                cmd,
                subprocess.Popen(
                    cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
                ),
            )
        )
    results = []
    for cmd, proc in runs:
        out, err = proc.communicate(timeout=seconds + cfg.timeout + 60)
        results.append(_loaded(cmd, proc.returncode, out, err))
    return results


@contextmanager
def redis_prefix() -> Iterator[str]:
    """A key prefix of this run's own in the local Redis; its keys are deleted after."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as exc:
        raise RuntimeError(f"{PAIR} needs Redis at {REDIS_URL}: {exc}") from None
    prefix = f"zwr-bench-{uuid.uuid4().hex[:12]}"
    try:
        yield prefix
    finally:
        ours = list(client.scan_iter(match=f"{prefix}:*"))
        if ours:
            client.delete(*ours)
        client.close()


@contextmanager
def pair(target: Target, args: Any, prefix: str) -> Iterator[list[Server]]:
    env = WEBHOOK_ENV | {
        "ZWR_RATE_LIMIT_STORAGE": REDIS_URL,
        "ZWR_RATE_LIMIT_KEY_PREFIX": prefix,
    }
    servers: list[Server] = []
    try:
        for name in ("a", "b"):
            log_path = args.data_dir / f"server-{target.db}-{target.size_name}-pair-{name}.log"
            servers.append(Server(target, 1, 0, log_path, args.db_pool_size, extra_env=env))
        for server in servers:
            server.wait_ready(args.startup_timeout)
        yield servers
    finally:
        for server in servers:
            server.stop()


def file_report(client: httpx.Client, key: str, **fields: Any) -> httpx.Response:
    body = {
        "category": "environment",
        "severity": 2,
        "title": "Two-server check",
        "observed_at": "2020-01-01T12:00:00Z",
    } | fields
    return client.post("/api/v1/reports", json=body, headers={"Authorization": f"Bearer {key}"})


def list_follows_writes(a: httpx.Client, b: httpx.Client, reporter: str, inspector: str) -> bool:
    """A severe report through A is flagged in B's list at once; its dismissal through B is
    gone from A's list at once."""
    concerns = CONCERNS_PATH % 1
    enclosure = a.get("/api/v1/enclosures", params={"zoo_id": 1, "limit": 1}).json()["items"][0]
    today = datetime.now(UTC).replace(microsecond=0).isoformat()
    filed = file_report(
        a, reporter, zoo_id=1, enclosure_id=enclosure["id"], severity=5, observed_at=today
    )
    if filed.status_code != 201:
        raise RuntimeError(f"POST /api/v1/reports answered {filed.status_code}: {filed.text}")
    incident = filed.json()["incident_id"]

    def flagged(client: httpx.Client) -> bool:
        items = client.get(concerns, params={"limit": 500}).json()["items"]
        return any(incident in f["incident_ids"] for item in items for f in item["flags"])

    seen_by_b = flagged(b)
    dismissed = b.post(
        f"/api/v1/incidents/{incident}/transitions",
        json={"to": "dismissed"},
        headers={"Authorization": f"Bearer {inspector}"},
    )
    return seen_by_b and dismissed.status_code == 200 and not flagged(a)


def lists_differing(a: httpx.Client, b: httpx.Client, zoos: int) -> int:
    """The zoos whose concern list (its ETag and body) differs between the two servers."""
    differ = 0
    for zoo in range(1, zoos + 1):
        ra, rb = a.get(CONCERNS_PATH % zoo), b.get(CONCERNS_PATH % zoo)
        if (ra.status_code, ra.headers.get("ETag"), ra.content) != (
            rb.status_code,
            rb.headers.get("ETag"),
            rb.content,
        ):
            differ += 1
    return differ


def budget_steps_wrong(a: httpx.Client, b: httpx.Client, reporter: str, plan: Plan) -> int:
    """Reports through A and B in turn: the answers whose RateLimit-Remaining is not one less
    than the one before (a new window starting in the middle is allowed once)."""
    wrong, restarts, last = 0, 0, None
    for n in range(LIMIT_STEPS):
        answer = file_report((a, b)[n % 2], reporter, zoo_id=n % plan.zoos + 1, severity=1)
        if answer.status_code != 201:
            raise RuntimeError(f"POST /api/v1/reports answered {answer.status_code}: {answer.text}")
        remaining = int(answer.headers["RateLimit-Remaining"])
        if last is not None and remaining != last - 1:
            if remaining > last and not restarts:
                restarts += 1
            else:
                wrong += 1
        last = remaining
    return wrong


def feed_counts(target: Target, head: int, first_report: int) -> dict[str, float]:
    """The reports filed from `first_report` on, and the `report.filed` events about them
    placed after `head`: each report must be in the feed exactly once."""
    from sqlalchemy import create_engine, text

    engine = create_engine(target.url, hide_parameters=True)
    try:
        with engine.connect() as conn:
            reports = conn.execute(
                text("SELECT count(*) FROM welfare_report WHERE id >= :r"), {"r": first_report}
            ).scalar_one()
            events = Counter(
                conn.execute(
                    text(
                        "SELECT subject_id FROM event WHERE type = 'report.filed' "
                        "AND subject_id >= :r AND position > :h"
                    ),
                    {"r": first_report, "h": head},
                ).scalars()
            )
    finally:
        engine.dispose()
    return {
        "pair_reports_filed": reports,
        "pair_reports_in_feed": len(events),
        "pair_feed_duplicates": sum(n - 1 for n in events.values()),
    }


def next_report_id(target: Target) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(target.url, hide_parameters=True)
    try:
        with engine.connect() as conn:
            return (
                int(
                    conn.execute(
                        text("SELECT coalesce(max(id), 0) FROM welfare_report")
                    ).scalar_one()
                )
                + 1
            )
    finally:
        engine.dispose()


def run_pair(target: Target, plan: Plan, args: Any, cfg: LoadConfig) -> dict[str, float]:
    """The phase; its figures and check counts as notes (`pair_*`)."""
    notes: dict[str, float] = {}
    head, first_report = feed_state(target), next_report_id(target)
    inspector = create_key(target, "inspector")
    with redis_prefix() as prefix, pair(target, args, prefix) as servers:
        log(f"two servers on one database, rate limits in Redis ({prefix}:*)")
        with subscribed(servers[0], target, 1) as hooks:
            rates: dict[str, list[float]] = {}
            for _ in range(args.rounds):
                for name in MEASURED:
                    ref = sum(r.rps for r in load_both(cfg, servers, "noop", plan, args.duration))
                    got = sum(r.rps for r in load_both(cfg, servers, name, plan, args.duration))
                    rates.setdefault(name, []).append(got / ref)
            for name, ratios in rates.items():
                notes[f"pair_{name}_ratio"] = sorted(ratios)[len(ratios) // 2]
            with (
                httpx.Client(base_url=servers[0].base_url, timeout=60) as a,
                httpx.Client(base_url=servers[1].base_url, timeout=60) as b,
            ):
                notes["pair_list_follows_writes"] = float(
                    list_follows_writes(a, b, plan.key, inspector)
                )
                notes["pair_budget_steps_wrong"] = budget_steps_wrong(a, b, plan.key, plan)
                wait_delivered(hooks)
                notes["pair_lists_differing"] = lists_differing(a, b, plan.zoos)
            after = feed_state(target)
            wait_delivered(hooks)  # the background work may have placed more meanwhile
            ids = {d.webhook_id for d in hooks.receiver.deliveries()}
            expected = {encode_cursor(p) for p in range(head + 1, after + 1)}
            notes["pair_events"] = len(expected)
            notes["pair_webhooks_missing"] = len(expected - ids)
        notes |= feed_counts(target, head, first_report)
        for server in servers:
            with suppress(OSError):
                bad = server.log_summary()["non_2xx"]
                if bad:
                    log(f"  {server.base_url}: non-2xx answers {bad}")
    log("  two servers: " + ", ".join(f"{k.removeprefix('pair_')} {v:g}" for k, v in notes.items()))
    return notes
