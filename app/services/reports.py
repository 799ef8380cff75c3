"""Report rules: validation against the zoo, opening or feeding an incident, idempotent replay."""

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, delete, select

from app.core.errors import Unprocessable, field_error
from app.models import (
    Animal,
    ApiKey,
    Enclosure,
    IdempotencyRecord,
    WelfareIncident,
    WelfareReport,
    Zoo,
)
from app.models.api_key import Role
from app.models.base import utcnow
from app.models.enums import EventKind, IncidentStatus
from app.models.incident import OPEN_STATUSES
from app.models.report import WelfareReportCreate, WelfareReportPublic
from app.services import incidents as incident_service
from app.services.access import ensure_zoo_scope
from app.services.common import commit, paginate, require_ref
from app.welfare import cache as concern_cache

IDEMPOTENCY_RETENTION = timedelta(hours=24)


@dataclass(frozen=True)
class Submitted:
    body: dict[str, Any]
    location: str
    replayed: bool


def may_see_reporter(viewer: ApiKey | None, report: WelfareReport) -> bool:
    """Reporter details: admins, inspectors for the report's zoo, and the submitting key."""
    if viewer is None:
        return False
    if viewer.id == report.api_key_id:
        return True
    return viewer.role.includes(Role.inspector) and viewer.allows_zoo(report.zoo_id)


def to_public(report: WelfareReport, viewer: ApiKey | None) -> WelfareReportPublic:
    public = WelfareReportPublic.model_validate(report)
    if not may_see_reporter(viewer, report):
        public.reporter_name = None
        public.reporter_contact = None
    return public


def _request_hash(report_in: WelfareReportCreate) -> str:
    return hashlib.sha256(report_in.model_dump_json().encode()).hexdigest()


def _find_record(session: Session, actor: ApiKey, key: str) -> IdempotencyRecord | None:
    stmt = select(IdempotencyRecord).where(
        IdempotencyRecord.api_key_id == actor.id, IdempotencyRecord.key == key
    )
    return session.exec(stmt).first()


def _replay(record: IdempotencyRecord, request_hash: str) -> Submitted:
    if record.request_hash != request_hash:
        message = "This Idempotency-Key was already used with a different request body."
        raise Unprocessable(message, errors=[field_error(["header", "Idempotency-Key"], message)])
    return Submitted(record.response_body, record.location or "", replayed=True)


