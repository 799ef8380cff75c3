"""The stored flags a page is read from stay exact: after every kind of write, a zoo's pages
(store.page, from the stored flags) are the list evaluated from scratch (engine.evaluate).
A report or an incident change marks only its subject; other writes drop the zoo's state."""

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func
from sqlmodel import Session, select

from app.concerns.lists import Filters, zoo_concerns, zoo_concerns_page
from app.concerns.schemas import ConcernItem
from app.core.config import Settings
from app.models import (
    DirtySubject,
    FlagsState,
    StoredFlag,
    StoredSubject,
    WelfareIncident,
    Zoo,
)
from app.models.enums import Category, IncidentStatus, Origin
from app.models.page import Page
from tests.factories import make_animal, make_enclosure, make_gift, make_species, make_zoo

World = dict[str, Any]


@pytest.fixture
def world(session: Session) -> World:
    """A zoo where most rules can be raised or cleared by one write, and a second zoo that
    must never be touched by the first one's writes."""
    zoo, other = make_zoo(session), make_zoo(session)
    today = datetime.now(UTC).date()
    group = make_species(
        session, social_structure="group", min_group_size=2, climate_zones=["temperate"]
    )
    listed = make_species(session, cites_appendix="II")
    gift = make_gift(session)
    pen = make_enclosure(session, zoo, capacity=3, climate="temperate", last_inspected_on=today)
    spare = make_enclosure(session, zoo, capacity=3, climate="tropical", last_inspected_on=today)
    lone = make_animal(session, zoo, group, enclosure_id=pen.id)
    traded = make_animal(
        session, zoo, listed, enclosure_id=pen.id, origin=Origin.diplomatic_gift, gift_id=gift.id
    )
    kin = make_species(session, social_structure="group", min_group_size=2)
    make_animal(session, other, kin, enclosure_id=make_enclosure(session, other).id)
    return {
        "zoo": zoo,
        "other": other,
        "group": group,
        "gift": gift,
        "pen": pen,
        "spare": spare,
        "lone": lone,
        "traded": traded,
    }


def stored(
    session: Session, settings: Settings, zoo: Zoo, now: datetime | None = None, **filters: Any
) -> list[ConcernItem]:
    items, total = zoo_concerns_page(
        session=session,
        settings=settings,
        zoo=zoo,
        now=now,
        offset=0,
        limit=1000,
        filters=Filters(**filters),
    )
    assert total == len(items)
    return items


def check(session: Session, settings: Settings, world: World) -> list[ConcernItem]:
    """The stored list of each zoo is the list evaluated from scratch, under filters too."""
    for zoo in (world["zoo"], world["other"]):
        session.refresh(zoo)
        assert stored(session, settings, zoo) == zoo_concerns(
            session=session, settings=settings, zoo=zoo
        )
        # Unfiltered and by kind: read from the stored subjects; the rest from stored flags.
        for filters in (
            {"min_severity": 1},
            {"min_severity": 3},
            {"subject_type": "enclosure"},
            {"subject_type": "animal"},
            {"rule_ids": ["social_isolation", "undocumented_trade"]},
        ):
            assert stored(session, settings, zoo, **filters) == zoo_concerns(
                session=session, settings=settings, zoo=zoo, filters=Filters(**filters)
            )
    return stored(session, settings, world["zoo"])


def rules_of(items: list[ConcernItem], kind: str, subject_id: int) -> set[str]:
    subject = (kind, subject_id)
    return {f.rule for i in items if (i.subject_type, i.subject_id) == subject for f in i.flags}


def count(session: Session, model: Any, zoo: Zoo) -> int:
    return session.exec(select(func.count()).select_from(model).where(model.zoo_id == zoo.id)).one()


def report(client: TestClient, world: World, **fields: Any) -> dict[str, Any]:
    body = {
        "zoo_id": world["zoo"].id,
        "category": "health",
        "severity": 5,
        "title": "Seen limping",
        "observed_at": (datetime.now(UTC) - timedelta(days=1)).isoformat(),
    } | fields
    response = client.post("/api/v1/reports", json=body)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def test_the_first_read_evaluates_the_zoo_in_full(
    session: Session, settings: Settings, world: World
) -> None:
    zoo = world["zoo"]
    assert session.get(FlagsState, zoo.id) is None
    items = check(session, settings, world)
    assert "social_isolation" in rules_of(items, "animal", world["lone"].id)
    assert "undocumented_trade" in rules_of(items, "animal", world["traded"].id)
    state = session.get(FlagsState, zoo.id)
    assert state is not None and state.evaluated_on == datetime.now(UTC).date()
    assert count(session, StoredFlag, zoo) == sum(len(i.flags) for i in items)
    assert count(session, StoredSubject, zoo) == len(items)


