"""The SQL that files a report, built once and bound per report.

On PostgreSQL, a report about a new incident is the whole write - incident, report, its two
events, the subject marked for its stored flags and the concern_version bump - as one
statement of data-modifying CTEs: one round trip instead of four, the guard included. It
writes nothing unless the zoo exists and the animal and enclosure named are in it, and the
reporting key (if any) is not revoked. The one write that invalidates the concern lists
itself (app/concerns/fragment.py): it flushes nothing, so app/concerns/hook.py never sees it.

Elsewhere (SQLite, or a report added to an incident) the incident is written through the ORM,
whose flush the hook sees, after CHECK_SUBJECT, then the report by a plain insert and its
events through incident_events.record_events.

The one-statement form writes its two events in SQL, the one exception to "every event through
record_events": their values come from the same builders (incident_events.created_event and
report_added_event, so the new incident's status is the state machine's INITIAL_STATUS), with
the CTEs' columns and the statement's parameters where the other paths have values.
"""

from typing import Any

from sqlalchemy import (
    Select,
    Text,
    and_,
    bindparam,
    cast,
    exists,
    insert,
    literal,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.sql.elements import BindParameter, ClauseElement

from app.concerns.fragment import invalidating
from app.events import outbox
from app.events.outbox import EventType
from app.models import (
    Animal,
    ApiKey,
    DirtySubject,
    Enclosure,
    Event,
    IncidentEvent,
    WelfareIncident,
    WelfareReport,
    Zoo,
)
from app.models.base import table_of
from app.services import incident_events

INCIDENTS = table_of(WelfareIncident)
REPORTS = table_of(WelfareReport)
EVENTS = table_of(IncidentEvent)
ZOOS = table_of(Zoo)
ANIMALS = table_of(Animal)
ENCLOSURES = table_of(Enclosure)
KEYS = table_of(ApiKey)
DIRTY = table_of(DirtySubject)

INCIDENT_COLUMNS = [c.name for c in INCIDENTS.c if c.name != "id"]
REPORT_COLUMNS = [c.name for c in REPORTS.c if c.name != "id"]
EVENT_COLUMNS = [c.name for c in EVENTS.c if c.name != "id"]
FEED = table_of(Event)
FEED_COLUMNS = ["type", "occurred_at", "zoo_id", "subject_type", "subject_id", "data"]
# The JSON before each leading id of an event's data: {"id":N} and {"id":N,"incident_id":M}.
DATA_PARTS = {1: ['{"id":'], 2: ['{"id":', ',"incident_id":']}


def _params(table: Any, names: list[str]) -> dict[str, BindParameter[Any]]:
    # Same name, same parameter: the report reuses the incident's zoo_id, title and so on.
    # Prefixed, because SQLAlchemy turns execute() keys that match a column of an UPDATE -
    # even one nested in a CTE, like the zoo bump - into SET clauses (zoo.created_at!).
    return {name: bindparam(f"v_{name}", type_=table.c[name].type) for name in names}


def bind(values: dict[str, Any]) -> dict[str, Any]:
    """Column values as this module's statements name their parameters."""
    return {f"v_{name}": value for name, value in values.items()}


def _subject_in_zoo(zoo: Any, animal: Any, enclosure: Any) -> Any:
    return and_(
        exists().where(ZOOS.c.id == zoo),
        or_(animal.is_(None), exists().where(ANIMALS.c.id == animal, ANIMALS.c.zoo_id == zoo)),
        or_(
            enclosure.is_(None),
            exists().where(ENCLOSURES.c.id == enclosure, ENCLOSURES.c.zoo_id == zoo),
        ),
    )


def _key_live(key: Any) -> Any:
    # Checked where the write happens, so a key revoked a moment ago writes nothing even when
    # the caller took the key from api_keys.KeyCache instead of reading it.
    return or_(key.is_(None), exists().where(KEYS.c.id == key, KEYS.c.revoked_at.is_(None)))


def _incident_insert() -> Any:
    # The guarded INSERT ... SELECT of the incident: inside PostgreSQL's one statement only.
    # Everywhere else the incident is written through the ORM, so the write hook sees it.
    bound = _params(INCIDENTS, INCIDENT_COLUMNS)
    key = bindparam("v_api_key_id", type_=KEYS.c.id.type)
    guard = and_(
        _subject_in_zoo(bound["zoo_id"], bound["animal_id"], bound["enclosure_id"]),
        _key_live(key),
    )
    chosen = select(*(bound[name] for name in INCIDENT_COLUMNS)).where(guard)
    return insert(INCIDENTS).from_select(INCIDENT_COLUMNS, chosen)


def _check_subject() -> Select[Any]:
    def probe(table: Any, column: str, key: str, *more: Any) -> Any:
        named = bindparam(key, type_=table.c.id.type)
        return select(table.c[column]).where(table.c.id == named, *more).scalar_subquery()

    return select(
        probe(ZOOS, "id", "zoo_id"),
        probe(ANIMALS, "zoo_id", "animal_id"),
        probe(ENCLOSURES, "zoo_id", "enclosure_id"),
        probe(KEYS, "id", "api_key_id", KEYS.c.revoked_at.is_(None)),
    )


# Any database: the zoo's id, the animal's and the enclosure's zoos (NULL when missing), and
# the key's id when it is live: what services/reports.py checks before it writes.
CHECK_SUBJECT = _check_subject()
INSERT_REPORT = insert(REPORTS).returning(REPORTS.c.id)


def _event_column(name: str, value: Any) -> Any:
    # SQL as it is; NULLs typed (a UNION needs their types); a builder's constants bound.
    if isinstance(value, ClauseElement):
        return value
    column_type = EVENTS.c[name].type
    return cast(null(), column_type) if value is None else literal(value, type_=column_type)


def _event_row(source: Any, event: dict[str, Any]) -> Select[Any]:
    """One event row, built by incidents' builder, selected from a CTE."""
    if set(event) != set(EVENT_COLUMNS):  # a column the builder does not know of
        raise RuntimeError(f"incident_event has {EVENT_COLUMNS}; the builder gave {list(event)}")
    return select(*(_event_column(name, event[name]) for name in EVENT_COLUMNS)).select_from(source)


def _one_statement() -> Select[Any]:
    incident = (
        _incident_insert()
        .returning(
            INCIDENTS.c.id, INCIDENTS.c.zoo_id, INCIDENTS.c.animal_id, INCIDENTS.c.enclosure_id
        )
        .cte("incident")
    )
    bound = _params(REPORTS, REPORT_COLUMNS)
    report_row = select(
        *(incident.c.id if name == "incident_id" else bound[name] for name in REPORT_COLUMNS)
    ).select_from(incident)
    report = (
        insert(REPORTS)
        .from_select(REPORT_COLUMNS, report_row)
        .returning(REPORTS.c.id, REPORTS.c.incident_id)
        .cte("report")
    )
    at = bindparam("v_event_at", type_=EVENTS.c.at.type)
    key = bindparam("v_api_key_id", type_=EVENTS.c.actor_key_id.type)
    severity = bindparam("v_severity", type_=EVENTS.c.to_severity.type)
    created = _event_row(
        incident, incident_events.created_event(incident.c.id, key, severity, at=at)
    )
    # A new incident's first report raises no severity: no severities before and after.
    added = _event_row(
        report, incident_events.report_added_event(report.c.incident_id, key, report.c.id, at=at)
    )
    events = insert(EVENTS).from_select(EVENT_COLUMNS, union_all(created, added)).cte("events")
    # The feed's events, as app/events/hook.py and reports.file_report write them elsewhere:
    # their data is the public JSON rendered beforehand, the new ids put in here.
    opened = _feed_row(
        EventType.incident_opened, incident, incident.c.id, [incident.c.id], "ev_incident_rest"
    )
    filed = _feed_row(
        EventType.report_filed,
        report,
        report.c.id,
        [report.c.id, report.c.incident_id],
        "ev_report_rest",
        subject_type="report",
    )
    feed = insert(FEED).from_select(FEED_COLUMNS, union_all(opened, filed)).cte("feed")
    # The concern lists' invalidation, as the write hook makes it for the ORM's writes.
    bump, dirty = invalidating(incident)
    # PostgreSQL runs every data-modifying CTE once, whether the final SELECT reads it or not.
    return select(report.c.incident_id, report.c.id).add_cte(events, feed, dirty, bump)


def _feed_row(
    type_: EventType,
    source: Any,
    subject_id: Any,
    ids: list[Any],
    rest: str,
    *,
    subject_type: str = "incident",
) -> Select[Any]:
    """One feed event selected from a CTE: its data the leading ids' parts (DATA_PARTS)
    joined with the new ids, then the rest of the JSON, a parameter."""
    data: Any = None
    for part, column in zip(DATA_PARTS[len(ids)], ids, strict=True):
        piece = literal(part, type_=Text) + cast(column, Text)
        data = piece if data is None else data + piece
    data = data + bindparam(rest, type_=Text)
    values = outbox.row(
        type_,
        zoo_id=bindparam("v_zoo_id", type_=FEED.c.zoo_id.type),
        subject_type=subject_type,
        subject_id=subject_id,
        data=data,
        at=bindparam("v_event_at", type_=FEED.c.occurred_at.type),
    )
    columns: list[Any] = [
        v if isinstance(v, ClauseElement) else literal(v, type_=FEED.c[k].type)
        for k, v in ((k, values[k]) for k in FEED_COLUMNS)
    ]
    return select(*columns).select_from(source)


FILE_NEW_INCIDENT_PG = _one_statement()
