"""The concern rules one by one: for each, the smallest case that raises it and the nearest
case that does not. The clock is pinned with the `now` parameter of the service."""

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.concerns.lists import Filters, zoo_concerns
from app.concerns.rules import RULES
from app.concerns.schemas import ConcernFlag, ConcernItem
from app.core.config import Settings
from app.models import Animal, Enclosure, Gift, Species, WelfareIncident, Zoo
from app.models.enums import AnimalStatus, Category, IncidentStatus, Origin
from tests.factories import make_animal, make_enclosure, make_gift, make_species, make_zoo

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
TODAY = NOW.date()
RECENT = NOW - timedelta(days=1)
ANIMAL_RULES = {r.id for r in RULES if r.subject == "animal"}
ENCLOSURE_RULES = {r.id for r in RULES if r.subject == "enclosure"}


# --- helpers ---------------------------------------------------------------------------------


def concerns(
    session: Session, settings: Settings, zoo: Zoo, now: datetime = NOW, **filters: Any
) -> list[ConcernItem]:
    return zoo_concerns(
        session=session, settings=settings, zoo=zoo, now=now, filters=Filters(**filters)
    )


def flags_of(items: list[ConcernItem], subject: Animal | Enclosure) -> dict[str, ConcernFlag]:
    """The flags raised for one subject, by rule ({} when the subject is not listed)."""
    kind = "animal" if isinstance(subject, Animal) else "enclosure"
    for item in items:
        if item.subject_type == kind and item.subject_id == subject.id:
            rules = [f.rule for f in item.flags]
            assert len(rules) == len(set(rules)), "one flag per rule and subject"
            return {f.rule: f for f in item.flags}
    return {}


def add_incident(
    session: Session,
    zoo: Zoo,
    *,
    animal: Animal | None = None,
    enclosure: Enclosure | None = None,
    category: Category = Category.health,
    severity: int = 3,
    status: IncidentStatus = IncidentStatus.reported,
    observed: datetime = RECENT,
    title: str = "Incident",
) -> WelfareIncident:
    row = WelfareIncident(
        zoo_id=zoo.id,
        animal_id=animal.id if animal else None,
        enclosure_id=enclosure.id if enclosure else None,
        category=category,
        severity=severity,
        status=status,
        title=title,
        first_observed_at=observed - timedelta(days=30),
        last_observed_at=observed,
        report_count=1,
    )
    session.add(row)
    session.commit()
    assert row.id is not None
    return row


def set_status(session: Session, row: Any, status: Any) -> None:
    row.status = status
    session.add(row)
    session.commit()


@pytest.fixture
def zoo(session: Session) -> Zoo:
    return make_zoo(session)


@pytest.fixture
def pen(session: Session, zoo: Zoo) -> Enclosure:
    """A temperate enclosure inspected today, with room to spare: it raises nothing itself."""
    return make_enclosure(
        session, zoo, capacity=10, area_m2=500.0, climate="temperate", last_inspected_on=TODAY
    )


@pytest.fixture
def animal(session: Session, zoo: Zoo, pen: Enclosure) -> Animal:
    """A solitary, temperate, non-CITES animal of unknown origin: it raises nothing itself."""
    return make_animal(session, zoo, enclosure_id=pen.id)


def test_a_quiet_zoo_raises_nothing(
    session: Session, settings: Settings, zoo: Zoo, pen: Enclosure, animal: Animal
) -> None:
    assert concerns(session, settings, zoo) == []
    # ...so every "does not flag" below is about the boundary, not about the fixtures.
    add_incident(session, zoo, animal=animal, severity=4)
    assert flags_of(concerns(session, settings, zoo), animal)


# --- severe_open_incident ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("severity", "status", "flagged"),
    [
        (3, IncidentStatus.reported, False),
        (4, IncidentStatus.reported, True),
        (5, IncidentStatus.under_review, True),
        (4, IncidentStatus.confirmed, True),
        (5, IncidentStatus.resolved, False),
        (5, IncidentStatus.dismissed, False),
    ],
)
def test_severe_open_incident_for_an_animal(
    session: Session,
    settings: Settings,
    zoo: Zoo,
    animal: Animal,
    severity: int,
    status: IncidentStatus,
    flagged: bool,
) -> None:
    incident = add_incident(
        session, zoo, animal=animal, severity=severity, status=status, title="Beaten by keeper"
    )
    flags = flags_of(concerns(session, settings, zoo), animal)
    if not flagged:
        assert "severe_open_incident" not in flags
        return
    flag = flags["severe_open_incident"]
    assert flag.severity == severity
    assert flag.incident_ids == [incident.id]
    assert f"severity {severity}" in flag.reason
    assert f"#{incident.id}" in flag.reason
    assert "Beaten by keeper" in flag.reason


