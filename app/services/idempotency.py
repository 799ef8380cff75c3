"""Idempotent report submission: an Idempotency-Key is claimed in the report's own
transaction, and a repeat within 24 hours replays the first response."""

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, delete, select

from app.core.errors import Unprocessable, field_error
from app.models import ApiKey, IdempotencyRecord
from app.models.base import row_id, utcnow
from app.models.report import WelfareReportCreate
from app.services.common import commit

RETENTION = timedelta(hours=24)


@dataclass(frozen=True)
class Submitted:
    body: dict[str, Any]
    location: str
    replayed: bool


def request_hash(report_in: WelfareReportCreate) -> str:
    return hashlib.sha256(report_in.model_dump_json().encode()).hexdigest()


def _find(session: Session, actor: ApiKey, key: str) -> IdempotencyRecord | None:
    stmt = select(IdempotencyRecord).where(
        IdempotencyRecord.api_key_id == actor.id, IdempotencyRecord.key == key
    )
    return session.exec(stmt).first()


def replay(record: IdempotencyRecord, request_hash: str) -> Submitted:
    if record.request_hash != request_hash:
        message = "This Idempotency-Key was already used with a different request body."
        raise Unprocessable(message, errors=[field_error(["header", "Idempotency-Key"], message)])
    return Submitted(record.response_body, record.location or "", replayed=True)


def claim(
    session: Session, actor: ApiKey, key: str, request_hash: str
) -> IdempotencyRecord | Submitted:
    """Claims the key inside this transaction, or returns the replay of the first request."""
    record = _find(session, actor, key)
    if record is not None and record.created_at > utcnow() - RETENTION:
        return replay(record, request_hash)
    if record is not None:
        session.delete(record)
    record = IdempotencyRecord(
        api_key_id=row_id(actor),
        key=key,
        request_hash=request_hash,
        status_code=201,
    )
    session.add(record)
    try:
        # A concurrent request with the same key blocks here until it commits, then loses.
        session.flush()
    except IntegrityError:
        session.rollback()
        winner = _find(session, actor, key)
        if winner is None:
            raise
        return replay(winner, request_hash)
    return record


def purge(*, session: Session, older_than: timedelta) -> int:
    """Deletes idempotency records older than the given age (never younger than 24 hours)."""
    age = max(older_than, RETENTION)
    stmt = delete(IdempotencyRecord).where(col(IdempotencyRecord.created_at) < utcnow() - age)
    # Session.execute() is typed as returning a Result; a DELETE's is a CursorResult.
    removed = cast(CursorResult[Any], session.execute(stmt)).rowcount
    commit(session)
    return int(removed or 0)
