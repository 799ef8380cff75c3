"""The request's session and its admission slot (app/api/sessions.py, app/core/admission.py):
a route and its loaders share one session of the kind the route names; a slot is taken for
database work only - the key's read, the session while it is open, or the whole of a route
that reaches the database by hand - one at a time per request, and it is given back before
the response is sent."""

from collections.abc import AsyncIterator, Callable, Iterator, MutableMapping
from contextlib import AbstractContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import anyio
import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session
from starlette.types import Message, Receive, Scope, Send

from app.api.deps import ReadSessionDep, WriteSessionDep
from app.api.guard import GuardedRoute
from app.core.admission import SLOT_STATE, Admission
from app.models.api_key import Role
from tests.factories import make_enclosure, make_key, make_zoo

API = "/api/v1"


class RecordingAdmission(Admission):
    """Admission that counts the slots taken and held (nested ones are not new slots)."""

    def __init__(self) -> None:
        super().__init__(5)
        self.taken = 0
        self.held = 0
        self.most = 0

    @asynccontextmanager
    async def slot(self, scope: MutableMapping[str, Any] | None = None) -> AsyncIterator[None]:
        nested = scope is not None and bool(scope.get("state", {}).get(SLOT_STATE))
        async with super().slot(scope):
            if nested:
                yield
                return
            self.taken += 1
            self.held += 1
            self.most = max(self.most, self.held)
            try:
                yield
            finally:
                self.held -= 1


@pytest.fixture
def admission(app: FastAPI) -> RecordingAdmission:
    recording = RecordingAdmission()
    app.state.admission = recording
    return recording


@dataclass
class Watched:
    client: TestClient
    held_at_send: list[int]  # the slots held as each response started to be sent


@pytest.fixture
def watched(app: FastAPI, admission: RecordingAdmission) -> Iterator[Watched]:
    """A client of the app as the server runs it, seen from outside every middleware."""
    seen: list[int] = []

    async def outermost(scope: Scope, receive: Receive, send: Send) -> None:
        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                seen.append(admission.held)
            await send(message)

        await app(scope, receive, sending)

    with TestClient(outermost) as client:
        yield Watched(client, seen)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_read_takes_one_slot_while_its_session_is_open(
    admission: RecordingAdmission, watched: Watched
) -> None:
    assert watched.client.get(f"{API}/zoos").status_code == 200
    assert (admission.taken, admission.most) == (1, 1)
    assert watched.held_at_send == [0]  # given back before the response was sent


@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        (f"{API}/zoos?unknown=1", {}, 422),  # refused before the route's dependencies
        (f"{API}/zoos", {"Authorization": "Basic eA=="}, 401),  # refused before any read
        (f"{API}/no-such-thing", {}, 404),  # refused by routing
    ],
)
def test_a_request_refused_before_database_work_takes_no_slot(
    admission: RecordingAdmission,
    watched: Watched,
    path: str,
    headers: dict[str, str],
    status: int,
) -> None:
    assert watched.client.get(path, headers=headers).status_code == status
    assert admission.taken == 0


def test_the_key_read_and_the_session_take_a_slot_each_in_turn(
    session: Session, admission: RecordingAdmission, watched: Watched
) -> None:
    zoo = make_zoo(session)
    token = make_key(session, Role.admin)
    response = watched.client.patch(
        f"{API}/zoos/{zoo.slug}", json={"name": "Renamed zoo"}, headers=_bearer(token)
    )
    assert response.status_code == 200, response.text
    assert (admission.taken, admission.most) == (2, 1)  # never two at once
    assert watched.held_at_send == [0]


def test_a_route_without_a_session_dependency_is_admitted_whole(
    session: Session, admission: RecordingAdmission, watched: Watched
) -> None:
    # The concern list reaches the database through the read model's own sessions.
    zoo = make_zoo(session)
    make_enclosure(session, zoo, last_inspected_on=None)
    session.commit()
    assert watched.client.get(f"{API}/zoos/{zoo.slug}/concerns").status_code == 200
    assert (admission.taken, admission.most) == (1, 1)
    # The same request again is answered from the concern cache before routing: no slot.
    assert watched.client.get(f"{API}/zoos/{zoo.slug}/concerns").status_code == 200
    assert admission.taken == 1
    assert watched.held_at_send == [0, 0]


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


def test_one_slot_per_request_however_nested() -> None:
    admission = Admission(1)

    async def main() -> None:
        scope: dict[str, Any] = {}
        async with admission.slot(scope), admission.slot(scope):  # would wait for itself
            assert scope["state"][SLOT_STATE] is True
            other: dict[str, Any] = {}
            with anyio.move_on_after(0.05) as waited:
                async with admission.slot(other):
                    raise AssertionError("a second request got the only slot")
            assert waited.cancelled_caught
        assert scope["state"][SLOT_STATE] is False
        assert await admission.try_slot(0.05)

    anyio.run(main)
