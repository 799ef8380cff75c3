"""Report rules: validation against the zoo, opening or feeding an incident, idempotent replay."""

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlmodel import Session, col, select

from app.core.db import begin_autocommit
from app.core.errors import DomainError, Unauthorized, Unprocessable, field_error
from app.events import outbox
from app.events.outbox import EventType, joined, split_json
from app.models import (
    ApiKey,
    IdempotencyRecord,
    WelfareIncident,
    WelfareReport,
)
from app.models.api_key import Role
from app.models.base import row_id, utcnow
from app.models.incident import INITIAL_STATUS, WelfareIncidentPublic
from app.models.report import WelfareReportCreate, WelfareReportPublic
from app.services import idempotency, incident_events, keyset
from app.services import incidents as incident_service
from app.services import zoos as zoo_service
from app.services.access import ensure_zoo_scope
from app.services.common import commit, ordering, paginate
from app.services.idempotency import Submitted
from app.services.keyset import KeysetPage
from app.services.report_writes import (
    CHECK_SUBJECT,
    FILE_NEW_INCIDENT_PG,
    INSERT_REPORT,
    bind,
)


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


def _check_subject(
    session: Session, report_in: WelfareReportCreate, live_key: ApiKey | None = None
) -> None:
    """The zoo exists and the animal and enclosure named are in it, and `live_key` (if any)
    is not revoked: one statement."""
    params = {
        "zoo_id": report_in.zoo_id,
        "animal_id": report_in.animal_id,
        "enclosure_id": report_in.enclosure_id,
        "api_key_id": live_key.id if live_key is not None else None,
    }
    found = session.execute(CHECK_SUBJECT, params).one()
    if live_key is not None and found[3] is None:  # the first refusal, as in _refused
        raise Unauthorized("The API key has been revoked.")
    for field, label, ref_id, zoo_id in (
        ("zoo_id", "zoo", report_in.zoo_id, found[0]),
        ("animal_id", "animal", report_in.animal_id, found[1]),
        ("enclosure_id", "enclosure", report_in.enclosure_id, found[2]),
    ):
        if ref_id is None:
            continue
        if zoo_id is None:
            message = f"No {label} with id {ref_id}."
            raise Unprocessable(message, errors=[field_error(["body", field], message)])
        if field != "zoo_id" and zoo_id != report_in.zoo_id:
            message = f"The {label} {ref_id} is in zoo {zoo_id}, not zoo {report_in.zoo_id}."
            raise Unprocessable(message, errors=[field_error(["body", field], message)])


check_subject = _check_subject  # shared with public submissions (services/submissions.py)


def _incident_values(report_in: WelfareReportCreate, now: datetime) -> dict[str, Any]:
    """A new incident's columns, with its first report already counted."""
    return {
        "zoo_id": report_in.zoo_id,
        "animal_id": report_in.animal_id,
        "enclosure_id": report_in.enclosure_id,
        "category": report_in.category,
        "severity": report_in.severity,
        "severity_set_by_inspector": False,
        "status": INITIAL_STATUS,
        "title": report_in.title,
        "first_observed_at": report_in.observed_at,
        "last_observed_at": report_in.observed_at,
        "report_count": 1,
        "created_at": now,
        "updated_at": now,
        "version": 1,
        "reply_count": 0,
        "last_replied_at": None,
    }


def _refused(session: Session, report_in: WelfareReportCreate, actor: ApiKey | None) -> DomainError:
    """Why the guarded insert wrote nothing: a revoked key (401), or the 422 naming the field."""
    if actor is not None and _key_revoked(session, actor):
        return Unauthorized("The API key has been revoked.")
    _check_subject(session, report_in)
    return Unprocessable("The zoo, animal or enclosure changed while the report was filed.")


def _file_in_one_statement(
    session: Session,
    report_in: WelfareReportCreate,
    actor: ApiKey | None,
    report: WelfareReport,
    now: datetime,
) -> WelfareReport:
    """PostgreSQL: incident, report, events and the concern_version bump in one statement."""
    incident_values = _incident_values(report_in, now)
    values = incident_values | report.model_dump(exclude={"id"})
    params = bind(values | {"event_at": now})
    # The feed's data, rendered here as everywhere; the statement puts in the new ids.
    placeholder = WelfareIncident(id=0, **incident_values)
    params["ev_incident_rest"] = split_json(
        WelfareIncidentPublic.model_validate(placeholder), ("id",)
    )[1]
    report.id, report.incident_id = 0, 0
    params["ev_report_rest"] = split_json(to_public(report, None), ("id", "incident_id"))[1]
    row = session.connection().execute(FILE_NEW_INCIDENT_PG, params).first()
    if row is None:
        raise _refused(session, report_in, actor)
    report.incident_id, report.id = row
    return report


