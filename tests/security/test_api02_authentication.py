"""OWASP API2:2023 Broken Authentication: a key is checked before anything else, failures are
throttled, and checking a key never writes.

Finding 16: authentication and authorisation come before anything else a request holds: a missing or
bad key on a protected route is a 401 whatever the body, the path or the query (before the fix
a bad key with a broken body got 422, and the load-or-404 dependencies answered 404 before the
key was checked); a wrong role is a 403 before the body is looked at; and repeated failed
authentication from one address is throttled (429).

Finding 8: on SQLite, signed-in reads failed with 503 "database is locked" during writes,
because authentication wrote last_used_at through the read session. A read never writes: uses
are noted in memory and written in batches, off the request path, through the writer.
"""

import asyncio
import logging
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import fastapi.routing
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, event
from sqlalchemy.engine import make_url
from sqlmodel import Session

from app.api.guard import GuardedRoute
from app.core import migrations
from app.core.config import Settings
from app.main import create_app
from app.models.api_key import ApiKey, Role
from app.services import api_keys as api_key_service
from app.services.api_keys import KeyCache
from app.services.key_uses import KeyUses
from tests.api.test_access import bearer, key_row
from tests.dbutil import backend, create_database, drop_database
from tests.factories import make_key
from tests.limits import set_client_limits

BAD_KEY = "zwr_0123456789ab_this-is-not-the-secret"


BROKEN_BODIES = [b"{not json", b'{"unknown": 1}', b"[]", b"\xff\xfe"]


def _protected(app: FastAPI) -> list[tuple[str, str, Role]]:
    found = []
    iter_contexts = getattr(fastapi.routing, "iter_route_contexts", None)
    routes: Any = iter_contexts(app.routes) if iter_contexts is not None else app.routes
    for route in routes:
        original = getattr(route, "original_route", route)
        if isinstance(original, GuardedRoute) and original.requirement is not None:
            # Ids that exist nowhere: a 404 would leak before a 401 if lookups came first.
            path = re.sub(r"\{[^}]+\}", "999999", route.path)
            found.extend((method, path, original.requirement.role) for method in route.methods)
    return sorted(found)


def test_every_protected_route_is_found(app: FastAPI) -> None:
    routes = _protected(app)
    assert ("POST", "/api/v1/reports", Role.reporter) in routes
    assert ("POST", "/api/v1/keys", Role.admin) in routes
    assert len(routes) >= 15


@pytest.mark.parametrize("body", BROKEN_BODIES)
def test_no_key_or_a_bad_key_is_401_whatever_the_body(
    app: FastAPI, anon_client: TestClient, body: bytes
) -> None:
    set_client_limits(app)
    for method, path, _ in _protected(app):
        for headers in ({}, {"Authorization": f"Bearer {BAD_KEY}"}, {"Authorization": "Basic x"}):
            response = anon_client.request(
                method,
                path + "?unknown=1",
                content=body,
                headers=headers | {"Content-Type": "application/json"},
            )
            assert response.status_code == 401, (method, path, headers, response.text)
            assert response.headers["content-type"] == "application/problem+json"


def test_a_role_too_low_is_403_before_the_body_is_read(
    app: FastAPI, anon_client: TestClient, session: Session
) -> None:
    reporter = make_key(session, Role.reporter)
    for method, path, role in _protected(app):
        if role is Role.reporter:
            continue
        response = anon_client.request(
            method,
            path,
            content=b"{not json",
            headers={"Authorization": f"Bearer {reporter}", "Content-Type": "application/json"},
        )
        assert response.status_code == 403, (method, path, response.text)


def test_repeated_failed_authentication_is_throttled(
    app: FastAPI, anon_client: TestClient, session: Session
) -> None:
    set_client_limits(app, auth_failures="3/minute")
    bad = {"Authorization": f"Bearer {BAD_KEY}"}
    statuses = [anon_client.get("/api/v1/keys", headers=bad).status_code for _ in range(5)]
    assert statuses[:3] == [401, 401, 401]
    assert statuses[3:] == [429, 429]
    throttled = anon_client.post("/api/v1/zoos", headers=bad, json={})
    assert throttled.status_code == 429
    assert int(throttled.headers["Retry-After"]) >= 1
    # A good key from the same address is throttled too while the budget is spent: the
    # address is guessing keys, and it cannot tell which of its guesses was right.
    good = make_key(session, Role.admin)
    assert (
        anon_client.get("/api/v1/keys", headers={"Authorization": f"Bearer {good}"}).status_code
        == 429
    )
    # Anonymous reads are not blocked by it.
    assert anon_client.get("/api/v1/zoos").status_code == 200


def test_every_api_route_is_guarded(app: FastAPI) -> None:
    iter_contexts = getattr(fastapi.routing, "iter_route_contexts", None)
    routes: Any = iter_contexts(app.routes) if iter_contexts is not None else app.routes
    api = [r for r in routes if getattr(r, "path", "").startswith("/api/")]
    assert api
    unguarded = [
        r.path for r in api if not isinstance(getattr(r, "original_route", r), GuardedRoute)
    ]
    assert unguarded == []


API = "/api/v1"


@contextmanager
def writes_seen(session: Session) -> Iterator[list[str]]:
    """The data-changing statements the session's engine runs meanwhile."""
    seen: list[str] = []
    engine = session.get_bind()

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith(("UPDATE", "INSERT", "DELETE")):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


