"""The key cache: a key seen lately is admitted without reading it, as one detached key that
no session holds; its secret, role and zoos are still checked on every admission."""

import pytest
from sqlalchemy import event
from sqlmodel import Session

from app.core.errors import Forbidden, Unauthorized
from app.models.api_key import Role
from app.services.api_keys import KeyCache
from app.services.key_uses import KeyUses
from tests.factories import make_key


def test_a_cached_key_is_admitted_without_a_read_as_one_detached_key(session: Session) -> None:
    token = make_key(session, Role.reporter, zoos=None)
    cache = KeyCache(KeyUses())
    first = cache.admit(session=session, token=token, role=Role.reporter, limiter=None)

    statements: list[str] = []
    engine = session.get_bind()
    listen = event.listens_for(engine, "before_cursor_execute")

    @listen
    def count(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        if not statement.startswith(("SAVEPOINT", "RELEASE")):
            statements.append(statement)

    try:
        second = cache.admit(session=session, token=token, role=Role.reporter, limiter=None)
        third = cache.admit(session=session, token=token, role=Role.reporter, limiter=None)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert statements == []  # uses are noted in memory, not written on admission
    assert second is third  # built once, shared read-only
    assert second is not first  # the row read first stays the session's own
    assert second not in session
    assert (second.id, second.role, second.zoo_ids) == (first.id, Role.reporter, None)


def test_a_cached_key_still_needs_its_secret_and_its_role(session: Session) -> None:
    token = make_key(session, Role.reporter)
    cache = KeyCache(KeyUses())
    cache.admit(session=session, token=token, role=Role.reporter, limiter=None)
    secret = token.rsplit("_", 1)[1]
    forged = token[: -len(secret)] + "x" * len(secret)
    with pytest.raises(Unauthorized):
        cache.admit(session=session, token=forged, role=Role.reporter, limiter=None)
    with pytest.raises(Forbidden):
        cache.admit(session=session, token=token, role=Role.inspector, limiter=None)
