"""API keys: issuing (the secret shown once), listing, revoking, and authenticating."""

import threading
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import ColumnElement, and_, cast, exists, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Session, col, select

from app.core.errors import Conflict, NotFound, Unauthorized, Unprocessable, field_error
from app.core.security import generate_key, hash_secret, parse_key, secret_matches
from app.models.api_key import ApiKey, ApiKeyCreate, Role
from app.models.base import row_id, utcnow
from app.services import zoos as zoo_service
from app.services.access import ensure_may_issue_key, may_manage_key
from app.services.common import commit, ordering, paginate
from app.services.key_uses import KeyUses


def create(*, session: Session, key_in: ApiKeyCreate, actor: ApiKey | None) -> tuple[ApiKey, str]:
    """Issues a key; returns the row and the secret key, which is never stored.

    `actor` is the key asking (None: the operator at the command line). A key limited to some
    zoos may issue only keys limited to some of its zoos: no `zoos` is refused (403), never
    silently narrowed to the actor's own.
    """
    zoo_ids: list[int] | None = None
    if key_in.zoos is not None:
        zoos = (zoo_service.get_by_ref(session=session, ref=z) for z in key_in.zoos)
        zoo_ids = sorted({typing.cast(int, zoo.id) for zoo in zoos})  # stored zoos' ids
    if key_in.role is Role.zoo_representative and (zoo_ids is None or len(zoo_ids) != 1):
        message = "A zoo_representative key is limited to exactly one zoo: name it in `zoos`."
        raise Unprocessable(message, errors=[field_error(["body", "zoos"], message)])
    if actor is not None:
        ensure_may_issue_key(actor, zoo_ids)
    token, parts = generate_key()
    expires_at = (
        utcnow() + timedelta(days=key_in.expires_in_days) if key_in.expires_in_days else None
    )
    key = ApiKey(
        name=key_in.name,
        role=key_in.role,
        zoo_ids=zoo_ids,
        expires_at=expires_at,
        prefix=parts.prefix,
        secret_hash=hash_secret(parts.secret),
    )
    session.add(key)
    commit(session)
    return key, token


def _managed_by(actor: ApiKey, dialect: str) -> ColumnElement[bool] | None:
    """`may_manage_key` in SQL: keys whose zoo_ids (a JSON list) are a subset of the actor's;
    None when the actor is unscoped. JSON differs by database, so one form per dialect."""
    if actor.zoo_ids is None:
        return None
    ids = sorted(set(actor.zoo_ids))
    if dialect == "postgresql":
        doc = cast(ApiKey.zoo_ids, JSONB)
        return and_(func.jsonb_typeof(doc) == "array", doc.contained_by(ids))
    member = func.json_each(ApiKey.zoo_ids).table_valued("value")
    outside = select(member.c.value).where(member.c.value.not_in(ids))
    # json_type is NULL for SQL NULL and 'null' for a JSON null: both mean every zoo.
    return and_(func.json_type(ApiKey.zoo_ids) == "array", ~exists(outside))


class KeySort(StrEnum):
    """`field` ascending, `-field` descending (missing times last either way); ties by id,
    newest first."""

    id = "id"
    id_desc = "-id"
    name = "name"
    name_desc = "-name"
    created_at = "created_at"
    created_at_desc = "-created_at"
    last_used_at = "last_used_at"
    last_used_at_desc = "-last_used_at"
    expires_at = "expires_at"
    expires_at_desc = "-expires_at"


KEY_SORT_COLUMNS = {
    "name": ApiKey.name,
    "created_at": ApiKey.created_at,
    "last_used_at": ApiKey.last_used_at,
    "expires_at": ApiKey.expires_at,
}


def list_keys(
    *,
    session: Session,
    actor: ApiKey | None,
    include_revoked: bool,
    sort: KeySort = KeySort.id_desc,
    limit: int,
    offset: int,
) -> tuple[Sequence[ApiKey], int]:
    """Lists keys newest first unless sorted: for a scoped actor only those it may manage."""
    stmt = select(ApiKey)
    if not include_revoked:
        stmt = stmt.where(col(ApiKey.revoked_at).is_(None))
    if actor is not None:
        within = _managed_by(actor, session.get_bind().dialect.name)
        if within is not None:
            stmt = stmt.where(within)
    order = ordering(sort, KEY_SORT_COLUMNS, id_column=ApiKey.id, ties_desc=True)
    return paginate(session, stmt.order_by(*order), limit=limit, offset=offset)


def get(*, session: Session, key_id: int, actor: ApiKey | None) -> ApiKey:
    """One key, if `actor` may manage it.

    A key outside a scoped actor's zoos (or an unscoped key) answers 404 exactly as a missing
    one does, for get and revoke alike: a scoped admin learns nothing of keys beyond its zoos.
    """
    key = session.get(ApiKey, key_id)
    if key is None or (actor is not None and not may_manage_key(actor, key.zoo_ids)):
        raise NotFound(f"No API key with id {key_id}.")
    return key