def _feed_incident(
    session: Session, incident_id: int, report_in: WelfareReportCreate, actor: ApiKey | None
) -> tuple[WelfareIncident, int]:
    """Locks the incident a report adds to, reopens it if closed (through the state machine)
    and counts the report in; returns it and its severity before. A zoo, animal or enclosure
    given that differs from the incident's is a 422 on that field."""
    incident = incident_service.lock(session, incident_id)
    if incident is None:
        message = f"No incident with id {report_in.incident_id}."
        raise Unprocessable(message, errors=[field_error(["body", "incident_id"], message)])
    if incident.zoo_id != report_in.zoo_id:
        message = f"Incident {incident.id} is about zoo {incident.zoo_id}, not {report_in.zoo_id}."
        raise Unprocessable(message, errors=[field_error(["body", "zoo_id"], message)])
    # A report adds to the incident's case: about its subject (the one it takes when it names
    # none), never about another animal or enclosure.
    for field, label, given, own in (
        ("animal_id", "animal", report_in.animal_id, incident.animal_id),
        ("enclosure_id", "enclosure", report_in.enclosure_id, incident.enclosure_id),
    ):
        if given is not None and given != own:
            about = f"{label} {own}" if own is not None else f"no {label}"
            message = f"Incident {incident.id} is about {about}, not {label} {given}."
            raise Unprocessable(message, errors=[field_error(["body", field], message)])
    incident_service.reopen(session, incident, actor=actor)
    before = incident.severity
    incident_service.touch(incident)
    incident.report_count += 1
    incident.first_observed_at = min(incident.first_observed_at, report_in.observed_at)
    incident.last_observed_at = max(incident.last_observed_at, report_in.observed_at)
    if not incident.severity_set_by_inspector and report_in.severity > incident.severity:
        incident.severity = report_in.severity
    session.add(incident)
    return incident, before


def file_report(
    session: Session, report_in: WelfareReportCreate, actor: ApiKey | None
) -> WelfareReport:
    """Stores the report and feeds its incident; the caller commits. Shared with the seed.

    A new incident (the common case, and the one that must be fast) is written on PostgreSQL
    in one statement, which marks the concern lists stale itself; on SQLite through the ORM,
    after one statement of checks. Adding to an existing incident locks and updates it through
    the ORM. The flush of an incident marks the lists stale (app/concerns/hook.py).
    """
    now = utcnow()
    report = WelfareReport(
        **report_in.model_dump(exclude={"incident_id"}),
        incident_id=0,  # set below
        api_key_id=actor.id if actor else None,
        created_at=now,
    )
    connection = session.connection()
    named = report_in.incident_id
    if named is None:
        if connection.dialect.name == "postgresql":
            return _file_in_one_statement(session, report_in, actor, report, now)
        # Nothing checked can change before the insert: SQLite's writer holds the database
        # from BEGIN IMMEDIATE, and a transaction that read before another's commit cannot
        # write after it. Through the ORM, so that its flush marks the lists (concerns/hook.py).
        _check_subject(session, report_in, live_key=actor)
        incident = WelfareIncident(**_incident_values(report_in, now))
        session.add(incident)
        session.flush()  # its id, for the report's row
        incident_id = row_id(incident)
        events = [
            incident_events.created_event(
                incident_id, report.api_key_id, report_in.severity, at=now
            )
        ]
        before = after = report_in.severity
    else:
        _check_subject(session, report_in)
        incident, before = _feed_incident(session, named, report_in, actor)
        events = []  # a reopening was recorded as it happened
        incident_id, after = named, incident.severity
        about = incident.animal_id, incident.enclosure_id
        # Stored with the incident's subject, so the report's own columns agree with it.
        report.animal_id, report.enclosure_id = about
    report.incident_id = incident_id
    report.id = connection.execute(INSERT_REPORT, report.model_dump(exclude={"id"})).scalar_one()
    events.append(
        incident_events.report_added_event(
            incident_id,
            report.api_key_id,
            report.id,
            severity_before=before,
            severity_after=after,
        )
    )
    incident_events.record_events(session, *events)  # with a new incident's, one statement
    outbox.append(connection, [filed_event(report)])
    return report