@pytest.mark.parametrize(
    ("severity", "status", "flagged"),
    [
        (3, IncidentStatus.under_review, False),
        (4, IncidentStatus.reported, True),
        (4, IncidentStatus.resolved, False),
        (5, IncidentStatus.dismissed, False),
    ],
)
def test_severe_open_incident_for_an_enclosure(
    session: Session,
    settings: Settings,
    zoo: Zoo,
    pen: Enclosure,
    animal: Animal,
    severity: int,
    status: IncidentStatus,
    flagged: bool,
) -> None:
    incident = add_incident(
        session, zoo, enclosure=pen, severity=severity, status=status, title="Flooded"
    )
    items = concerns(session, settings, zoo)
    assert flags_of(items, animal) == {}
    flags = flags_of(items, pen)
    if not flagged:
        assert "severe_open_incident" not in flags
        return
    flag = flags["severe_open_incident"]
    assert flag.severity == severity
    assert flag.incident_ids == [incident.id]
    assert f"severity {severity}" in flag.reason
    assert f"#{incident.id}" in flag.reason


def test_severe_open_incident_cites_every_open_severe_incident(
    session: Session, settings: Settings, zoo: Zoo, animal: Animal
) -> None:
    first = add_incident(session, zoo, animal=animal, severity=4, title="Wound")
    second = add_incident(session, zoo, animal=animal, severity=5, title="Starved")
    add_incident(session, zoo, animal=animal, severity=3, title="Too mild to count")
    flag = flags_of(concerns(session, settings, zoo), animal)["severe_open_incident"]
    assert flag.severity == 5
    assert flag.incident_ids == sorted([first.id, second.id])
    assert flag.reason.startswith("2 open incidents of severity 4 or more")
    assert "Wound" in flag.reason and "Starved" in flag.reason
    assert "Too mild" not in flag.reason


def test_the_severe_threshold_comes_from_settings(
    session: Session, settings: Settings, zoo: Zoo, animal: Animal
) -> None:
    add_incident(session, zoo, animal=animal, severity=3)
    assert "severe_open_incident" not in flags_of(concerns(session, settings, zoo), animal)
    lower = settings.model_copy(update={"concern_severe_min_severity": 3})
    assert "severe_open_incident" in flags_of(concerns(session, lower, zoo), animal)


def test_an_incident_about_an_animal_and_its_enclosure_flags_the_animal_only(
    client: TestClient, session: Session, settings: Settings, zoo: Zoo, pen: Enclosure
) -> None:
    """Through the API: a report about an animal in its enclosure, then confirmed."""
    animal = make_animal(session, zoo, enclosure_id=pen.id)
    response = client.post(
        "/api/v1/reports",
        json={
            "zoo_id": zoo.id,
            "animal_id": animal.id,
            "enclosure_id": pen.id,
            "category": "health",
            "severity": 5,
            "title": "Untreated wound",
            "observed_at": RECENT.isoformat(),
        },
    )
    assert response.status_code == 201, response.text
    incident_id = response.json()["incident_id"]
    moved = client.post(f"/api/v1/incidents/{incident_id}/transitions", json={"to": "confirmed"})
    assert moved.status_code == 200, moved.text

    items = concerns(session, settings, zoo)
    flags = flags_of(items, animal)
    assert set(flags) == {"severe_open_incident", "confirmed_incident"}
    assert flags["severe_open_incident"].incident_ids == [incident_id]
    assert flags["confirmed_incident"].incident_ids == [incident_id]
    assert flags_of(items, pen) == {}


def test_a_dismissed_incident_through_the_api_no_longer_flags(
    client: TestClient, session: Session, settings: Settings, zoo: Zoo, animal: Animal
) -> None:
    response = client.post(
        "/api/v1/reports",
        json={
            "zoo_id": zoo.id,
            "animal_id": animal.id,
            "category": "health",
            "severity": 4,
            "title": "Limping",
            "observed_at": RECENT.isoformat(),
        },
    )
    assert response.status_code == 201, response.text
    incident_id = response.json()["incident_id"]
    flags = flags_of(concerns(session, settings, zoo), animal)
    assert flags["severe_open_incident"].incident_ids == [incident_id]

    moved = client.post(f"/api/v1/incidents/{incident_id}/transitions", json={"to": "dismissed"})
    assert moved.status_code == 200, moved.text
    assert flags_of(concerns(session, settings, zoo), animal) == {}


