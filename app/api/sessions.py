"""The request's database session as a dependency, opened under the request's admission slot.

Routes name the kind they need, `ReadSessionDep` or `WriteSessionDep` (app/api/deps.py), and
their loaders (`ZooDep`, `IncidentDep`, ...) share that one session: GuardedRoute reads the
kind a route declares when it is built, and `request_session` opens that kind for the route
and everything it depends on; a route that declares neither gets a read session for GET, HEAD
and OPTIONS and a write session otherwise. The sessions come from app.state.read_sessions and
write_sessions (on SQLite the write ones share the single writer connection).
"""

import logging
from collections.abc import AsyncIterator
from contextlib import AbstractContextManager
from enum import StrEnum
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.core.db import SAFE_METHODS, Sessions

logger = logging.getLogger("zwr.db")

KIND_STATE = "session_kind"


class SessionKind(StrEnum):
    read = "read"
    write = "write"


def kind_for(request: Request) -> SessionKind:
    """The kind the route declared (set by GuardedRoute), else the method's."""
    declared: SessionKind | None = request.scope.get("state", {}).get(KIND_STATE)
    if declared is not None:
        return declared
    return SessionKind.read if request.method in SAFE_METHODS else SessionKind.write


class RequestSession:
    """The request's one session. The admission slot is taken on the event loop before the
    session is opened and given back once it is closed; as a dependency of scope "function"
    it is closed when the route's response is built, before it is sent, so a client that
    reads slowly holds neither a slot nor a connection."""

    async def __call__(self, request: Request) -> AsyncIterator[Session]:
        state = request.app.state
        kind = kind_for(request)
        sessions: Sessions = (
            state.write_sessions if kind is SessionKind.write else state.read_sessions
        )
        async with state.admission.slot(request.scope):
            opened = sessions()
            session = opened.__enter__()  # no I/O: a session connects when first used
            try:
                yield session
            finally:
                await _close(opened, session)


async def _close(opened: AbstractContextManager[Session], session: Session) -> None:
    try:
        if session.in_transaction():
            # Ending a transaction is I/O (a ROLLBACK, a connection back to the pool).
            await run_in_threadpool(opened.__exit__, None, None, None)
        else:
            opened.__exit__(None, None, None)  # committed already: nothing left to send
    except DBAPIError as exc:
        # The route's work is done (written and committed, or read); a connection lost while
        # ending a transaction (a database restart) changes nothing for the client.
        logger.warning("database connection lost while closing a session: %s", exc)


request_session = RequestSession()
# Every dependency that needs the session names this one, so a request has one session.
SessionDep = Annotated[Session, Depends(request_session, scope="function")]


class DeclaredSession:
    """`ReadSessionDep` and `WriteSessionDep`: the request's session, of the kind the route
    declares by naming one of them."""

    def __init__(self, kind: SessionKind) -> None:
        self.kind = kind

    async def __call__(self, session: SessionDep) -> Session:
        return session


read_session = DeclaredSession(SessionKind.read)
write_session = DeclaredSession(SessionKind.write)
