"""Incident rules: the state machine every status change goes through, the one writer of the
audit trail, inspector edits with If-Match.

The state machine's table is app/models/incident.py's (INITIAL_STATUS, TRANSITIONS,
REOPENED_STATUS); the functions here are the only code that changes an incident's status:
`change_status` checks a move against the table and records it, `reopen` is the move a report
about a closed incident makes, `path_between` the walk the seed takes. Every IncidentEvent row
is written by incident_events.record_events.
"""

from collections import deque
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlmodel import Session, col, select, union

from app.core.errors import Conflict, DomainError
from app.core.etags import if_match_allows
from app.models import ApiKey, IncidentEvent, WelfareIncident, WelfareReport
from app.models.api_key import Role
from app.models.base import row_id, utcnow
from app.models.enums import Category, EventKind, IncidentStatus
from app.models.incident import (
    OPEN_STATUSES,
    REOPENED_STATUS,
    TRANSITIONS,
    IncidentEventPublic,
    TransitionRequest,
    WelfareIncidentUpdate,
)
from app.services import keyset
from app.services import zoos as zoo_service
from app.services.access import ensure_zoo_scope
from app.services.common import commit, paginate
from app.services.incident_events import event_row, key_id, record_events
from app.services.keyset import KeysetPage
from app.services.search import text_search


class PreconditionFailed(DomainError):
    status = 412
    slug = "precondition-failed"


class IncidentSort(StrEnum):
    """`field` ascending, `-field` descending; ties by id, newest first. `recent` (the
    default) is `-last_observed_at`; `severity` and `-severity` are the most severe first,
    then the most recently observed (there is no least-severe-first: `severity` kept its
    meaning from before sorts were general)."""

    recent = "recent"
    severity = "severity"
    severity_desc = "-severity"
    id = "id"
    id_desc = "-id"
    last_observed_at = "last_observed_at"
    last_observed_at_desc = "-last_observed_at"
    first_observed_at = "first_observed_at"
    first_observed_at_desc = "-first_observed_at"
    report_count = "report_count"
    report_count_desc = "-report_count"
    created_at = "created_at"
    created_at_desc = "-created_at"
    updated_at = "updated_at"
    updated_at_desc = "-updated_at"


# The values kept from before `sort` took any field: what each stands for.
INCIDENT_SORT_ALIASES = {
    IncidentSort.recent: IncidentSort.last_observed_at_desc,
    IncidentSort.severity: IncidentSort.severity_desc,
}
INCIDENT_SORT_COLUMNS = {
    "severity": (WelfareIncident.severity, WelfareIncident.last_observed_at),
    "last_observed_at": WelfareIncident.last_observed_at,
    "first_observed_at": WelfareIncident.first_observed_at,
    "report_count": WelfareIncident.report_count,
    "created_at": WelfareIncident.created_at,
    "updated_at": WelfareIncident.updated_at,
}


# --- the audit trail ---------------------------------------------------------------------

# --- the state machine --------------------------------------------------------------------


def ensure_transition(start: IncidentStatus, target: IncidentStatus) -> None:
    """Raises Conflict (409) unless the table allows moving from `start` to `target`."""
    allowed = TRANSITIONS[start]
    if target not in allowed:
        names = ", ".join(s.value for s in allowed)
        raise Conflict(
            f"An incident that is {start.value} cannot become {target.value}; allowed: {names}."
        )


def change_status(
    session: Session,
    incident: WelfareIncident,
    target: IncidentStatus,
    *,
    actor: ApiKey | None,
    note: str | None,
) -> None:
    """Moves the incident to `target` if the table allows it (else a 409) and records the
    status_changed event. The caller marks the change (touch) and commits."""
    ensure_transition(incident.status, target)
    record_events(
        session,
        event_row(
            row_id(incident),
            EventKind.status_changed,
            key_id(actor),
            from_status=incident.status,
            to_status=target,
            note=note,
        ),
    )
    incident.status = target


def reopen(session: Session, incident: WelfareIncident, *, actor: ApiKey | None) -> bool:
    """A report about a closed incident reopens it for review, by the table's move to
    REOPENED_STATUS; an open incident stays as it is. Returns whether it moved."""
    if incident.status in OPEN_STATUSES:
        return False
    change_status(session, incident, REOPENED_STATUS, actor=actor, note="reopened by a new report")
    return True