# --- confirmed_incident ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "flagged"),
    [
        (IncidentStatus.reported, False),
        (IncidentStatus.under_review, False),
        (IncidentStatus.confirmed, True),
        (IncidentStatus.resolved, False),
        (IncidentStatus.dismissed, False),
    ],
)
def test_confirmed_incident_for_an_animal(
    session: Session,
    settings: Settings,
    zoo: Zoo,
    animal: Animal,
    status: IncidentStatus,
    flagged: bool,
) -> None:
    incident = add_incident(session, zoo, animal=animal, severity=2, status=status, title="Thin")
    flags = flags_of(concerns(session, settings, zoo), animal)
    if not flagged:
        assert flags == {}
        return
    flag = flags["confirmed_incident"]
    assert set(flags) == {"confirmed_incident"}  # severity 2 is not severe
    assert flag.severity == 2  # the incident's own severity
    assert flag.incident_ids == [incident.id]
    assert "a confirmed incident" in flag.reason
    assert "severity 2" in flag.reason
    assert f"#{incident.id}" in flag.reason


@pytest.mark.parametrize(
    ("status", "flagged"),
    [
        (IncidentStatus.under_review, False),
        (IncidentStatus.confirmed, True),
        (IncidentStatus.resolved, False),
    ],
)
def test_confirmed_incident_for_an_enclosure(
    session: Session,
    settings: Settings,
    zoo: Zoo,
    pen: Enclosure,
    status: IncidentStatus,
    flagged: bool,
) -> None:
    incident = add_incident(session, zoo, enclosure=pen, severity=3, status=status)
    flags = flags_of(concerns(session, settings, zoo), pen)
    if not flagged:
        assert flags == {}
        return
    assert set(flags) == {"confirmed_incident"}
    assert flags["confirmed_incident"].severity == 3
    assert flags["confirmed_incident"].incident_ids == [incident.id]
    assert f"#{incident.id}" in flags["confirmed_incident"].reason


def test_confirmed_incident_takes_the_most_serious(
    session: Session, settings: Settings, zoo: Zoo, animal: Animal
) -> None:
    confirmed = IncidentStatus.confirmed
    low = add_incident(session, zoo, animal=animal, severity=1, status=confirmed)
    high = add_incident(session, zoo, animal=animal, severity=3, status=confirmed)
    flag = flags_of(concerns(session, settings, zoo), animal)["confirmed_incident"]
    assert flag.severity == 3
    assert flag.incident_ids == sorted([low.id, high.id])
    assert flag.reason.startswith("2 confirmed incidents")


# --- repeated_incidents ----------------------------------------------------------------------


def test_repeated_incidents_needs_three(
    session: Session, settings: Settings, zoo: Zoo, animal: Animal
) -> None:
    ids = [add_incident(session, zoo, animal=animal).id for _ in range(2)]
    assert "repeated_incidents" not in flags_of(concerns(session, settings, zoo), animal)

    ids.append(add_incident(session, zoo, animal=animal).id)
    flag = flags_of(concerns(session, settings, zoo), animal)["repeated_incidents"]
    assert flag.severity == 3
    assert flag.incident_ids == sorted(ids)
    assert "3 incidents" in flag.reason
    assert "365 days" in flag.reason
    assert all(f"#{i}" in flag.reason for i in ids)


@pytest.mark.parametrize(("days_ago", "flagged"), [(365, True), (366, False)])
def test_repeated_incidents_window_boundary(
    session: Session,
    settings: Settings,
    zoo: Zoo,
    animal: Animal,
    days_ago: int,
    flagged: bool,
) -> None:
    recent = [add_incident(session, zoo, animal=animal).id for _ in range(2)]
    oldest = add_incident(session, zoo, animal=animal, observed=NOW - timedelta(days=days_ago))
    flags = flags_of(concerns(session, settings, zoo), animal)
    if not flagged:
        assert "repeated_incidents" not in flags
        return
    assert flags["repeated_incidents"].incident_ids == sorted([*recent, oldest.id])


