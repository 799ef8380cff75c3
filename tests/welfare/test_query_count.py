"""The concern lists cost a fixed number of SQL statements, however big the zoo: the rules run
set-based in the database, not once per animal or enclosure."""

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event
from sqlmodel import Session, func, select

from app.concerns.lists import stored_animal, zoo_concerns
from app.concerns.rules import GROUPS
from app.core.config import Settings
from app.models import Animal, WelfareIncident, Zoo
from app.models.enums import Category, IncidentStatus
from tests.factories import make_enclosure, make_gift, make_species, make_zoo

# Statements per call, whatever the zoo's size (the test session's SAVEPOINTs not counted):
# the zoo's concern version, one aggregate query per rule group, and the three lookups that
# name what was flagged (incident titles, animals, enclosures).
SERVICE_BOUND = 1 + len(GROUPS) + 3 + 1  # + the incidents' evidence
HTTP_BOUND = SERVICE_BOUND + 1  # + loading the zoo from the path
# Bringing a zoo's stored flags up to date: lock, state, the rule groups, naming what they
# flagged, dropping the old flags and subjects, storing the new, clearing the marks, a new
# state (2 rows); the flags it replaces, the changes, the totals, the state's totals and
# today's snapshot (app/concerns/history.py), and the feed's events of the changes.
UPDATE = 2 + len(GROUPS) + 3 + 1 + 2 + 2 + 1 + 2 + 5 + 1  # naming: + evidence, + feed events
# A page over HTTP: the zoo's concern version, the state of its stored flags, the update when
# they are stale, and the page (stored subjects ranked, or the flags ranked when filtered).
PAGE_BOUND = 1 + 1 + UPDATE + 1
HARNESS = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")