def path_between(start: IncidentStatus, target: IncidentStatus) -> list[IncidentStatus]:
    """The statuses a shortest walk along the table from `start` passes to reach `target`
    (empty when they are the same); ValueError when the table has no way there."""
    came_from: dict[IncidentStatus, IncidentStatus | None] = {start: None}
    queue = deque([start])
    while queue:
        status = queue.popleft()
        if status == target:
            steps: list[IncidentStatus] = []
            step: IncidentStatus | None = status
            while step is not None and step != start:
                steps.append(step)
                step = came_from[step]
            return steps[::-1]
        for following in TRANSITIONS[status]:
            if following not in came_from:
                came_from[following] = status
                queue.append(following)
    raise ValueError(f"No walk along the transition table from {start.value} to {target.value}.")


# --- changes ------------------------------------------------------------------------------


def touch(incident: WelfareIncident) -> None:
    """Marks a change: a new version (and so a new ETag) and updated_at. The flush marks the
    concern lists stale (app/concerns/hook.py)."""
    incident.version += 1
    incident.updated_at = utcnow()


def _search_ids(q: str) -> Any:
    """The ids of incidents whose title, or a report's title or description, contains q."""
    # Public report text only: reporter names and contacts are private (and encrypted).
    return union(
        select(WelfareIncident.id).where(text_search(WelfareIncident, q, "title")),
        select(WelfareReport.incident_id).where(
            text_search(WelfareReport, q, "title", "description")
        ),
    )


def list_incidents(
    *,
    session: Session,
    zoo_ref: str | None = None,
    animal_id: int | None = None,
    enclosure_id: int | None = None,
    statuses: list[IncidentStatus] | None = None,
    category: Category | None = None,
    min_severity: int | None = None,
    observed_since: datetime | None = None,
    observed_until: datetime | None = None,
    q: str | None = None,
    updated_since: datetime | None = None,
    sort: IncidentSort = IncidentSort.recent,
    limit: int,
    offset: int = 0,
    after: str | None = None,
    count: bool = False,
) -> KeysetPage[WelfareIncident]:
    """Lists incidents by the given filters, most recently observed first unless sorted: a
    page `offset` rows in, or after the cursor `after` (app/services/keyset.py)."""
    stmt = select(WelfareIncident)
    if zoo_ref is not None:
        stmt = stmt.where(zoo_service.matches_ref(WelfareIncident.zoo_id, zoo_ref))
    if animal_id is not None:
        stmt = stmt.where(WelfareIncident.animal_id == animal_id)
    if enclosure_id is not None:
        stmt = stmt.where(WelfareIncident.enclosure_id == enclosure_id)
    if statuses:
        stmt = stmt.where(col(WelfareIncident.status).in_(statuses))
    if category:
        stmt = stmt.where(WelfareIncident.category == category)
    if min_severity is not None:
        stmt = stmt.where(WelfareIncident.severity >= min_severity)
    # An incident overlaps the window if it was seen in it at any point.
    if observed_since is not None:
        stmt = stmt.where(WelfareIncident.last_observed_at >= observed_since)
    if observed_until is not None:
        stmt = stmt.where(WelfareIncident.first_observed_at <= observed_until)
    if q:
        stmt = stmt.where(col(WelfareIncident.id).in_(_search_ids(q)))
    if updated_since is not None:
        stmt = stmt.where(col(WelfareIncident.updated_at) >= updated_since)
    return keyset.sorted_page(
        session,
        stmt,
        sort=INCIDENT_SORT_ALIASES.get(sort, sort),
        columns=INCIDENT_SORT_COLUMNS,
        id_column=WelfareIncident.id,
        ties_desc=True,
        limit=limit,
        offset=offset,
        cursor=after,
        count=count,
    )


def _check_etag(incident: WelfareIncident, if_match: str | None) -> None:
    if not if_match_allows(if_match, incident.etag):
        raise PreconditionFailed(
            f"The incident has changed (its ETag is now {incident.etag}); reload and retry."
        )


