"""A page of a concern list is ranked in SQL from the stored flags (store.page); the whole list
is evaluated from the incidents and ranked in Python (build_items). Every page must be the whole
list's slice, with the whole list's total, under every filter: on a scene where many subjects
tie on score and worst severity."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event
from sqlmodel import Session

from app.concerns.lists import Filters, zoo_concerns_page
from app.concerns.rules import RULES
from app.core.config import Settings
from app.models import Animal, WelfareIncident, Zoo
from app.models.enums import Category, IncidentStatus
from tests.factories import make_enclosure, make_gift, make_species, make_zoo
from tests.welfare.test_query_count import UPDATE

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def scene(session: Session) -> Zoo:
    """Ties everywhere: rows of identical animals, each rule raised for several subjects,
    plus a few incidents that lift some animals (and an enclosure) out of their tie. A
    second zoo with the same kind of flags must never leak into the first one's pages."""
    zoo = make_zoo(session)
    other = make_zoo(session)
    gift = make_gift(session)  # no CITES permit reference: undocumented_trade
    group = make_species(
        session, social_structure="group", min_group_size=5, climate_zones=["tropical"]
    )
    listed = make_species(session, cites_appendix="II", min_area_m2=40)
    plain = make_species(session)
    pens = [
        make_enclosure(session, zoo, capacity=2, area_m2=50, last_inspected_on=None),
        make_enclosure(session, zoo, climate="temperate", last_inspected_on=NOW.date()),
        make_enclosure(session, zoo, last_inspected_on=NOW.date() - timedelta(days=400)),
        make_enclosure(session, other, capacity=1, last_inspected_on=None),
    ]
    animals = [
        Animal(
            zoo_id=pen.zoo_id,
            species_id=species.id,
            enclosure_id=pen.id,
            identifier=f"A-{n}",
            origin="purchase" if species is listed else "captive_born",
            gift_id=gift.id if species is listed else None,
        )
        for n, (species, pen) in enumerate(
            (s, p) for p in pens for s in (group, listed, plain, group, listed)
        )
    ]
    session.add_all(animals)
    session.commit()
    observed = NOW - timedelta(days=2)
    for n, (animal, severity, status, category) in enumerate(
        [
            (animals[0], 5, IncidentStatus.confirmed, Category.health),
            (animals[1], 4, IncidentStatus.reported, Category.human_interaction),
            (animals[2], 2, IncidentStatus.confirmed, Category.nutrition),
            (animals[2], 3, IncidentStatus.resolved, Category.nutrition),
            (animals[2], 1, IncidentStatus.reported, Category.nutrition),
            (animals[3], 4, IncidentStatus.under_review, Category.health),
            (animals[6], 4, IncidentStatus.reported, Category.health),
            # 4 + 1: the score of a 3 + 2 animal, with a worse worst severity
            (animals[7], 4, IncidentStatus.reported, Category.health),
            (animals[7], 1, IncidentStatus.confirmed, Category.health),
            (animals[12], 3, IncidentStatus.confirmed, Category.health),
            (animals[16], 5, IncidentStatus.confirmed, Category.health),  # the other zoo's
            (None, 5, IncidentStatus.confirmed, Category.environment),
        ]
    ):
        session.add(
            WelfareIncident(
                zoo_id=zoo.id if animal is None else animal.zoo_id,
                animal_id=animal.id if animal else None,
                enclosure_id=pens[1].id if animal is None else animal.enclosure_id,
                category=category,
                severity=severity,
                status=status,
                title=f"Incident {n}",
                first_observed_at=observed,
                last_observed_at=observed,
                report_count=1,
            )
        )
    session.commit()
    return zoo


# Read from the stored subjects: no filter, one kind, or every rule named; the rest are
# ranked from the stored flags.
FILTERS: list[dict[str, Any]] = [
    {},
    {"subject_type": "animal"},
    {"rule_ids": tuple(sorted({r.id for r in RULES}))},
    {"min_severity": 3},
    {"min_severity": 4},
    {"min_severity": 5},
    {"rule_ids": ("overcrowded",)},
    {"rule_ids": ("severe_open_incident", "repeated_incidents")},
    {"rule_ids": ("social_isolation", "inspection_overdue"), "min_severity": 2},
    {"subject_type": "enclosure"},
    {"subject_type": "animal", "min_severity": 3},
    {"rule_ids": ("inspection_overdue",), "subject_type": "animal"},  # selects no rule
]


@pytest.mark.parametrize("filters", FILTERS, ids=repr)
def test_every_page_is_the_whole_lists_slice(
    session: Session, settings: Settings, scene: Zoo, filters: dict[str, Any]
) -> None:
    def page(offset: int, limit: int | None) -> tuple[list[Any], int]:
        items, total = zoo_concerns_page(
            session=session,
            settings=settings,
            zoo=scene,
            now=NOW,
            offset=offset,
            limit=limit,
            filters=Filters(**filters),
        )
        return [i.model_dump() for i in items], total

    whole, size = page(0, None)
    assert size == len(whole)
    if not filters:  # the scene is what it claims: many subjects, and ties among them
        assert size > 10
        keys = [(i["score"], i["max_severity"]) for i in whole]
        assert len(set(keys)) < len(keys)
        assert len({(s, w) for s, w in keys if s == 5}) == 2  # ties on score, not on worst
    for limit in (1, 2, 3, 7, 50):
        for offset in range(0, size + 3, max(1, limit // 2)):
            assert page(offset, limit) == (whole[offset : offset + limit], size), (offset, limit)


def test_a_page_costs_a_fixed_number_of_statements(
    session: Session, settings: Settings, scene: Zoo, engine: Engine
) -> None:
    """Reading a page: the stored flags' state, then ranking and the page's flags (stored
    explained) in one statement. Bringing stale flags up to date first costs a fixed number
    more, whatever the zoo's size: see test_query_count.UPDATE."""
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
            statements.append(statement)

    def read() -> int:
        statements.clear()
        event.listen(engine, "before_cursor_execute", count)
        try:
            items, _ = zoo_concerns_page(
                session=session, settings=settings, zoo=scene, now=NOW, offset=0, limit=50
            )
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert {i.subject_type for i in items} == {"animal", "enclosure"}
        return len(statements)

    assert read() <= 1 + UPDATE + 1, statements  # evaluated in full
    assert read() == 1 + 1, statements  # as stored