class StatementCounter:
    """Counts the statements sent to the database while it is switched on (leaving out the
    SAVEPOINTs the rolled-back test session wraps around its commits)."""

    def __init__(self) -> None:
        self.statements: list[str] = []
        self.on = False

    def __call__(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if self.on and not statement.lstrip().upper().startswith(HARNESS):
            self.statements.append(statement)

    def count(self, action: Any) -> int:
        self.statements = []
        self.on = True
        try:
            action()
        finally:
            self.on = False
        return len(self.statements)


@pytest.fixture
def counter(engine: Engine) -> Iterator[StatementCounter]:
    counter = StatementCounter()
    event.listen(engine, "before_cursor_execute", counter)
    try:
        yield counter
    finally:
        event.remove(engine, "before_cursor_execute", counter)


def build_zoo(session: Session, animals: int) -> Zoo:
    """A zoo with several enclosures and species, where most rules fire, holding `animals`
    animal rows (inserted in one go)."""
    zoo = make_zoo(session)
    gift = make_gift(session)  # no CITES permit reference
    species = [
        make_species(
            session,
            social_structure="group",
            min_group_size=2_000,
            min_area_m2=50,
            climate_zones=["tropical"],
            cites_appendix="II",
        ),
        make_species(session, cites_appendix="I", climate_zones=["cold"]),
        make_species(session, min_area_m2=5),
    ]
    today = date.today()
    enclosures = [
        make_enclosure(session, zoo, capacity=1, area_m2=10, last_inspected_on=None),
        make_enclosure(session, zoo, climate="temperate", last_inspected_on=today),
        make_enclosure(session, zoo, climate="controlled", last_inspected_on=today),
        make_enclosure(session, zoo, climate="arid", last_inspected_on=today),
        make_enclosure(session, zoo, capacity=5, last_inspected_on=date(2001, 1, 1)),
    ]
    session.add_all(
        [
            Animal(
                zoo_id=zoo.id,
                species_id=species[n % len(species)].id,
                enclosure_id=enclosures[n % len(enclosures)].id,
                identifier=f"A-{n}",
                origin="diplomatic_gift",
                gift_id=gift.id,
            )
            for n in range(animals)
        ]
    )
    session.commit()
    first = session.get(Animal, _first_animal_id(session, zoo))
    assert first is not None
    observed = datetime.now(UTC) - timedelta(days=3)
    for n in range(4):
        session.add(
            WelfareIncident(
                zoo_id=zoo.id,
                animal_id=first.id if n < 3 else None,
                enclosure_id=enclosures[0].id,
                category=Category.human_interaction,
                severity=5,
                status=IncidentStatus.confirmed,
                title=f"Incident {n}",
                first_observed_at=observed,
                last_observed_at=observed,
                report_count=1,
            )
        )
    session.commit()
    return zoo


def _first_animal_id(session: Session, zoo: Zoo) -> int:
    return session.exec(select(func.min(Animal.id)).where(Animal.zoo_id == zoo.id)).one()


@pytest.fixture
def zoos(session: Session) -> tuple[Zoo, Zoo]:
    return build_zoo(session, 10), build_zoo(session, 1_000)


def test_the_zoos_raise_many_flags(
    session: Session, settings: Settings, zoos: tuple[Zoo, Zoo]
) -> None:
    small, large = zoos
    for zoo, animals in ((small, 10), (large, 1_000)):
        items = zoo_concerns(session=session, settings=settings, zoo=zoo)
        rules = {f.rule for i in items for f in i.flags}
        assert {
            "severe_open_incident",
            "confirmed_incident",
            "repeated_incidents",
            "human_imposed_behaviour",
            "social_isolation",
            "climate_mismatch",
            "undocumented_trade",
            "overcrowded",
            "undersized",
            "inspection_overdue",
        } <= rules
        # every animal is CITES-listed or group-living and alone: every animal is flagged
        flagged = [i for i in items if i.subject_type == "animal"]
        assert len(flagged) >= animals * 2 // 3


def test_the_service_issues_a_bounded_number_of_statements(
    session: Session, settings: Settings, counter: StatementCounter, zoos: tuple[Zoo, Zoo]
) -> None:
    counts = []
    for zoo in zoos:
        session.commit()
        counts.append(
            counter.count(lambda zoo=zoo: zoo_concerns(session=session, settings=settings, zoo=zoo))
        )
    small, large = counts
    assert small == large, counter.statements
    assert 1 <= large <= SERVICE_BOUND, counter.statements


def test_the_endpoint_issues_a_bounded_number_of_statements(
    anon_client: TestClient, session: Session, counter: StatementCounter, zoos: tuple[Zoo, Zoo]
) -> None:
    counts = []
    for zoo in zoos:
        for ref in (zoo.id, zoo.slug):
            session.commit()

            def call(ref: Any = ref) -> None:
                response = anon_client.get(f"/api/v1/zoos/{ref}/concerns", params={"limit": 500})
                assert response.status_code == 200, response.text
                assert len(response.json()["items"]) > 1

            counts.append(counter.count(call))
    # by id (the first read), then by slug (a repeat read, which may be served from a cache):
    # each costs the same in both zoos
    assert counts[0] == counts[2], counts
    assert counts[1] == counts[3], counts
    assert max(counts) <= PAGE_BOUND, counts


def test_the_csv_issues_a_bounded_number_of_statements(
    anon_client: TestClient, session: Session, counter: StatementCounter, zoos: tuple[Zoo, Zoo]
) -> None:
    counts = []
    for zoo in zoos:
        session.commit()

        def call(zoo: Zoo = zoo) -> None:
            response = anon_client.get(
                f"/api/v1/zoos/{zoo.id}/concerns", params={"format": "csv", "limit": 500}
            )
            assert response.status_code == 200, response.text

        counts.append(counter.count(call))
    assert counts[0] == counts[1] <= PAGE_BOUND, counts  # with a limit: a page


def test_one_animals_concerns_issue_a_bounded_number_of_statements(
    session: Session, settings: Settings, counter: StatementCounter, zoos: tuple[Zoo, Zoo]
) -> None:
    counts = []
    for zoo in zoos:
        animal = session.get(Animal, _first_animal_id(session, zoo))
        assert animal is not None
        session.commit()
        item = None

        def call(animal: Animal = animal) -> None:
            nonlocal item
            item = stored_animal(session=session, settings=settings, animal=animal, writer=None)

        call()  # the zoo's first read evaluates it into its stored flags
        counts.append(counter.count(call))
        assert item is not None and item.subject_id == animal.id
    # Then a read from the stored flags: the zoo's state and the subject's row.
    assert counts[0] == counts[1] <= 3, counts


def test_the_ranking_issues_a_bounded_number_of_statements(
    anon_client: TestClient, session: Session, counter: StatementCounter
) -> None:
    """Read from the zoos' stored totals: a fixed number of statements however many zoos,
    once the zoos written to are up to date (the worker's job; the first call after a write
    brings them up to date itself, UPDATE statements each)."""
    counts = []
    for zoo_count in (1, 20):
        for _ in range(zoo_count):
            zoo = make_zoo(session)
            make_enclosure(session, zoo, last_inspected_on=None)
        session.commit()

        def call() -> None:
            response = anon_client.get("/api/v1/concerns", params={"limit": 500})
            assert response.status_code == 200, response.text
            assert response.json()["total"] >= 1

        assert counter.count(call) <= 3 + zoo_count * UPDATE + 1
        counts.append(counter.count(call))
    assert counts[0] == counts[1] <= 3, counts  # stale zoos, the count, the page