def test_authentication_only_reads(session: Session) -> None:
    token = make_key(session, Role.reporter)
    uses = KeyUses()
    with writes_seen(session) as seen:
        key = api_key_service.authenticate(session=session, token=token, uses=uses)
    assert seen == []
    assert key.last_used_at is None
    assert set(uses.pending()) == {key.id}


def test_a_signed_in_get_writes_nothing_until_the_flush(
    app: FastAPI, client: TestClient, session: Session
) -> None:
    token = make_key(session, Role.admin)
    row = key_row(session, token)
    before = datetime.now(UTC)
    with writes_seen(session) as seen:
        assert client.get(f"{API}/keys", headers=bearer(token)).status_code == 200
    assert seen == []
    session.refresh(row)
    assert row.last_used_at is None

    assert app.state.key_uses.flush(app.state.write_sessions) >= 1
    session.refresh(row)
    assert row.last_used_at is not None
    assert before - timedelta(seconds=5) <= row.last_used_at <= datetime.now(UTC)
    assert app.state.key_uses.pending() == {}


@pytest.fixture
def scratch_url() -> Iterator[str]:
    url = create_database("keyuse")
    migrations.upgrade(url)
    yield url
    drop_database(url)


@pytest.mark.skipif(backend() != "sqlite", reason="SQLite's single write lock")
def test_signed_in_reads_succeed_while_another_connection_holds_the_write_lock(
    scratch_url: str,
) -> None:
    """The finding's scenario, on a real database file (no shared test session): a writer
    holds the lock; every authenticated GET still answers 200; the use is written later."""
    engine = create_engine(scratch_url)
    with Session(engine, expire_on_commit=False) as setup:
        token = make_key(setup, Role.admin)
        key_id = key_row(setup, token).id
    app = create_app(Settings(database_url=scratch_url))
    writer = sqlite3.connect(make_url(scratch_url).database or "", isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")  # as the app runs it: readers pass a writer
    try:
        with TestClient(app, headers=bearer(token)) as client:
            writer.execute("BEGIN IMMEDIATE")
            try:
                statuses = [client.get(f"{API}/keys/{key_id}").status_code for _ in range(5)]
            finally:
                writer.execute("ROLLBACK")
            assert statuses == [200] * 5
        # Leaving the client ran the lifespan's last flush.
        with Session(engine) as check:
            row = check.get(ApiKey, key_id)
            assert row is not None and row.last_used_at is not None
    finally:
        writer.close()
        app.state.engine.dispose()
        app.state.write_engine.dispose()
        engine.dispose()


T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_a_use_is_noted_at_most_once_a_minute() -> None:
    uses = KeyUses()
    uses.record(1, T0)
    uses.record(1, T0 + timedelta(seconds=59))
    assert uses.pending() == {1: T0}
    uses.record(1, T0 + timedelta(seconds=61))
    assert uses.pending() == {1: T0 + timedelta(seconds=61)}
    # A use already stored in the key's row within the minute is not noted again.
    uses.record(2, T0, stored=T0 - timedelta(seconds=30))
    assert 2 not in uses.pending()
    uses.record(3, T0, stored=T0 - timedelta(minutes=5))
    assert uses.pending()[3] == T0


def test_the_key_cache_notes_uses_in_the_same_recorder(session: Session) -> None:
    token = make_key(session, Role.reporter)
    uses = KeyUses()
    cache = KeyCache(uses)
    cache.remember(token, api_key_service.authenticate(session=session, token=token, uses=None))
    key = cache.lookup(token)
    assert key is not None
    assert set(uses.pending()) == {key.id}
    with writes_seen(session) as seen:
        cache.lookup(token)
    assert seen == []


def test_a_failed_flush_is_logged_kept_and_retried(
    session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    token = make_key(session, Role.reporter)
    key = key_row(session, token)
    uses = KeyUses()
    uses.record(key.id, T0)  # type: ignore[arg-type]

    @contextmanager
    def broken() -> Iterator[Session]:
        raise RuntimeError("database gone")
        yield session  # pragma: no cover

    logger = logging.getLogger("zwr.keys")
    logger.addHandler(caplog.handler)
    try:
        assert uses.flush(broken) == 0  # does not raise
    finally:
        logger.removeHandler(caplog.handler)
    assert "retrying" in caplog.text
    assert uses.pending() == {key.id: T0}

    @contextmanager
    def working() -> Iterator[Session]:
        yield session

    assert uses.flush(working) == 1
    session.refresh(key)
    assert key.last_used_at == T0
    # An older batch never moves last_used_at back.
    uses.record(key.id, T0 - timedelta(days=1))  # type: ignore[arg-type]
    uses.flush(working)
    session.refresh(key)
    assert key.last_used_at == T0


def test_flushing_writes_every_round_and_once_more_at_the_end() -> None:
    uses = KeyUses()
    flushed: list[int] = []

    @contextmanager
    def counting() -> Iterator[Any]:
        class _Session:
            def connection(self) -> Any:
                return self

            def execute(self, _stmt: Any, rows: list[dict[str, Any]]) -> None:
                flushed.append(len(rows))

            def commit(self) -> None:
                pass

        yield _Session()

    async def run() -> None:
        async with uses.flushing(lambda: counting, every=0.01):
            uses.record(1, T0)
            for _ in range(100):
                if flushed:
                    break
                await asyncio.sleep(0.01)
            uses.record(2, T0)  # left for the final flush
        assert uses.pending() == {}

    asyncio.run(run())
    assert flushed[0] == 1
    assert sum(flushed) == 2