def lock(session: Session, incident_id: int) -> WelfareIncident | None:
    """Loads an incident and locks its row until commit (PostgreSQL; SQLite has one writer)."""
    stmt = (
        select(WelfareIncident)
        .where(WelfareIncident.id == incident_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return session.exec(stmt).first()


def _lock_for_change(
    session: Session, incident: WelfareIncident, actor: ApiKey, if_match: str | None
) -> WelfareIncident:
    """Checks the key's zoo, locks the row and checks If-Match against the locked version."""
    ensure_zoo_scope(actor, incident.zoo_id)
    locked = lock(session, row_id(incident)) or incident
    _check_etag(locked, if_match)
    return locked


def update(
    *,
    session: Session,
    incident: WelfareIncident,
    incident_in: WelfareIncidentUpdate,
    actor: ApiKey,
    if_match: str | None,
) -> WelfareIncident:
    """Sets severity and/or title, honouring If-Match; each change is an event."""
    incident = _lock_for_change(session, incident, actor, if_match)
    changes = incident_in.model_dump(exclude_unset=True, exclude_none=True)
    events: list[dict[str, Any]] = []
    if "severity" in changes and changes["severity"] != incident.severity:
        events.append(
            event_row(
                row_id(incident),
                EventKind.severity_changed,
                key_id(actor),
                from_severity=incident.severity,
                to_severity=changes["severity"],
                note="set by an inspector",
            )
        )
        incident.severity = changes["severity"]
    if "severity" in changes and not incident.severity_set_by_inspector:
        if not events:
            # Pinning the current severity changes what later reports may do: on the record.
            events.append(
                event_row(
                    row_id(incident),
                    EventKind.severity_changed,
                    key_id(actor),
                    from_severity=incident.severity,
                    to_severity=incident.severity,
                    note="kept and pinned by an inspector: new reports no longer raise it",
                )
            )
        incident.severity_set_by_inspector = True
    if "title" in changes and changes["title"] != incident.title:
        events.append(
            event_row(
                row_id(incident),
                EventKind.title_changed,
                key_id(actor),
                note=f"title was: {incident.title}",
            )
        )
        incident.title = changes["title"]
    if events:
        record_events(session, *events)
        touch(incident)
    session.add(incident)
    commit(session)
    return incident


def transition(
    *,
    session: Session,
    incident: WelfareIncident,
    request: TransitionRequest,
    actor: ApiKey,
    if_match: str | None,
) -> WelfareIncident:
    """Moves an incident along the transition table; anything else is a 409."""
    incident = _lock_for_change(session, incident, actor, if_match)
    change_status(session, incident, request.to, actor=actor, note=request.note)
    touch(incident)
    session.add(incident)
    commit(session)
    return incident


def may_see_actor_keys(viewer: ApiKey | None, incident: WelfareIncident) -> bool:
    """Acting keys' ids: admins and inspectors whose keys cover the incident's zoo (a
    zoo-scoped admin only within its zoos). To anyone else an id would link every report one
    reporter key filed, so they see the role only."""
    if viewer is None:
        return False
    return viewer.role.includes(Role.inspector) and viewer.allows_zoo(incident.zoo_id)


def history(
    *,
    session: Session,
    incident: WelfareIncident,
    viewer: ApiKey | None,
    limit: int,
    offset: int,
) -> tuple[list[IncidentEventPublic], int]:
    """The incident's events, oldest first, each with its actor's role (a key's role never
    changes, so the key's role now is its role then)."""
    stmt = (
        select(IncidentEvent, ApiKey.role)
        .outerjoin(ApiKey, col(ApiKey.id) == col(IncidentEvent.actor_key_id))
        .where(IncidentEvent.incident_id == incident.id)
        .order_by(col(IncidentEvent.at), col(IncidentEvent.id))
    )
    rows, total = paginate(session, stmt, limit=limit, offset=offset)
    keys_shown = may_see_actor_keys(viewer, incident)
    events = [
        IncidentEventPublic.model_validate(
            event.model_dump()
            | {
                "actor_role": role,
                "actor_key_id": event.actor_key_id if keys_shown else None,
            }
        )
        for event, role in rows
    ]
    return events, total
