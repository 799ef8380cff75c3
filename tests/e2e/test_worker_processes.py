"""Real `zoo-registry worker` processes sharing one PostgreSQL: two at once never bring a zoo
up to date twice, a worker killed in the middle of a zoo's update leaves it stale for the next
(nothing half-written, nothing lost), and a worker stops cleanly on SIGTERM or SIGINT.

Each test makes its own migrated database (tests/dbutil.py) and runs the workers in a
temporary folder, so no developer's .env or data is touched. Every zoo has one enclosure never
inspected, so each raises exactly one inspection_overdue flag.
"""

import signal
import subprocess
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, TextClause, text
from sqlalchemy.engine import make_url
from sqlmodel import Session, col, select

from app.models import Enclosure
from tests.dbutil import backend
from tests.e2e.workers import StartWorker, database, start_worker, wait_for
from tests.factories import make_enclosure, make_zoo

pytestmark = pytest.mark.skipif(
    backend() != "postgresql",
    reason="worker processes share a database only on PostgreSQL (FOR UPDATE SKIP LOCKED); "
    "set ZWR_TEST_DATABASE_URL",
)
__all__ = ["database", "start_worker"]  # the fixtures this module uses

ZOOS = 40
STOP_TIMEOUT_S = 5.0
RULE = "inspection_overdue"

CURRENT = text(
    "SELECT zoo.id FROM zoo JOIN concern_state s"
    " ON s.zoo_id = zoo.id AND s.version = zoo.concern_version"
)
CHANGES = text("SELECT zoo_id, kind, rule, count(*) FROM concern_change GROUP BY 1, 2, 3")
BLOCKED_BY = text("SELECT pid, query FROM pg_stat_activity WHERE :pid = ANY(pg_blocking_pids(pid))")
BACKENDS = text("SELECT pid FROM pg_stat_activity")
# Locks a zoo's snapshot rows: its update then waits at its very last statement (the upsert of
# today's), with its flags and changes written, uncommitted. Not the zoo row, which the worker
# would skip (so no insert: its foreign key check would lock the zoo row too). A run across
# midnight UTC would find no row of the new day to wait on.
HOLD_SNAPSHOT = text("SELECT 1 FROM concern_snapshot WHERE zoo_id = :zoo_id FOR UPDATE")


def seed(engine: Engine, count: int) -> list[int]:
    """`count` zoos with one enclosure each, never inspected."""
    with Session(engine, expire_on_commit=False) as session:
        zoos = [make_zoo(session) for _ in range(count)]
        for zoo in zoos:
            make_enclosure(session, zoo, last_inspected_on=None)
    return [zoo.id for zoo in zoos if zoo.id is not None]


def rows(engine: Engine, query: str | TextClause, **params: object) -> list[tuple[Any, ...]]:
    with engine.connect() as connection:
        statement = text(query) if isinstance(query, str) else query
        return [tuple(r) for r in connection.execute(statement, params)]


def current(engine: Engine) -> set[int]:
    """The zoos whose stored totals are counted at their latest concern_version."""
    return {r[0] for r in rows(engine, CURRENT)}


def changes(engine: Engine) -> dict[tuple[Any, ...], int]:
    """How many concern_change rows per zoo, kind and rule."""
    return {r[:3]: r[3] for r in rows(engine, CHANGES)}