def test_repeated_incidents_ignores_dismissed_but_counts_resolved(
    session: Session, settings: Settings, zoo: Zoo, animal: Animal
) -> None:
    add_incident(session, zoo, animal=animal)
    add_incident(session, zoo, animal=animal, status=IncidentStatus.resolved)
    third = add_incident(session, zoo, animal=animal, status=IncidentStatus.dismissed)
    assert "repeated_incidents" not in flags_of(concerns(session, settings, zoo), animal)

    set_status(session, third, IncidentStatus.under_review)
    flag = flags_of(concerns(session, settings, zoo), animal)["repeated_incidents"]
    assert third.id in flag.incident_ids
    assert len(flag.incident_ids) == 3


def test_repeated_incidents_counts_per_animal(
    session: Session, settings: Settings, zoo: Zoo, pen: Enclosure, animal: Animal
) -> None:
    other = make_animal(session, zoo, enclosure_id=pen.id)
    add_incident(session, zoo, animal=animal)
    add_incident(session, zoo, animal=animal)
    add_incident(session, zoo, animal=other)
    add_incident(session, zoo, enclosure=pen)
    items = concerns(session, settings, zoo)
    assert "repeated_incidents" not in flags_of(items, animal)
    assert "repeated_incidents" not in flags_of(items, other)


# --- human_imposed_behaviour -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("category", "status", "flagged"),
    [
        (Category.human_interaction, IncidentStatus.reported, True),
        (Category.human_interaction, IncidentStatus.under_review, True),
        (Category.human_interaction, IncidentStatus.confirmed, True),
        (Category.human_interaction, IncidentStatus.resolved, False),
        (Category.human_interaction, IncidentStatus.dismissed, False),
        (Category.behaviour, IncidentStatus.reported, False),
    ],
)
def test_human_imposed_behaviour(
    session: Session,
    settings: Settings,
    zoo: Zoo,
    animal: Animal,
    category: Category,
    status: IncidentStatus,
    flagged: bool,
) -> None:
    incident = add_incident(
        session,
        zoo,
        animal=animal,
        category=category,
        severity=2,
        status=status,
        title="Made to smoke",
    )
    flags = flags_of(concerns(session, settings, zoo), animal)
    if not flagged:
        assert "human_imposed_behaviour" not in flags
        return
    flag = flags["human_imposed_behaviour"]
    # A mild incident still raises a serious flag: the floor comes from Settings.
    assert flag.severity == settings.concern_human_interaction_min_flag == 4
    assert flag.incident_ids == [incident.id]
    assert "human_interaction" in flag.reason
    assert f"#{incident.id}" in flag.reason and "Made to smoke" in flag.reason


def test_human_imposed_behaviour_keeps_a_higher_severity(
    session: Session, settings: Settings, zoo: Zoo, animal: Animal
) -> None:
    add_incident(session, zoo, animal=animal, category=Category.human_interaction, severity=5)
    flag = flags_of(concerns(session, settings, zoo), animal)["human_imposed_behaviour"]
    assert flag.severity == 5


def test_human_imposed_behaviour_is_about_animals_only(
    session: Session, settings: Settings, zoo: Zoo, pen: Enclosure
) -> None:
    add_incident(session, zoo, enclosure=pen, category=Category.human_interaction, severity=2)
    assert concerns(session, settings, zoo, rule_ids=["human_imposed_behaviour"]) == []


# --- social_isolation ------------------------------------------------------------------------


@pytest.fixture
def herd(session: Session) -> Species:
    return make_species(session, social_structure="group", min_group_size=3)


def test_social_isolation_two_rows_of_a_group_of_three(
    session: Session, settings: Settings, zoo: Zoo, pen: Enclosure, herd: Species
) -> None:
    a = make_animal(session, zoo, herd, enclosure_id=pen.id)
    b = make_animal(session, zoo, herd, enclosure_id=pen.id)
    items = concerns(session, settings, zoo)
    for member in (a, b):
        flag = flags_of(items, member)["social_isolation"]
        assert flag.severity == 3
        assert flag.incident_ids == []
        assert flag.reason.startswith("2 individuals of a group-living species")
        assert "at least 3" in flag.reason

    c = make_animal(session, zoo, herd, enclosure_id=pen.id)
    items = concerns(session, settings, zoo)
    assert all("social_isolation" not in flags_of(items, m) for m in (a, b, c))


def test_social_isolation_one_row_with_a_count(
    session: Session, settings: Settings, zoo: Zoo, pen: Enclosure, herd: Species
) -> None:
    group = make_animal(session, zoo, herd, enclosure_id=pen.id, count=2)
    flag = flags_of(concerns(session, settings, zoo), group)["social_isolation"]
    assert "2 individuals" in flag.reason and "at least 3" in flag.reason

    group.count = 3
    session.add(group)
    session.commit()
    assert flags_of(concerns(session, settings, zoo), group) == {}