def get_by_prefix(*, session: Session, prefix: str) -> ApiKey | None:
    return session.exec(select(ApiKey).where(ApiKey.prefix == prefix)).first()


def revoke(*, session: Session, key: ApiKey, actor: ApiKey | None) -> ApiKey:
    """Revokes a key at once; revoking twice is a conflict; a key `actor` may not manage is a
    404 (see `get`)."""
    if actor is not None and not may_manage_key(actor, key.zoo_ids):
        raise NotFound(f"No API key with id {key.id}.")
    if key.revoked_at is not None:
        raise Conflict(f"Key {key.prefix} was already revoked.")
    key.revoked_at = utcnow()
    session.add(key)
    commit(session)
    return key


def _ensure_usable(
    secret: str,
    secret_hash: str,
    expires_at: datetime | None,
    now: datetime,
    revoked_at: datetime | None = None,
) -> None:
    """Raises Unauthorized for a wrong secret, a revoked key or an expired one."""
    if not secret_matches(secret, secret_hash):
        raise Unauthorized("The API key is not valid.")
    if revoked_at is not None:
        raise Unauthorized("The API key has been revoked.")
    if expires_at is not None and expires_at <= now:
        raise Unauthorized("The API key has expired.")


def authenticate(*, session: Session, token: str, uses: KeyUses | None) -> ApiKey:
    """Returns the live key a bearer token names, or raises Unauthorized; only reads.

    The use is noted in `uses` (None: not noted), written later off the request path.
    """
    parts = parse_key(token)
    key = get_by_prefix(session=session, prefix=parts.prefix) if parts else None
    if parts is None or key is None:
        raise Unauthorized("The API key is not valid.")
    now = utcnow()
    _ensure_usable(parts.secret, key.secret_hash, key.expires_at, now, key.revoked_at)
    if uses is not None:
        uses.record(row_id(key), now, key.last_used_at)
    return key


@dataclass(frozen=True)
class _KnownKey:
    """What never changes about a key (all but revoked_at and last_used_at), and the key as
    callers get it: one detached ApiKey, built once (building one costs ~60 us) and only read
    by the requests it admits."""

    id: int
    expires_at: datetime | None
    secret_hash: str
    actor: ApiKey


class KeyCache:
    """Keys already seen, so a write that checks revocation itself need not read the key first.

    Only for writes that re-check, in the statement that writes, that the key is not revoked
    (see report_writes): revocation is the one thing about a key that changes and this cache
    cannot see. The secret, role, zoos and expiry never change, so they are checked here.
    Entries are dropped after `ttl`; uses are noted in `uses`, like any authentication's.
    """

    def __init__(
        self, uses: KeyUses, ttl: timedelta = timedelta(minutes=5), max_keys: int = 10_000
    ) -> None:
        self.uses = uses
        self.ttl = ttl
        self.max_keys = max_keys
        self._known: dict[str, tuple[_KnownKey, datetime]] = {}
        self._lock = threading.Lock()

    def lookup(self, token: str) -> ApiKey | None:
        """The key a token names if it was seen within `ttl` and is still usable by what never
        changes (secret, expiry); None means: read it. Revocation is not seen here."""
        parts = parse_key(token)
        now = utcnow()
        known = self._fresh(parts.prefix, now) if parts else None
        if parts is None or known is None:
            return None
        _ensure_usable(parts.secret, known.secret_hash, known.expires_at, now)
        self.uses.record(known.id, now)
        return known.actor

    def remember(self, token: str, key: ApiKey) -> None:
        """Keeps a key just read and checked, for `lookup`."""
        parts = parse_key(token)
        now = utcnow()
        if parts is not None and self._fresh(parts.prefix, now) is None:
            self._remember(parts.prefix, key, now)

    def _fresh(self, prefix: str, now: datetime) -> _KnownKey | None:
        """The key known under a prefix, if it was seen within `ttl`."""
        entry = self._known.get(prefix)
        return entry[0] if entry is not None and now - entry[1] <= self.ttl else None

    def _remember(self, prefix: str, key: ApiKey, now: datetime) -> None:
        known = _KnownKey(
            id=row_id(key),
            expires_at=key.expires_at,
            secret_hash=key.secret_hash,
            actor=ApiKey(
                id=key.id,
                name=key.name,
                role=key.role,
                zoo_ids=list(key.zoo_ids) if key.zoo_ids is not None else None,
                expires_at=key.expires_at,
                prefix=prefix,
                secret_hash=key.secret_hash,
            ),
        )
        with self._lock:
            if len(self._known) >= self.max_keys:
                self._known.clear()
            self._known[prefix] = (known, now)
