"""The incident state machine (app/services/incidents.py): every allowed and forbidden move,
and every path that changes a status going through it - the API's transitions, a report
reopening a closed incident, a submission accepted into one, the seed - and the one writer of
the audit trail."""

import ast
import itertools
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.dialects import postgresql
from sqlmodel import Session, col, select

from app.core import migrations
from app.core.config import Settings
from app.core.db import make_engine
from app.core.errors import Conflict
from app.models import ApiKey, IncidentEvent, WelfareIncident
from app.models.api_key import Role
from app.models.enums import Category, EventKind, IncidentStatus
from app.models.incident import INITIAL_STATUS, OPEN_STATUSES, REOPENED_STATUS, TRANSITIONS
from app.models.report import WelfareReportCreate
from app.models.submission import SubmissionAccept, SubmissionCreate
from app.seed.loader import load_seed
from app.services import api_keys as api_key_service
from app.services import incidents as incident_service
from app.services import reports as report_service
from app.services import submissions as submission_service
from app.services.report_writes import FILE_NEW_INCIDENT_PG
from tests.dbutil import create_database, drop_database
from tests.factories import make_key, make_zoo

S = IncidentStatus
# Written out again, not read from TRANSITIONS: the design the table must match.
ALLOWED = {
    S.reported: {S.under_review, S.confirmed, S.dismissed},
    S.under_review: {S.confirmed, S.dismissed},
    S.confirmed: {S.resolved},
    S.resolved: {S.under_review},
    S.dismissed: {S.under_review},
}
CLOSED = [s for s in S if s not in OPEN_STATUSES]
PAIRS = list(itertools.product(S, S))
APP = Path(__file__).resolve().parents[2] / "app"


def _key(session: Session, role: Role = Role.inspector) -> ApiKey:
    token = make_key(session, role)
    return api_key_service.authenticate(session=session, token=token, uses=None)


def _report_in(zoo_id: int, incident_id: int | None = None, severity: int = 3) -> Any:
    return WelfareReportCreate(
        zoo_id=zoo_id,
        incident_id=incident_id,
        category=Category.health,
        severity=severity,
        title="Limping gibbon",
        observed_at=datetime(2024, 11, 20, 10, tzinfo=UTC),
    )


def _incident(session: Session, status: IncidentStatus) -> WelfareIncident:
    """An incident filed by a report, then set to `status` directly (the setup, not a move)."""
    report = report_service.file_report(session, _report_in(row_id(make_zoo(session))), None)
    incident = session.get(WelfareIncident, report.incident_id, populate_existing=True)
    assert incident is not None
    incident.status = status
    session.add(incident)
    session.commit()
    return incident


def row_id(row: Any) -> int:
    assert row.id is not None
    return int(row.id)


def _events(session: Session, incident: WelfareIncident, kind: EventKind) -> list[IncidentEvent]:
    stmt = (
        select(IncidentEvent)
        .where(IncidentEvent.incident_id == incident.id, IncidentEvent.kind == kind)
        .order_by(col(IncidentEvent.id))
    )
    return list(session.exec(stmt).all())


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> list[tuple[IncidentStatus, IncidentStatus]]:
    """Every change_status call, as (from, to), still doing what it does."""
    calls: list[tuple[IncidentStatus, IncidentStatus]] = []
    real = incident_service.change_status

    def change_status(
        session: Session, incident: WelfareIncident, target: IncidentStatus, **kw: Any
    ) -> None:
        calls.append((incident.status, target))
        real(session, incident, target, **kw)

    monkeypatch.setattr(incident_service, "change_status", change_status)
    return calls


def test_the_table_is_the_design() -> None:
    assert {k: set(v) for k, v in TRANSITIONS.items()} == ALLOWED
    assert INITIAL_STATUS is S.reported
    # Each closed status reopens along the table; the open ones are not reopened.
    assert [s for s in S if s not in OPEN_STATUSES] == [S.resolved, S.dismissed]
    assert all(REOPENED_STATUS in TRANSITIONS[s] for s in CLOSED)