def test_social_isolation_counts_only_living_conspecifics_in_the_same_enclosure(
    session: Session, settings: Settings, zoo: Zoo, pen: Enclosure, herd: Species
) -> None:
    elsewhere = make_enclosure(session, zoo, last_inspected_on=TODAY)
    animal = make_animal(session, zoo, herd, enclosure_id=pen.id, count=1)
    make_animal(session, zoo, herd, enclosure_id=pen.id, status="deceased")
    make_animal(session, zoo, herd, enclosure_id=elsewhere.id, count=5)
    make_animal(session, zoo, make_species(session), enclosure_id=pen.id, count=5)
    flag = flags_of(concerns(session, settings, zoo), animal)["social_isolation"]
    assert flag.reason.startswith("1 individual of a group-living species")


def test_social_isolation_pair_species_alone(
    session: Session, settings: Settings, zoo: Zoo, pen: Enclosure
) -> None:
    pair = make_species(session, social_structure="pair", min_group_size=2)
    alone = make_animal(session, zoo, pair, enclosure_id=pen.id)
    flag = flags_of(concerns(session, settings, zoo), alone)["social_isolation"]
    assert flag.reason == (
        "1 individual of a pair-living species together in its enclosure; "
        "it needs a group of at least 2"
    )
    make_animal(session, zoo, pair, enclosure_id=pen.id)
    assert flags_of(concerns(session, settings, zoo), alone) == {}


def test_social_isolation_never_for_a_solitary_species(
    session: Session, settings: Settings, zoo: Zoo, pen: Enclosure
) -> None:
    loner = make_species(session, social_structure="solitary", min_group_size=3)
    animal = make_animal(session, zoo, loner, enclosure_id=pen.id)
    assert flags_of(concerns(session, settings, zoo), animal) == {}


# --- climate_mismatch ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zones", "climate", "flagged"),
    [
        (["tropical"], "temperate", True),
        (["tropical"], "tropical", False),
        (["tropical", "arid"], "arid", False),
        (["tropical", "arid"], "cold", True),
        (["cold"], "controlled", False),
        (["tropical"], "controlled", False),
    ],
)
def test_climate_mismatch(
    session: Session,
    settings: Settings,
    zoo: Zoo,
    zones: list[str],
    climate: str,
    flagged: bool,
) -> None:
    species = make_species(session, climate_zones=zones)
    enclosure = make_enclosure(session, zoo, climate=climate, last_inspected_on=TODAY)
    animal = make_animal(session, zoo, species, enclosure_id=enclosure.id)
    flags = flags_of(concerns(session, settings, zoo), animal)
    if not flagged:
        assert flags == {}
        return
    flag = flags["climate_mismatch"]
    assert flag.severity == 2
    assert flag.incident_ids == []
    assert f"kept in a {climate} enclosure" in flag.reason
    assert all(zone in flag.reason for zone in zones)


# --- undocumented_trade ----------------------------------------------------------------------


def traded(
    session: Session,
    zoo: Zoo,
    pen: Enclosure,
    *,
    appendix: str | None,
    origin: Origin,
    gift: Gift | None = None,
) -> Animal:
    species = make_species(session, cites_appendix=appendix)
    return make_animal(
        session,
        zoo,
        species,
        enclosure_id=pen.id,
        origin=origin,
        gift_id=gift.id if gift else None,
    )


def test_undocumented_trade_gift_without_and_with_a_permit(
    session: Session, settings: Settings, zoo: Zoo, pen: Enclosure
) -> None:
    bare = make_gift(session, cites_permit_ref=None)
    blank = make_gift(session, cites_permit_ref="")
    permitted = make_gift(session, cites_permit_ref="RU-2024-00042")
    gift = Origin.diplomatic_gift
    undocumented = traded(session, zoo, pen, appendix="II", origin=gift, gift=bare)
    empty_ref = traded(session, zoo, pen, appendix="II", origin=gift, gift=blank)
    documented = traded(session, zoo, pen, appendix="II", origin=gift, gift=permitted)
    not_listed = traded(session, zoo, pen, appendix=None, origin=gift, gift=bare)

    items = concerns(session, settings, zoo)
    flag = flags_of(items, undocumented)["undocumented_trade"]
    assert flag.severity == 3  # Appendix II
    assert flag.incident_ids == []
    assert flag.reason == (
        "a CITES Appendix II species that arrived by diplomatic gift "
        "with no CITES permit reference on record"
    )
    assert "undocumented_trade" in flags_of(items, empty_ref)
    assert flags_of(items, documented) == {}
    assert flags_of(items, not_listed) == {}