def test_a_report_marks_only_its_subject(
    client: TestClient, session: Session, settings: Settings, world: World
) -> None:
    check(session, settings, world)
    report(client, world, animal_id=world["lone"].id)
    report(client, world, animal_id=world["lone"].id, severity=4)  # marked once
    report(client, world, enclosure_id=world["spare"].id, severity=4)
    report(client, world)  # about neither: nothing to mark
    marked = session.exec(
        select(DirtySubject.subject_type, DirtySubject.subject_id).where(
            DirtySubject.zoo_id == world["zoo"].id
        )
    ).all()
    assert sorted(marked) == [("animal", world["lone"].id), ("enclosure", world["spare"].id)]
    assert session.get(FlagsState, world["zoo"].id) is not None  # not evaluated in full again
    items = check(session, settings, world)
    assert {"severe_open_incident"} <= rules_of(items, "animal", world["lone"].id)
    assert "severe_open_incident" in rules_of(items, "enclosure", world["spare"].id)
    assert count(session, DirtySubject, world["zoo"]) == 0


def test_a_report_adding_to_an_incident_marks_the_incidents_subject(
    client: TestClient, session: Session, settings: Settings, world: World
) -> None:
    first = report(client, world, animal_id=world["traded"].id, severity=2)
    check(session, settings, world)
    # The added report names no animal; the incident is still about the traded animal.
    report(client, world, incident_id=first["incident_id"], severity=5)
    items = check(session, settings, world)
    assert "severe_open_incident" in rules_of(items, "animal", world["traded"].id)


@pytest.mark.parametrize("to", ["confirmed", "dismissed"])
def test_a_transition_is_seen_by_the_next_page(
    client: TestClient, session: Session, settings: Settings, world: World, to: str
) -> None:
    incident = report(client, world, animal_id=world["lone"].id, severity=4)["incident_id"]
    before = check(session, settings, world)
    assert "severe_open_incident" in rules_of(before, "animal", world["lone"].id)
    response = client.post(f"/api/v1/incidents/{incident}/transitions", json={"to": to})
    assert response.status_code == 200, response.text
    after = check(session, settings, world)
    assert after != before
    assert ("confirmed_incident" in rules_of(after, "animal", world["lone"].id)) == (
        to == "confirmed"
    )


def test_an_inspectors_severity_change_is_seen_by_the_next_page(
    client: TestClient, session: Session, settings: Settings, world: World
) -> None:
    incident = report(client, world, enclosure_id=world["pen"].id, severity=2)["incident_id"]
    assert "severe_open_incident" not in rules_of(
        check(session, settings, world), "enclosure", world["pen"].id
    )
    etag = client.get(f"/api/v1/incidents/{incident}").headers["ETag"]
    response = client.patch(
        f"/api/v1/incidents/{incident}", json={"severity": 5}, headers={"If-Match": etag}
    )
    assert response.status_code == 200, response.text
    items = check(session, settings, world)
    assert "severe_open_incident" in rules_of(items, "enclosure", world["pen"].id)


Write = Callable[[TestClient, World], Any]

OTHER_WRITES: dict[str, Write] = {
    "an animal moves enclosure": lambda c, w: c.patch(
        f"/api/v1/animals/{w['traded'].id}", json={"enclosure_id": w["spare"].id}
    ),
    "an animal joins its kind": lambda c, w: c.post(
        "/api/v1/animals",
        json={
            "zoo_id": w["zoo"].id,
            "species_id": w["group"].id,
            "enclosure_id": w["pen"].id,
            "origin": "captive_born",
        },
    ),
    "an animal dies": lambda c, w: c.patch(
        f"/api/v1/animals/{w['lone'].id}", json={"status": "deceased"}
    ),
    "an enclosure's climate changes": lambda c, w: c.patch(
        f"/api/v1/enclosures/{w['pen'].id}", json={"climate": "arid"}
    ),
    "an enclosure shrinks": lambda c, w: c.patch(
        f"/api/v1/enclosures/{w['pen'].id}", json={"capacity": 1}
    ),
    "a species lives alone after all": lambda c, w: c.patch(
        f"/api/v1/species/{w['group'].id}", json={"social_structure": "solitary"}
    ),
    "a gift's permit is found": lambda c, w: c.patch(
        f"/api/v1/gifts/{w['gift'].id}", json={"cites_permit_ref": "KP-2019-001"}
    ),
}


