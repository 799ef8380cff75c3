"""Authentication and authorisation come before anything else a request holds: a missing or
bad key on a protected route is a 401 whatever the body, the path or the query (before the fix
a bad key with a broken body got 422, and the load-or-404 dependencies answered 404 before the
key was checked); a wrong role is a 403 before the body is looked at; and repeated failed
authentication from one address is throttled (429)."""

import re
from typing import Any

import fastapi.routing
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from limits.storage import storage_from_string
from sqlmodel import Session

from app.api.guard import GuardedRoute
from app.core.ratelimit import ClientLimits
from app.models.api_key import Role
from tests.factories import make_key

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
    app.state.client_limits = ClientLimits(
        read_rate="100000/minute",
        auth_failure_rate="100000/minute",
        storage=storage_from_string("memory://"),
    )
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
    app.state.client_limits = ClientLimits(
        read_rate="100000/minute",
        auth_failure_rate="3/minute",
        storage=storage_from_string("memory://"),
    )
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