def test_two_workers_bring_each_zoo_up_to_date_once(
    database: tuple[str, Engine], start_worker: StartWorker
) -> None:
    _, engine = database
    zoos = seed(engine, ZOOS)
    # Both workers' first pass waits on concern_state, then both start on the same list of
    # stale zoos, in the same order, at the same moment.
    with engine.connect() as gate:
        gate_pid = gate.execute(text("SELECT pg_backend_pid()")).scalar_one()
        gate.execute(text("LOCK TABLE concern_state IN ACCESS EXCLUSIVE MODE"))
        workers = [start_worker(), start_worker()]
        wait_for(
            lambda: len(rows(engine, BLOCKED_BY, pid=gate_pid)) == 2,
            "both workers waiting for the list of stale zoos",
            workers,
        )
        gate.rollback()
    wait_for(lambda: current(engine) == set(zoos), "every zoo up to date", workers)

    # A zoo updated twice would have its flag raised twice.
    assert changes(engine) == {(zoo, "raised", RULE): 1 for zoo in zoos}
    state = rows(engine, "SELECT zoo_id, flagged_enclosures, evaluated_at FROM concern_state")
    assert {r[0]: r[1] for r in state} == dict.fromkeys(zoos, 1)
    # evaluated_at is the time of the pass that updated the zoo: both workers took part.
    assert len({r[2] for r in state}) == 2, "one worker did every zoo"


def test_a_worker_killed_mid_update_loses_nothing(
    database: tuple[str, Engine], start_worker: StartWorker
) -> None:
    _, engine = database
    zoos = seed(engine, ZOOS)
    first = start_worker()
    wait_for(lambda: current(engine) == set(zoos), "the first pass", [first])
    half, today = len(zoos) // 2, datetime.now(UTC).date()
    middle = zoos[half]

    with engine.connect() as hold:
        hold_pid = hold.execute(text("SELECT pg_backend_pid()")).scalar_one()
        assert hold.execute(HOLD_SNAPSHOT, {"zoo_id": middle}).all()
        # Every enclosure inspected today, in one transaction, as a service writes: the write
        # hook (app/concerns/hook.py) bumps each zoo's concern_version and drops its state.
        with Session(engine) as session:
            for enclosure in session.exec(select(Enclosure).where(col(Enclosure.zoo_id).in_(zoos))):
                enclosure.last_inspected_on = today
            session.flush()
            assert not session.connection().execute(CURRENT).all(), "no zoo made stale"
            session.commit()
        wait_for(lambda: rows(engine, BLOCKED_BY, pid=hold_pid), "the middle zoo's update", [first])
        [(stuck, statement)] = rows(engine, BLOCKED_BY, pid=hold_pid)
        assert statement.startswith("INSERT INTO concern_snapshot"), statement
        assert current(engine) == set(zoos[:half])  # the zoos before it are committed
        first.process.send_signal(signal.SIGKILL)
        first.process.wait(timeout=10)
        hold.rollback()
    wait_for(lambda: (stuck,) not in rows(engine, BACKENDS), "the killed one's transaction", [])
    # Rolled back: the middle zoo is as stale as those after it, its flag not cleared yet.
    assert current(engine) == set(zoos[:half])
    assert (middle, "cleared", RULE) not in changes(engine)

    second = start_worker()
    wait_for(lambda: current(engine) == set(zoos), "every zoo up to date again", [second])
    expected = {(zoo, kind, RULE): 1 for zoo in zoos for kind in ("raised", "cleared")}
    assert changes(engine) == expected
    state = rows(engine, "SELECT zoo_id, flagged_enclosures FROM concern_state")
    assert {r[0]: r[1] for r in state} == dict.fromkeys(zoos, 0)
    assert not rows(engine, "SELECT 1 FROM concern_flag")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_worker_stops_cleanly_on_a_signal(
    database: tuple[str, Engine], start_worker: StartWorker, signum: signal.Signals
) -> None:
    url, engine = database
    zoos = seed(engine, 3)
    worker = start_worker(interval=30)  # so the signal finds it waiting its interval
    start_line = (
        "worker: keeping concerns fresh and delivering webhooks in "
        f"{make_url(url).render_as_string()}"
    )
    wait_for(lambda: start_line in worker.output(), "the start line on stderr", [worker])
    wait_for(lambda: current(engine) == set(zoos), "every zoo up to date", [worker])
    worker.process.send_signal(signum)
    try:
        code = worker.process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running {STOP_TIMEOUT_S:.0f} s after {signum.name}")
    assert code == 0, worker.output()
    assert worker.output().splitlines() == [start_line, "worker: stopped"]