@pytest.mark.parametrize("write", OTHER_WRITES.values(), ids=OTHER_WRITES.keys())
def test_other_writes_drop_the_zoos_state_and_the_next_page_is_exact(
    client: TestClient, session: Session, settings: Settings, world: World, write: Write
) -> None:
    before = check(session, settings, world)
    assert session.get(FlagsState, world["zoo"].id) is not None
    response = write(client, world)
    assert response.status_code in (200, 201), response.text
    session.expire_all()
    assert session.get(FlagsState, world["zoo"].id) is None
    assert session.get(FlagsState, world["other"].id) is not None  # untouched
    assert check(session, settings, world) != before


def test_a_new_day_evaluates_the_zoo_in_full_again(
    session: Session, settings: Settings, world: World
) -> None:
    """The repeated-incidents window and overdue inspections move with the date."""
    zoo, now = world["zoo"], datetime.now(UTC)
    for n in range(3):
        session.add(
            WelfareIncident(
                zoo_id=zoo.id,
                animal_id=world["lone"].id,
                category=Category.nutrition,
                severity=1,
                status=IncidentStatus.resolved,
                title=f"Old {n}",
                first_observed_at=now - timedelta(days=360),
                last_observed_at=now - timedelta(days=360),
                report_count=1,
            )
        )
    session.commit()

    def page_at(when: datetime) -> list[ConcernItem]:
        items = stored(session, settings, zoo, now=when)
        assert items == zoo_concerns(session=session, settings=settings, zoo=zoo, now=when)
        state = session.get(FlagsState, zoo.id)
        assert state is not None and state.evaluated_on == when.date()
        return items

    assert "repeated_incidents" in rules_of(page_at(now), "animal", world["lone"].id)
    later = now + timedelta(days=10)  # the incidents leave the 365-day window
    assert "repeated_incidents" not in rules_of(page_at(later), "animal", world["lone"].id)
    overdue = datetime.combine(date.today() + timedelta(days=400), now.timetz())
    assert "inspection_overdue" in rules_of(page_at(overdue), "enclosure", world["pen"].id)


def test_other_thresholds_evaluate_the_zoo_in_full_again(
    client: TestClient, session: Session, settings: Settings, world: World
) -> None:
    report(client, world, animal_id=world["lone"].id, severity=3)
    zoo = world["zoo"]
    assert "severe_open_incident" not in rules_of(
        stored(session, settings, zoo), "animal", world["lone"].id
    )
    stricter = settings.model_copy(update={"concern_severe_min_severity": 3})
    items = stored(session, stricter, zoo)
    assert items == zoo_concerns(session=session, settings=stricter, zoo=zoo)
    assert "severe_open_incident" in rules_of(items, "animal", world["lone"].id)


def test_stored_flags_go_with_their_zoo(
    client: TestClient, session: Session, settings: Settings
) -> None:
    """Deleting a zoo deletes its stored flags (SQLite would give its id to the next zoo)."""
    zoo = make_zoo(session)
    pen = make_enclosure(session, zoo, last_inspected_on=None)
    assert len(stored(session, settings, zoo)) == 1
    session.add(DirtySubject(zoo_id=zoo.id, subject_type="enclosure", subject_id=pen.id))
    session.delete(pen)
    session.commit()
    response = client.delete(f"/api/v1/zoos/{zoo.id}")
    assert response.status_code == 204, response.text
    session.expire_all()
    for model in (StoredFlag, StoredSubject, FlagsState, DirtySubject):
        assert count(session, model, zoo) == 0


def test_a_stored_page_is_served_byte_for_byte_as_the_model_would_render_it(
    client: TestClient, session: Session, settings: Settings, world: World
) -> None:
    """Stored items go out as plain data, without the response model: the bytes must be the
    model's own rendering of the list evaluated from scratch, non-ASCII text included."""
    report(
        client, world, animal_id=world["lone"].id, title="Dallae \u201csmoking\u201d, \u00e9t\u00e9"
    )
    report(client, world, enclosure_id=world["pen"].id, category="human_interaction")
    # Unfiltered: items as stored per subject; filtered: assembled from the stored flags.
    for filters in ({}, {"min_severity": 1}):
        response = client.get(
            f"/api/v1/zoos/{world['zoo'].id}/concerns", params={"limit": 2, **filters}
        )
        assert response.status_code == 200, response.text
        items = zoo_concerns(session=session, settings=settings, zoo=world["zoo"])
        expected = Page[ConcernItem](items=items[:2], total=len(items), limit=2, offset=0)
        assert response.content == expected.model_dump_json().encode()
        assert "\u201csmoking\u201d" in response.text