@pytest.mark.parametrize(
    ("appendix", "origin", "severity"),
    [
        ("I", Origin.purchase, 4),
        ("III", Origin.exchange, 2),
        ("I", Origin.captive_born, None),
        ("I", Origin.donation, None),
        ("I", Origin.rescue, None),
        (None, Origin.purchase, None),
    ],
)
def test_undocumented_trade_by_origin_and_appendix(
    session: Session,
    settings: Settings,
    zoo: Zoo,
    pen: Enclosure,
    appendix: str | None,
    origin: Origin,
    severity: int | None,
) -> None:
    animal = traded(session, zoo, pen, appendix=appendix, origin=origin)
    flags = flags_of(concerns(session, settings, zoo), animal)
    if severity is None:
        assert flags == {}
        return
    assert flags["undocumented_trade"].severity == severity
    assert f"Appendix {appendix}" in flags["undocumented_trade"].reason


# --- overcrowded -----------------------------------------------------------------------------


def test_overcrowded_boundary(session: Session, settings: Settings, zoo: Zoo) -> None:
    small = make_enclosure(session, zoo, capacity=2, last_inspected_on=TODAY)
    make_animal(session, zoo, enclosure_id=small.id, count=2)
    assert flags_of(concerns(session, settings, zoo), small) == {}  # exactly at capacity

    third = make_animal(session, zoo, enclosure_id=small.id)
    flag = flags_of(concerns(session, settings, zoo), small)["overcrowded"]
    assert flag.severity == 3
    assert flag.incident_ids == []
    assert flag.reason == "3 individuals in an enclosure for 2"

    # Above capacity x 1.5 (Settings.concern_overcrowded_severe_ratio) it is severe.
    third.count = 2
    session.add(third)
    session.commit()
    flag = flags_of(concerns(session, settings, zoo), small)["overcrowded"]
    assert flag.severity == 4
    assert flag.reason == "4 individuals in an enclosure for 2"


def test_overcrowded_ignores_animals_no_longer_living(
    session: Session, settings: Settings, zoo: Zoo
) -> None:
    small = make_enclosure(session, zoo, capacity=2, last_inspected_on=TODAY)
    make_animal(session, zoo, enclosure_id=small.id, count=2)
    dead = make_animal(session, zoo, enclosure_id=small.id, status="deceased")
    make_animal(session, zoo, enclosure_id=small.id, count=3, status="transferred_out")
    assert flags_of(concerns(session, settings, zoo), small) == {}

    set_status(session, dead, AnimalStatus.alive)
    assert "overcrowded" in flags_of(concerns(session, settings, zoo), small)


# --- undersized ------------------------------------------------------------------------------


def test_undersized_boundary(session: Session, settings: Settings, zoo: Zoo) -> None:
    bear = make_species(session, min_area_m2=150)
    yard = make_enclosure(session, zoo, area_m2=300, capacity=10, last_inspected_on=TODAY)
    make_animal(session, zoo, bear, enclosure_id=yard.id, count=2)
    assert flags_of(concerns(session, settings, zoo), yard) == {}  # exactly enough

    make_animal(session, zoo, bear, enclosure_id=yard.id)
    flag = flags_of(concerns(session, settings, zoo), yard)["undersized"]
    assert flag.severity == 3
    assert flag.incident_ids == []
    assert flag.reason == "300 m\u00b2 for animals that need 450 m\u00b2 between them"


def test_undersized_sums_over_species_and_skips_those_without_a_need(
    session: Session, settings: Settings, zoo: Zoo
) -> None:
    big = make_species(session, min_area_m2=100)
    small = make_species(session, min_area_m2=2.5)
    unknown = make_species(session)  # no min_area_m2
    yard = make_enclosure(session, zoo, area_m2=120, capacity=100, last_inspected_on=TODAY)
    make_animal(session, zoo, big, enclosure_id=yard.id)
    make_animal(session, zoo, small, enclosure_id=yard.id, count=8)  # 20 m2
    make_animal(session, zoo, unknown, enclosure_id=yard.id, count=50)
    assert flags_of(concerns(session, settings, zoo), yard) == {}  # 120 needed, 120 there

    make_animal(session, zoo, small, enclosure_id=yard.id)
    flag = flags_of(concerns(session, settings, zoo), yard)["undersized"]
    assert flag.reason == "120 m\u00b2 for animals that need 122.5 m\u00b2 between them"


