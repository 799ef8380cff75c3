"""The key cache: a key seen lately is found without reading it, as one detached key that no
session holds; its secret and expiry are still checked on every lookup."""

import pytest
from sqlalchemy import event
from sqlmodel import Session

from app.core.errors import Unauthorized
from app.models.api_key import Role
from app.services.api_keys import KeyCache, authenticate
from app.services.key_uses import KeyUses
from tests.factories import make_key


def test_a_cached_key_is_admitted_without_a_read_as_one_detached_key(session: Session) -> None:
    token = make_key(session, Role.reporter, zoos=None)
    cache = KeyCache(KeyUses())
    assert cache.lookup(token) is None  # never seen: read it
    first = authenticate(session=session, token=token, uses=None)
    cache.remember(token, first)

    statements: list[str] = []
    engine = session.get_bind()
    listen = event.listens_for(engine, "before_cursor_execute")

    @listen
    def count(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        if not statement.startswith(("SAVEPOINT", "RELEASE")):
            statements.append(statement)

    try:
        second = cache.lookup(token)
        third = cache.lookup(token)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert statements == []  # uses are noted in memory, not written on admission
    assert second is third  # built once, shared read-only
    assert second is not first  # the row read first stays the session's own
    assert second not in session
    assert second is not None
    assert (second.id, second.role, second.zoo_ids) == (first.id, Role.reporter, None)


def test_a_cached_key_still_needs_its_secret(session: Session) -> None:
    token = make_key(session, Role.reporter)
    cache = KeyCache(KeyUses())
    cache.remember(token, authenticate(session=session, token=token, uses=None))
    secret = token.rsplit("_", 1)[1]
    forged = token[: -len(secret)] + "x" * len(secret)
    with pytest.raises(Unauthorized):
        cache.lookup(forged)
    assert cache.lookup(token) is not None
