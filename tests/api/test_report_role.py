"""POST /reports needs the reporter role, checked by the route's dependency (ReportingKeyDep:
require_role, served by the key cache) before the body is read, as every other write's role
is; the report service itself checks only the key's zoos."""

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import func
from sqlmodel import Session, select

from app.api.guard import GuardedRoute, Requirement
from app.api.routes import reports
from app.models import WelfareReport
from app.models.api_key import Role
from tests.api.test_errors import assert_problem
from tests.api.test_reports import REPORTS, bearer, report_body
from tests.factories import make_key, make_zoo

# What require_role answered before, and answers for every reporter route (GET /reports too).
REFUSED = "This needs the reporter role; the key has zoo_representative."


def _route(name: str) -> APIRoute:
    return next(r for r in reports.router.routes if isinstance(r, APIRoute) and r.name == name)


def _reports(session: Session, zoo_id: Any) -> int:
    count = select(func.count()).select_from(WelfareReport).where(WelfareReport.zoo_id == zoo_id)
    return session.exec(count).one()


def test_the_route_declares_the_reporter_role_served_by_the_key_cache() -> None:
    route = _route("reports_submit")
    assert isinstance(route, GuardedRoute)
    assert route.requirement == Requirement(Role.reporter, cached=True)


@pytest.mark.parametrize("body", ["valid", "invalid"])
def test_a_key_without_the_reporter_role_gets_the_same_403(
    app: FastAPI, anon_client: TestClient, session: Session, body: str
) -> None:
    # Inspectors and admins include the reporter role; the one role that lacks it is the
    # zoo's representative, which may only reply.
    zoo = make_zoo(session)
    token = make_key(session, Role.zoo_representative, zoos=[zoo.slug])
    sent = report_body(zoo.id) if body == "valid" else {"severity": "not a report"}

    response = anon_client.post(REPORTS, json=sent, headers=bearer(token))

    # Refused by the dependency before the body was validated: a 403, never a 422.
    assert assert_problem(response, 403)["detail"] == REFUSED
    listing = anon_client.get(REPORTS, headers=bearer(token))
    assert assert_problem(listing, 403)["detail"] == REFUSED
    assert _reports(session, zoo.id) == 0
    # The key was admitted through the key cache, as a reporter's is.
    assert app.state.key_cache.lookup(token) is not None


@pytest.mark.parametrize("role", [Role.reporter, Role.inspector, Role.admin])
def test_every_role_that_includes_reporter_may_report(
    app: FastAPI, anon_client: TestClient, session: Session, role: Role
) -> None:
    zoo = make_zoo(session)
    token = make_key(session, role)
    for _ in range(2):  # the second time from the key cache
        response = anon_client.post(REPORTS, json=report_body(zoo.id), headers=bearer(token))
        assert response.status_code == 201, response.text
    assert app.state.key_cache.lookup(token) is not None
    assert _reports(session, zoo.id) == 2