@pytest.mark.parametrize(("start", "target"), PAIRS, ids=[f"{a}-{b}" for a, b in PAIRS])
def test_every_move(session: Session, start: IncidentStatus, target: IncidentStatus) -> None:
    incident = _incident(session, start)
    actor = _key(session)
    if target in ALLOWED[start]:
        incident_service.change_status(session, incident, target, actor=actor, note="why")
        session.commit()
        assert incident.status is target
        (event,) = _events(session, incident, EventKind.status_changed)
        assert (event.from_status, event.to_status) == (start, target)
        assert (event.actor_key_id, event.note) == (actor.id, "why")
        return
    with pytest.raises(Conflict) as refused:
        incident_service.change_status(session, incident, target, actor=actor, note="why")
    names = ", ".join(s.value for s in TRANSITIONS[start])
    assert refused.value.detail == (
        f"An incident that is {start.value} cannot become {target.value}; allowed: {names}."
    )
    assert incident.status is start
    assert _events(session, incident, EventKind.status_changed) == []


@pytest.mark.parametrize(("start", "target"), PAIRS, ids=[f"{a}-{b}" for a, b in PAIRS])
def test_path_between_walks_the_table(start: IncidentStatus, target: IncidentStatus) -> None:
    reachable = _reachable(start)
    if target not in reachable:
        with pytest.raises(ValueError):
            incident_service.path_between(start, target)
        return
    steps = incident_service.path_between(start, target)
    assert len(steps) == reachable[target]
    for before, after in zip([start, *steps], steps, strict=False):
        assert after in ALLOWED[before]
    assert (steps[-1] if steps else start) is target


def _reachable(start: IncidentStatus) -> dict[IncidentStatus, int]:
    """Each status reachable from `start`, with the fewest moves there (from ALLOWED)."""
    found, frontier, moves = {start: 0}, {start}, 0
    while frontier:
        moves += 1
        frontier = {t for s in frontier for t in ALLOWED[s] if t not in found}
        found |= dict.fromkeys(frontier, moves)
    return found


@pytest.mark.parametrize("status", list(S))
def test_a_report_reopens_through_the_state_machine(
    session: Session, spy: list[tuple[IncidentStatus, IncidentStatus]], status: IncidentStatus
) -> None:
    incident = _incident(session, status)
    reporter = _key(session, Role.reporter)
    report_service.file_report(session, _report_in(incident.zoo_id, row_id(incident)), reporter)
    session.commit()
    session.refresh(incident)
    if status in OPEN_STATUSES:
        assert spy == []
        assert incident.status is status
        return
    assert spy == [(status, REOPENED_STATUS)]
    assert incident.status is REOPENED_STATUS
    (event,) = _events(session, incident, EventKind.status_changed)
    assert (event.from_status, event.to_status) == (status, REOPENED_STATUS)
    assert event.actor_key_id == reporter.id
    # The reopening comes before the report that caused it in the audit trail.
    added = _events(session, incident, EventKind.report_added)[-1]
    assert (event.at, event.id) < (added.at, added.id)


@pytest.mark.parametrize("status", CLOSED)
def test_an_accepted_submission_reopens_through_the_state_machine(
    session: Session, spy: list[tuple[IncidentStatus, IncidentStatus]], status: IncidentStatus
) -> None:
    incident = _incident(session, status)
    submission, _ = submission_service.create(
        session=session,
        submission_in=SubmissionCreate(
            zoo_id=incident.zoo_id,
            category=Category.health,
            title="Still limping",
            observed_at=datetime(2024, 11, 21, 10, tzinfo=UTC),
        ),
    )
    submission_service.accept(
        session=session,
        submission_id=row_id(submission),
        accept_in=SubmissionAccept(incident_id=row_id(incident), severity=2),
        actor=_key(session),
    )
    assert spy == [(status, REOPENED_STATUS)]
    session.refresh(incident)
    assert incident.status is REOPENED_STATUS