def test_undersized_reason_spells_out_large_areas(
    session: Session, settings: Settings, zoo: Zoo
) -> None:
    elephant = make_species(session, min_area_m2=1_000_000)
    reserve = make_enclosure(session, zoo, area_m2=1_500_000, last_inspected_on=TODAY)
    make_animal(session, zoo, elephant, enclosure_id=reserve.id, count=2)
    flag = flags_of(concerns(session, settings, zoo), reserve)["undersized"]
    digits = re.sub(r"[,\s\u202f]", "", flag.reason)
    assert "1500000" in digits and "2000000" in digits, flag.reason


def test_undersized_ignores_animals_no_longer_living(
    session: Session, settings: Settings, zoo: Zoo
) -> None:
    bear = make_species(session, min_area_m2=150)
    yard = make_enclosure(session, zoo, area_m2=300, capacity=10, last_inspected_on=TODAY)
    make_animal(session, zoo, bear, enclosure_id=yard.id, count=2)
    dead = make_animal(session, zoo, bear, enclosure_id=yard.id, status="deceased")
    assert flags_of(concerns(session, settings, zoo), yard) == {}

    set_status(session, dead, AnimalStatus.alive)
    assert "undersized" in flags_of(concerns(session, settings, zoo), yard)


# --- inspection_overdue ----------------------------------------------------------------------


@pytest.mark.parametrize(("days_ago", "flagged"), [(0, False), (365, False), (366, True)])
def test_inspection_overdue_boundary(
    session: Session, settings: Settings, zoo: Zoo, days_ago: int, flagged: bool
) -> None:
    inspected = TODAY - timedelta(days=days_ago)
    enclosure = make_enclosure(session, zoo, last_inspected_on=inspected)
    flags = flags_of(concerns(session, settings, zoo), enclosure)
    if not flagged:
        assert flags == {}
        return
    flag = flags["inspection_overdue"]
    assert flag.severity == 2
    assert flag.incident_ids == []
    assert flag.reason == f"last inspected on {inspected.isoformat()}, more than 365 days ago"


def test_inspection_overdue_when_never_inspected(
    session: Session, settings: Settings, zoo: Zoo
) -> None:
    enclosure = make_enclosure(session, zoo, last_inspected_on=None)
    flag = flags_of(concerns(session, settings, zoo), enclosure)["inspection_overdue"]
    assert flag.reason == "never inspected"
    assert flag.severity == 2


def test_inspection_max_age_comes_from_settings(
    session: Session, settings: Settings, zoo: Zoo
) -> None:
    enclosure = make_enclosure(session, zoo, last_inspected_on=TODAY - timedelta(days=40))
    assert flags_of(concerns(session, settings, zoo), enclosure) == {}
    strict = settings.model_copy(update={"concern_inspection_max_age_days": 30})
    flag = flags_of(concerns(session, strict, zoo), enclosure)["inspection_overdue"]
    assert "more than 30 days ago" in flag.reason


# --- only living animals ----------------------------------------------------------------------


@pytest.fixture
def troubled(session: Session, zoo: Zoo) -> tuple[Animal, list[int]]:
    """An animal that raises every animal rule; returns it and its incidents' ids."""
    species = make_species(
        session,
        social_structure="group",
        min_group_size=3,
        climate_zones=["tropical"],
        cites_appendix="I",
    )
    cold = make_enclosure(session, zoo, climate="cold", last_inspected_on=TODAY)
    # A gift from a Party to a country that is not one, with no permit nor trade record.
    gift = make_gift(session, donor_country="RU", recipient_country="KP", delivered_on=TODAY)
    animal = make_animal(
        session,
        zoo,
        species,
        enclosure_id=cold.id,
        origin="diplomatic_gift",
        gift_id=gift.id,
        name="Dallae",
    )
    ids = [
        add_incident(
            session,
            zoo,
            animal=animal,
            category=Category.human_interaction,
            severity=5,
            status=IncidentStatus.confirmed,
            title=f"Made to smoke, visit {n}",
        ).id
        for n in range(3)
    ]
    return animal, ids


def test_an_otherwise_flagged_living_animal_raises_every_animal_rule(
    session: Session, settings: Settings, zoo: Zoo, troubled: tuple[Animal, list[int]]
) -> None:
    animal, ids = troubled
    flags = flags_of(concerns(session, settings, zoo), animal)
    assert set(flags) == ANIMAL_RULES
    for rule in ("severe_open_incident", "confirmed_incident", "repeated_incidents"):
        assert flags[rule].incident_ids == sorted(ids)
    assert flags["human_imposed_behaviour"].incident_ids == sorted(ids)