def filed_event(report: WelfareReport) -> dict[str, Any]:
    """report.filed, the report as anyone may read it (no reporter fields) as `data`."""
    return outbox.row(
        EventType.report_filed,
        zoo_id=report.zoo_id,
        subject_type="report",
        subject_id=report.id,
        data=joined(to_public(report, None), ("id", "incident_id")),
        at=report.created_at,
    )


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
        claimed = idempotency.claim(
            session, actor, idempotency_key, idempotency.request_hash(report_in)
        )
        if isinstance(claimed, Submitted):
            return claimed
        record = claimed
    report = file_report(session, report_in, actor)
    location = f"/api/v1/reports/{report.id}"
    if record is None:
        # The body is built after the commit: on SQLite the single writer waits for no more
        # than the write.
        commit(session)
        return Submitted(_body(report, actor), location, replayed=False)
    record.response_body = body = _body(report, actor)  # replayed as first answered
    record.location = location
    session.add(record)
    commit(session)
    return Submitted(body, location, replayed=False)


def _body(report: WelfareReport, actor: ApiKey) -> dict[str, Any]:
    return to_public(report, actor).model_dump(mode="json")


def submit_as(
    *,
    session: Session,
    actor: ApiKey,
    report_in: WelfareReportCreate,
    idempotency_key: str | None,
) -> Submitted:
    """`submit` for a key the route admitted with the reporter role (or higher). A key taken
    from the key cache may have been revoked since: every path's write refuses a revoked key
    (PostgreSQL's guarded one statement, SQLite's CHECK_SUBJECT, or `_check_key_live` before
    the others).

    A report about a new incident without an Idempotency-Key, the common case, checks the key
    itself where it writes: on PostgreSQL one statement in autocommit, one round trip in all.
    """
    if idempotency_key is None and report_in.incident_id is None:
        begin_autocommit(session)
        return submit(session=session, report_in=report_in, actor=actor, idempotency_key=None)
    _check_key_live(session, actor)
    return submit(
        session=session, report_in=report_in, actor=actor, idempotency_key=idempotency_key
    )


def _key_revoked(session: Session, actor: ApiKey) -> bool:
    revoked = session.execute(select(ApiKey.revoked_at).where(ApiKey.id == actor.id)).first()
    return revoked is None or revoked[0] is not None


def _check_key_live(session: Session, actor: ApiKey) -> None:
    if _key_revoked(session, actor):
        raise Unauthorized("The API key has been revoked.")


class ReportSort(StrEnum):
    """`field` ascending, `-field` descending; ties by id."""

    id = "id"
    id_desc = "-id"
    observed_at = "observed_at"
    observed_at_desc = "-observed_at"
    created_at = "created_at"
    created_at_desc = "-created_at"
    severity = "severity"
    severity_desc = "-severity"


REPORT_SORT_COLUMNS = {
    "observed_at": WelfareReport.observed_at,
    "created_at": WelfareReport.created_at,
    "severity": WelfareReport.severity,
}


def list_for_incident(
    *,
    session: Session,
    incident: WelfareIncident,
    sort: ReportSort = ReportSort.id,
    limit: int,
    offset: int,
) -> tuple[Sequence[WelfareReport], int]:
    """The incident's reports, oldest first unless sorted."""
    stmt = select(WelfareReport).where(WelfareReport.incident_id == incident.id)
    stmt = stmt.order_by(*ordering(sort, REPORT_SORT_COLUMNS, id_column=WelfareReport.id))
    return paginate(session, stmt, limit=limit, offset=offset)


def list_reports(
    *,
    session: Session,
    viewer: ApiKey,
    zoo_ref: str | None,
    incident_id: int | None,
    observed_since: datetime | None,
    observed_until: datetime | None,
    sort: ReportSort = ReportSort.id,
    limit: int,
    offset: int = 0,
    after: str | None = None,
    count: bool = False,
) -> KeysetPage[WelfareReport]:
    """The reports the viewer may list, oldest first unless sorted: a reporter's own, an
    inspector's or admin's of its zoos (all for a key not limited to zoos); a page `offset`
    rows in, or after the cursor `after`."""
    stmt = select(WelfareReport)
    if not viewer.role.includes(Role.inspector):
        stmt = stmt.where(WelfareReport.api_key_id == viewer.id)
    elif viewer.zoo_ids is not None:
        stmt = stmt.where(col(WelfareReport.zoo_id).in_(viewer.zoo_ids))
    if zoo_ref is not None:
        stmt = stmt.where(zoo_service.matches_ref(WelfareReport.zoo_id, zoo_ref))
    if incident_id is not None:
        stmt = stmt.where(WelfareReport.incident_id == incident_id)
    if observed_since is not None:
        stmt = stmt.where(col(WelfareReport.observed_at) >= observed_since)
    if observed_until is not None:
        stmt = stmt.where(col(WelfareReport.observed_at) <= observed_until)
    return keyset.sorted_page(
        session,
        stmt,
        sort=sort,
        columns=REPORT_SORT_COLUMNS,
        id_column=WelfareReport.id,
        limit=limit,
        offset=offset,
        cursor=after,
        count=count,
    )
