"""The request's session (app/api/sessions.py): a route and its loaders share one session of
the kind the route names."""

from collections.abc import Callable
from contextlib import AbstractContextManager

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.api.deps import ReadSessionDep, WriteSessionDep
from app.api.guard import GuardedRoute
from app.models.api_key import Role
from tests.factories import make_key, make_zoo

API = "/api/v1"


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _counting(
    opened: list[str], kind: str, sessions: Callable[[], AbstractContextManager[Session]]
) -> Callable[[], AbstractContextManager[Session]]:
    def counted() -> AbstractContextManager[Session]:
        opened.append(kind)
        return sessions()

    return counted


@pytest.mark.parametrize(
    ("method", "body", "expected"),
    [
        # anonymous: the route and its loader (ZooDep) share one read session
        ("GET", None, ["read"]),
        # the key's read, then one write session for the route and its loader
        ("PATCH", {"name": "Renamed zoo"}, ["read", "write"]),
    ],
)
def test_a_route_and_its_loaders_share_one_session_of_the_named_kind(
    app: FastAPI,
    anon_client: TestClient,
    session: Session,
    method: str,
    body: dict[str, str] | None,
    expected: list[str],
) -> None:
    zoo = make_zoo(session)
    headers = _bearer(make_key(session, Role.admin)) if body else {}
    opened: list[str] = []
    app.state.read_sessions = _counting(opened, "read", app.state.read_sessions)
    app.state.write_sessions = _counting(opened, "write", app.state.write_sessions)
    response = anon_client.request(method, f"{API}/zoos/{zoo.slug}", json=body, headers=headers)
    assert response.status_code == 200, response.text
    assert opened == expected


def test_a_route_cannot_name_both_kinds() -> None:
    router = APIRouter(route_class=GuardedRoute)

    def both(reading: ReadSessionDep, writing: WriteSessionDep) -> None:
        raise AssertionError("never served")

    with pytest.raises(TypeError, match="both a read and a write session"):
        router.add_api_route("/both", both, methods=["POST"])
