"""API keys: issuing (the secret shown once), listing, revoking, and authenticating."""

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from app.core.errors import Conflict, Unauthorized
from app.core.ratelimit import WriteRateLimiter
from app.core.security import generate_key, hash_secret, parse_key, secret_matches
from app.models.api_key import ApiKey, ApiKeyCreate, Role
from app.models.base import utcnow
from app.services import zoos as zoo_service
from app.services.access import ensure_role
from app.services.common import commit, paginate

# last_used_at is bookkeeping; writing it on every request would turn reads into writes.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def create(*, session: Session, key_in: ApiKeyCreate) -> tuple[ApiKey, str]:
    """Issues a key; returns the row and the secret key, which is never stored."""
    zoo_ids = None
    if key_in.zoos is not None:
        zoo_ids = sorted({zoo_service.get_by_ref(session=session, ref=z).id for z in key_in.zoos})
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


def list_keys(
    *, session: Session, include_revoked: bool, limit: int, offset: int
) -> tuple[Sequence[ApiKey], int]:
    """Lists keys, newest first."""
    stmt = select(ApiKey)
    if not include_revoked:
        stmt = stmt.where(col(ApiKey.revoked_at).is_(None))
    return paginate(session, stmt.order_by(col(ApiKey.id).desc()), limit=limit, offset=offset)


def get_by_prefix(*, session: Session, prefix: str) -> ApiKey | None:
    return session.exec(select(ApiKey).where(ApiKey.prefix == prefix)).first()


def revoke(*, session: Session, key: ApiKey) -> ApiKey:
    """Revokes a key at once; revoking twice is a conflict."""
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


def authenticate(*, session: Session, token: str) -> ApiKey:
    """Returns the live key a bearer token names, or raises Unauthorized."""
    parts = parse_key(token)
    key = get_by_prefix(session=session, prefix=parts.prefix) if parts else None
    if parts is None or key is None:
        raise Unauthorized("The API key is not valid.")
    now = utcnow()
    _ensure_usable(parts.secret, key.secret_hash, key.expires_at, now, key.revoked_at)
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        key.last_used_at = now
        session.add(key)
        commit(session)
    return key


def admit(*, session: Session, token: str, role: Role, limiter: WriteRateLimiter | None) -> ApiKey:
    """The live key a bearer token names, if its role includes `role`; with a limiter, the
    write is counted against the key's budget (429 once over it)."""
    key = authenticate(session=session, token=token)
    ensure_role(key, role)
    if limiter is not None:
        limiter.hit(key.id)  # type: ignore[arg-type]
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
    Entries are dropped after `ttl`; last_used_at is written at most once a minute per key.
    """

    def __init__(self, ttl: timedelta = timedelta(minutes=5), max_keys: int = 10_000) -> None:
        self.ttl = ttl
        self.max_keys = max_keys
        self._known: dict[str, tuple[_KnownKey, datetime]] = {}
        self._used: dict[int, datetime] = {}
        self._lock = threading.Lock()

    def admit(
        self, *, session: Session, token: str, role: Role, limiter: WriteRateLimiter | None
    ) -> ApiKey:
        """`admit` without reading the key when it was seen lately; revoked keys pass."""
        parts = parse_key(token)
        now = utcnow()
        entry = self._known.get(parts.prefix) if parts else None
        if parts is None or entry is None or now - entry[1] > self.ttl:
            key = admit(session=session, token=token, role=role, limiter=limiter)
            self._remember(parts.prefix, key, now)  # type: ignore[union-attr]
            return key
        known = entry[0]
        _ensure_usable(parts.secret, known.secret_hash, known.expires_at, now)
        key = known.actor
        ensure_role(key, role)
        if limiter is not None:
            limiter.hit(known.id)
        if now - self._used.get(known.id, now - LAST_USED_RESOLUTION * 2) > LAST_USED_RESOLUTION:
            self._used[known.id] = now
            session.execute(
                update(ApiKey).where(col(ApiKey.id) == known.id).values(last_used_at=now)
            )
        return key

    def lookup(self, token: str) -> ApiKey | None:
        """The key a token names if it was seen within `ttl` and is still usable by what never
        changes (secret, expiry); None means: read it. Revocation is not seen here."""
        parts = parse_key(token)
        entry = self._known.get(parts.prefix) if parts else None
        now = utcnow()
        if parts is None or entry is None or now - entry[1] > self.ttl:
            return None
        known = entry[0]
        _ensure_usable(parts.secret, known.secret_hash, known.expires_at, now)
        return known.actor

    def remember(self, token: str, key: ApiKey) -> None:
        """Keeps a key just read and checked, for `lookup`."""
        parts = parse_key(token)
        now = utcnow()
        entry = self._known.get(parts.prefix) if parts else None
        if parts is not None and (entry is None or now - entry[1] > self.ttl):
            self._remember(parts.prefix, key, now)

    def _remember(self, prefix: str, key: ApiKey, now: datetime) -> None:
        known = _KnownKey(
            id=key.id,  # type: ignore[arg-type]
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
            self._used[known.id] = key.last_used_at or now
