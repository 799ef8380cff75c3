"""The audit trail's one writer: every IncidentEvent row is written by `record_events`, built
by `event_row` and the builders beside it; the PostgreSQL one-statement report write
(report_writes.py) selects the same builders' values in SQL."""

from typing import Any

from sqlalchemy import insert
from sqlmodel import Session

from app.models import ApiKey, IncidentEvent, WelfareIncident
from app.models.base import row_id, table_of, utcnow
from app.models.enums import EventKind
from app.models.incident import INITIAL_STATUS

# Executed with a list of rows: compiled once, where a multi-row VALUES is compiled per call.
INSERT_EVENTS = insert(table_of(IncidentEvent))


def key_id(actor: ApiKey | None) -> int | None:
    """The acting key's id; None for the system and the seed."""
    return actor.id if actor else None


def event_row(
    incident_id: Any,
    kind: EventKind,
    actor_key_id: Any,
    *,
    at: Any = None,
    from_status: Any = None,
    to_status: Any = None,
    from_severity: Any = None,
    to_severity: Any = None,
    report_id: Any = None,
    note: Any = None,
) -> dict[str, Any]:
    """An audit event's columns (every one but id). Values are Python values, or SQL
    expressions where the one-statement report write selects them from its CTEs."""
    return {
        "incident_id": incident_id,
        "at": utcnow() if at is None else at,
        "actor_key_id": actor_key_id,
        "kind": kind,
        "from_status": from_status,
        "to_status": to_status,
        "from_severity": from_severity,
        "to_severity": to_severity,
        "report_id": report_id,
        "note": note,
    }


def created_event(
    incident_id: Any, actor_key_id: Any, severity: Any, *, at: Any = None
) -> dict[str, Any]:
    """A new incident's first event: it starts at the table's initial status."""
    return event_row(
        incident_id,
        EventKind.created,
        actor_key_id,
        at=at,
        to_status=INITIAL_STATUS,
        to_severity=severity,
    )


def report_added_event(
    incident_id: Any,
    actor_key_id: Any,
    report_id: Any,
    *,
    at: Any = None,
    severity_before: int | None = None,
    severity_after: int | None = None,
) -> dict[str, Any]:
    """A report counted into its incident, with the severity it raised (if it did); a new
    incident's first report raises nothing, so the one-statement write passes neither."""
    raised = severity_before != severity_after
    return event_row(
        incident_id,
        EventKind.report_added,
        actor_key_id,
        at=at,
        report_id=report_id,
        from_severity=severity_before if raised else None,
        to_severity=severity_after if raised else None,
    )


def reply_added_event(incident: WelfareIncident, actor: ApiKey) -> dict[str, Any]:
    """The zoo's representative replied (app/services/replies.py)."""
    return event_row(row_id(incident), EventKind.reply_added, key_id(actor), note="the zoo replied")


def record_events(session: Session, *events: dict[str, Any]) -> None:
    """Writes audit events (rows from `event_row`), in one statement however many: the one
    writer of incident_event. Nothing about an incident changes without an event."""
    if events:
        session.connection().execute(INSERT_EVENTS, list(events))