def test_a_new_incident_starts_at_the_initial_status(session: Session) -> None:
    report = report_service.file_report(session, _report_in(row_id(make_zoo(session))), None)
    session.commit()
    incident = session.get(WelfareIncident, report.incident_id)
    assert incident is not None and incident.status is INITIAL_STATUS
    (created,) = _events(session, incident, EventKind.created)
    assert (created.to_status, created.to_severity) == (INITIAL_STATUS, 3)


def test_the_one_statement_write_takes_its_events_from_the_builders() -> None:
    # Its constants are the builders' (bound once, when the statement was built).
    constants = set(FILE_NEW_INCIDENT_PG.compile(dialect=postgresql.dialect()).params.values())
    assert {EventKind.created, EventKind.report_added, INITIAL_STATUS} <= constants


@pytest.fixture
def seed_engine() -> Iterator[Engine]:
    url = create_database("seed-walk")
    migrations.upgrade(url)
    engine = make_engine(Settings(database_url=url))
    yield engine
    engine.dispose()
    drop_database(url)


def test_the_seed_walks_the_state_machine(
    seed_engine: Engine, spy: list[tuple[IncidentStatus, IncidentStatus]]
) -> None:
    assert load_seed(seed_engine)["incidents"] == 1
    # facts.json's incident is confirmed: one move from reported, with the seed's note.
    assert spy == [(S.reported, S.confirmed)]
    with Session(seed_engine) as session:
        (incident,) = session.exec(select(WelfareIncident)).all()
        assert (incident.status, incident.version) == (S.confirmed, 2)
        (event,) = _events(session, incident, EventKind.status_changed)
        assert (event.from_status, event.to_status, event.actor_key_id) == (
            S.reported,
            S.confirmed,
            None,
        )
        assert event.note and "Associated Press" in event.note


def _names_outside(allowed: set[str], *, attribute_of: str | None, name: str) -> list[str]:
    """Where app/ uses `attribute_of.<any>` (or the bare `name`) outside the allowed files."""
    found = []
    for path in sorted(APP.rglob("*.py")):
        relative = path.relative_to(APP.parent).as_posix()
        if relative in allowed:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if attribute_of is not None and (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == attribute_of
            ):
                found.append(f"{relative}:{node.lineno}")
            if attribute_of is None and isinstance(node, ast.Name) and node.id == name:
                found.append(f"{relative}:{node.lineno}")
    return found


def test_events_and_moves_are_the_state_machines_alone() -> None:
    # Event kinds are named where events are built (and declared), nowhere else.
    assert (
        _names_outside(
            {
                "app/services/incidents.py",
                "app/services/incident_events.py",
                "app/models/enums.py",
                "app/models/incident.py",
            },
            attribute_of="EventKind",
            name="",
        )
        == []
    )
    # Nothing builds event rows of its own, nor reads the table but the state machine.
    for name in ("IncidentEvent", "TRANSITIONS", "REOPENED_STATUS"):
        writer = {"app/services/incident_events.py"} if name == "IncidentEvent" else set()
        assert (
            _names_outside(
                writer
                | {
                    "app/services/incidents.py",
                    "app/models/incident.py",
                    "app/models/__init__.py",
                    "app/services/report_writes.py",  # the table object for its SQL, no rows
                    "app/exports/resources.py",  # read for the open-data export, no rows
                },
                attribute_of=None,
                name=name,
            )
            == []
        ), name


def test_only_the_state_machine_sets_a_status() -> None:
    setters = [
        f"{path.relative_to(APP.parent).as_posix()}:{node.lineno}"
        for path in sorted(APP.rglob("*.py"))
        # The webhooks' own statuses (app/webhooks/) are not an incident's.
        if path.relative_to(APP.parent).as_posix() != "app/services/incidents.py"
        and not path.relative_to(APP.parent).as_posix().startswith("app/webhooks/")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign)
        for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
        if isinstance(target, ast.Attribute) and target.attr == "status"
    ]
    assert setters == []