def _claim_key(
    session: Session, actor: ApiKey, key: str, request_hash: str
) -> IdempotencyRecord | Submitted:
    """Claims the key inside this transaction, or returns the replay of the first request."""
    record = _find_record(session, actor, key)
    if record is not None and record.created_at > utcnow() - IDEMPOTENCY_RETENTION:
        return _replay(record, request_hash)
    if record is not None:
        session.delete(record)
    record = IdempotencyRecord(
        api_key_id=actor.id,  # type: ignore[arg-type]
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
        winner = _find_record(session, actor, key)
        if winner is None:
            raise
        return _replay(winner, request_hash)
    return record


def _check_subject(session: Session, report_in: WelfareReportCreate) -> None:
    require_ref(session, Zoo, report_in.zoo_id, "zoo_id", "zoo")
    for field, model, label in (
        ("animal_id", Animal, "animal"),
        ("enclosure_id", Enclosure, "enclosure"),
    ):
        ref_id = getattr(report_in, field)
        if ref_id is None:
            continue
        row = require_ref(session, model, ref_id, field, label)
        if row.zoo_id != report_in.zoo_id:
            message = f"The {label} {ref_id} is in zoo {row.zoo_id}, not zoo {report_in.zoo_id}."
            raise Unprocessable(message, errors=[field_error(["body", field], message)])


def _open_incident(
    session: Session, report_in: WelfareReportCreate, actor: ApiKey | None
) -> WelfareIncident:
    incident = WelfareIncident(
        zoo_id=report_in.zoo_id,
        animal_id=report_in.animal_id,
        enclosure_id=report_in.enclosure_id,
        category=report_in.category,
        severity=report_in.severity,
        title=report_in.title,
        first_observed_at=report_in.observed_at,
        last_observed_at=report_in.observed_at,
    )
    session.add(incident)
    session.flush()
    incident_service.record_event(
        session,
        incident,
        EventKind.created,
        actor,
        to_status=incident.status,
        to_severity=incident.severity,
    )
    return incident


def _existing_incident(
    session: Session, report_in: WelfareReportCreate, actor: ApiKey | None
) -> WelfareIncident:
    incident = incident_service.lock(session, report_in.incident_id)  # type: ignore[arg-type]
    if incident is None:
        message = f"No incident with id {report_in.incident_id}."
        raise Unprocessable(message, errors=[field_error(["body", "incident_id"], message)])
    if incident.zoo_id != report_in.zoo_id:
        message = f"Incident {incident.id} is about zoo {incident.zoo_id}, not {report_in.zoo_id}."
        raise Unprocessable(message, errors=[field_error(["body", "zoo_id"], message)])
    if incident.status not in OPEN_STATUSES:
        # resolved -> under_review and dismissed -> under_review are the allowed reopenings.
        incident_service.record_event(
            session,
            incident,
            EventKind.status_changed,
            actor,
            from_status=incident.status,
            to_status=IncidentStatus.under_review,
            note="reopened by a new report",
        )
        incident.status = IncidentStatus.under_review
    return incident


def file_report(
    session: Session, report_in: WelfareReportCreate, actor: ApiKey | None
) -> WelfareReport:
    """Stores the report and feeds its incident; the caller commits. Shared with the seed."""
    _check_subject(session, report_in)
    if report_in.incident_id is None:
        incident = _open_incident(session, report_in, actor)
    else:
        incident = _existing_incident(session, report_in, actor)
    report = WelfareReport.model_validate(
        report_in.model_dump(exclude={"incident_id"})
        | {"incident_id": incident.id, "api_key_id": actor.id if actor else None}
    )
    session.add(report)
    session.flush()

    before = incident.severity
    if report_in.incident_id is not None:
        incident_service.touch_fields(incident)
    incident.report_count += 1
    incident.first_observed_at = min(incident.first_observed_at, report.observed_at)
    incident.last_observed_at = max(incident.last_observed_at, report.observed_at)
    if not incident.severity_set_by_inspector and report.severity > incident.severity:
        incident.severity = report.severity
    incident_service.record_event(
        session,
        incident,
        EventKind.report_added,
        actor,
        report_id=report.id,
        from_severity=before if incident.severity != before else None,
        to_severity=incident.severity if incident.severity != before else None,
    )
    session.add(incident)
    concern_cache.bump(session, [incident.zoo_id])
    return report


def submit(
    *,
    session: Session,
    report_in: WelfareReportCreate,
    actor: ApiKey,
    idempotency_key: str | None,
) -> Submitted:
    """Stores a report, opening or feeding an incident; one transaction, replayable by key."""
    ensure_zoo_scope(actor, report_in.zoo_id)
    record: IdempotencyRecord | None = None
    if idempotency_key is not None:
        claimed = _claim_key(session, actor, idempotency_key, _request_hash(report_in))
        if isinstance(claimed, Submitted):
            return claimed
        record = claimed
    report = file_report(session, report_in, actor)
    body = to_public(report, actor).model_dump(mode="json")
    location = f"/api/v1/reports/{report.id}"
    if record is not None:
        record.response_body = body
        record.location = location
        session.add(record)
    commit(session)
    return Submitted(body, location, replayed=False)


def list_for_incident(
    *, session: Session, incident: WelfareIncident, limit: int, offset: int
) -> tuple[Sequence[WelfareReport], int]:
    """The incident's reports, oldest first."""
    stmt = (
        select(WelfareReport)
        .where(WelfareReport.incident_id == incident.id)
        .order_by(col(WelfareReport.id))
    )
    return paginate(session, stmt, limit=limit, offset=offset)


def purge_idempotency_records(*, session: Session, older_than: timedelta) -> int:
    """Deletes idempotency records older than the given age (never younger than 24 hours)."""
    age = max(older_than, IDEMPOTENCY_RETENTION)
    stmt = delete(IdempotencyRecord).where(col(IdempotencyRecord.created_at) < utcnow() - age)
    removed = session.execute(stmt).rowcount
    commit(session)
    return int(removed or 0)