@pytest.mark.parametrize("status", [AnimalStatus.deceased, AnimalStatus.transferred_out])
def test_an_animal_no_longer_living_is_never_flagged(
    session: Session,
    settings: Settings,
    zoo: Zoo,
    troubled: tuple[Animal, list[int]],
    status: AnimalStatus,
) -> None:
    animal, _ = troubled
    set_status(session, animal, status)
    items = concerns(session, settings, zoo)
    assert flags_of(items, animal) == {}
    assert all(item.subject_type == "enclosure" for item in items)
    for rule in sorted(ANIMAL_RULES):
        assert concerns(session, settings, zoo, rule_ids=[rule]) == [], rule


# --- one list: scope, scores and order -------------------------------------------------------


def test_the_list_is_scored_and_ordered_by_score_then_max_severity(
    session: Session, settings: Settings, zoo: Zoo
) -> None:
    # score 5, worst 3: overcrowded (3) + never inspected (2)
    crowded = make_enclosure(session, zoo, capacity=2, last_inspected_on=None)
    make_animal(session, zoo, enclosure_id=crowded.id, count=3)
    # score 5, worst 5: one open incident of severity 5
    flooded = make_enclosure(session, zoo, last_inspected_on=TODAY)
    add_incident(session, zoo, enclosure=flooded, severity=5)
    # score 8, worst 4: severe (4) and confirmed (4)
    collapsed = make_enclosure(session, zoo, last_inspected_on=TODAY)
    add_incident(session, zoo, enclosure=collapsed, severity=4, status=IncidentStatus.confirmed)
    # score 2: never inspected
    unvisited = make_enclosure(session, zoo, last_inspected_on=None)

    items = concerns(session, settings, zoo)
    assert [(i.subject_id, i.score, i.max_severity) for i in items] == [
        (collapsed.id, 8, 4),
        (flooded.id, 5, 5),
        (crowded.id, 5, 3),
        (unvisited.id, 2, 2),
    ]
    first = items[2]
    assert [f.rule for f in first.flags] == ["overcrowded", "inspection_overdue"]
    assert first.name == crowded.name
    for item in items:
        assert item.score == sum(f.severity for f in item.flags)
        assert item.max_severity == max(f.severity for f in item.flags)
        assert item.zoo_id == zoo.id


def test_an_animal_item_names_its_species_and_enclosure(
    session: Session, settings: Settings, zoo: Zoo, pen: Enclosure
) -> None:
    species = make_species(session, common_name="Mandarin duck", climate_zones=["tropical"])
    ducks = make_animal(session, zoo, species, enclosure_id=pen.id, count=40)
    dallae = make_animal(session, zoo, species, enclosure_id=pen.id, name="Dallae")
    items = {i.subject_id: i for i in concerns(session, settings, zoo)}
    assert items[ducks.id].name == "40 Mandarin duck"
    assert items[dallae.id].name == "Dallae"
    species_ref = items[dallae.id].species
    enclosure_ref = items[dallae.id].enclosure
    assert species_ref is not None and species_ref.id == species.id
    assert enclosure_ref is not None and enclosure_ref.id == pen.id


def test_a_zoo_list_holds_only_that_zoo(session: Session, settings: Settings, zoo: Zoo) -> None:
    other = make_zoo(session)
    mine = make_enclosure(session, zoo, last_inspected_on=None)
    theirs = make_enclosure(session, other, last_inspected_on=None)
    add_incident(session, other, enclosure=theirs, severity=5)
    assert [i.subject_id for i in concerns(session, settings, zoo)] == [mine.id]
    assert [i.subject_id for i in concerns(session, settings, other)] == [theirs.id]


def test_every_rule_is_tested_here() -> None:
    """A guard: a new rule needs a boundary test in this module (the trade rules that read
    crossings, listings and countries: in tests/records/test_trade_rules.py)."""
    assert {
        "severe_open_incident",
        "confirmed_incident",
        "repeated_incidents",
        "human_imposed_behaviour",
        "social_isolation",
        "climate_mismatch",
        "undocumented_trade",
        "unmatched_trade",
        "non_party_transfer",
    } == ANIMAL_RULES
    assert {
        "severe_open_incident",
        "confirmed_incident",
        "overcrowded",
        "undersized",
        "inspection_overdue",
    } == ENCLOSURE_RULES
