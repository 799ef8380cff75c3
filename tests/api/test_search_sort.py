"""List conventions: `q` searches, `sort=field|-field`, `updated_since`, plain dates in time
filters, and zoo filters by id or slug (black-box, through the API)."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.models import Animal, Gift, Species, WelfareIncident, Zoo
from tests.api.test_errors import assert_problem
from tests.api.test_reports import post_report
from tests.factories import make_animal, make_enclosure, make_gift, make_species, make_zoo

API = "/api/v1"


def ids(client: TestClient, path: str, params: Any = None) -> list[int]:
    response = client.get(f"{API}/{path}", params=params)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


# --- q -------------------------------------------------------------------------------------


def test_animals_q_matches_the_species_names(anon_client: TestClient, session: Session) -> None:
    zoo = make_zoo(session)
    chimp = make_species(session, common_name="Chimpanzee", scientific_name="Pan troglodytes")
    dallae = make_animal(session, zoo, chimp, name="Dallae")
    other = make_animal(session, zoo, make_species(session), name="Azalea")
    tagged = make_animal(session, zoo, make_species(session), identifier="PAN-7")
    query = {"zoo_id": zoo.id}
    assert ids(anon_client, "animals", query | {"q": "chimpanzee"}) == [dallae.id]
    assert ids(anon_client, "animals", query | {"q": "TROGLO"}) == [dallae.id]
    assert ids(anon_client, "animals", query | {"q": "pan"}) == [dallae.id, tagged.id]
    assert ids(anon_client, "animals", query | {"q": "zale"}) == [other.id]
    assert ids(anon_client, "animals", query | {"q": "%"}) == []  # literal, not a wildcard


def test_incidents_q_matches_titles_and_report_text_never_reporters(
    client: TestClient, anon_client: TestClient, session: Session
) -> None:
    zoo = make_zoo(session)
    smoking = post_report(client, zoo.id, title="Chimpanzee made to smoke")["incident_id"]
    described = post_report(
        client,
        zoo.id,
        title="Thin bear",
        description="Ribs visible through the fur",
        reporter_name="Wojtek Nowak",
        reporter_contact="secret-contact@example.org",
    )["incident_id"]
    later = post_report(client, zoo.id, incident_id=smoking, title="Still smoking, lighter seen")
    assert later["incident_id"] == smoking
    query = {"zoo_id": zoo.id}
    assert ids(anon_client, "incidents", query | {"q": "SMOKE"}) == [smoking]
    assert ids(anon_client, "incidents", query | {"q": "lighter"}) == [smoking]
    assert ids(anon_client, "incidents", query | {"q": "ribs visible"}) == [described]
    assert ids(anon_client, "incidents", query | {"q": "Wojtek"}) == []
    assert ids(anon_client, "incidents", query | {"q": "secret-contact"}) == []


def test_zoos_q_matches_name_city_and_slug(anon_client: TestClient, session: Session) -> None:
    central = make_zoo(session, slug="korea-central-zoo-q", name="Korea Central", city="Pyongyang")
    make_zoo(session, slug="moscow-zoo-q", name="Moscow Zoo", city="Moscow")
    assert ids(anon_client, "zoos", {"q": "PYONG"}) == [central.id]
    assert ids(anon_client, "zoos", {"q": "central-zoo-q"}) == [central.id]


def test_gifts_q_matches_title_donor_recipient_and_occasion(
    anon_client: TestClient, session: Session
) -> None:
    thanks = make_gift(session, title="Lions", occasion="Thanks for troops sent to Kursk")
    donor = make_gift(session, title="Ponies", donor_name="Sergei Shoigu-q")
    assert ids(anon_client, "gifts", {"q": "kursk"}) == [thanks.id]
    assert ids(anon_client, "gifts", {"q": "shoigu-q"}) == [donor.id]


# --- sort ----------------------------------------------------------------------------------


def test_sort_by_a_field_either_way_with_id_breaking_ties(
    anon_client: TestClient, session: Session
) -> None:
    zoo = make_zoo(session)
    species = make_species(session)
    b1 = make_animal(session, zoo, species, name="Bora")
    a = make_animal(session, zoo, species, name="Alma")
    b2 = make_animal(session, zoo, species, name="Bora")
    unnamed = make_animal(session, zoo, species)
    query = {"zoo_id": zoo.id}
    assert ids(anon_client, "animals", query) == [b1.id, a.id, b2.id, unnamed.id]
    assert ids(anon_client, "animals", query | {"sort": "name"}) == [
        a.id,
        b1.id,
        b2.id,
        unnamed.id,  # missing values last either way, on both databases
    ]
    assert ids(anon_client, "animals", query | {"sort": "-name"}) == [
        b1.id,
        b2.id,
        a.id,
        unnamed.id,
    ]
    assert ids(anon_client, "animals", query | {"sort": "-id"}) == [
        unnamed.id,
        b2.id,
        a.id,
        b1.id,
    ]


def test_paging_through_a_sorted_list_never_repeats_a_row(
    anon_client: TestClient, session: Session
) -> None:
    zoo = make_zoo(session)
    made = [make_enclosure(session, zoo, capacity=5) for _ in range(5)]
    query = {"zoo_id": zoo.id, "sort": "-capacity", "limit": 2}
    pages = [ids(anon_client, "enclosures", query | {"offset": o}) for o in (0, 2, 4)]
    assert [i for p in pages for i in p] == [e.id for e in made]


@pytest.mark.parametrize(
    ("path", "values"),
    [
        ("zoos", ["id", "-id", "name", "-name", "slug", "city", "created_at", "-updated_at"]),
        ("species", ["scientific_name", "-common_name", "min_area_m2", "-updated_at"]),
        ("enclosures", ["name", "-area_m2", "capacity", "-last_inspected_on", "updated_at"]),
        ("gifts", ["title", "delivered_on", "-delivered_on", "-updated_at"]),
        ("animals", ["name", "-identifier", "birth_date", "-arrived_on", "created_at"]),
        ("incidents", ["recent", "severity", "-severity", "last_observed_at", "-report_count"]),
        ("keys", ["name", "-created_at", "last_used_at", "-expires_at"]),
        ("reports", ["observed_at", "-observed_at", "created_at", "-severity"]),
    ],
)
def test_every_list_takes_its_sort_values(client: TestClient, path: str, values: list[str]) -> None:
    for value in values:
        response = client.get(f"{API}/{path}", params={"sort": value})
        assert response.status_code == 200, (value, response.text)


@pytest.mark.parametrize(
    "path",
    ["zoos", "species", "enclosures", "gifts", "animals", "incidents", "keys", "reports"],
)
@pytest.mark.parametrize("value", ["loudest", "notes", "-", "--name", "reporter_name"])
def test_an_unknown_sort_value_is_422(client: TestClient, path: str, value: str) -> None:
    assert_problem(client.get(f"{API}/{path}", params={"sort": value}), 422, ["query", "sort"])


def test_the_incident_list_keeps_its_old_sort_values(
    client: TestClient, anon_client: TestClient, session: Session
) -> None:
    zoo = make_zoo(session)
    old = post_report(client, zoo.id, severity=5, observed_at="2024-01-01T00:00:00Z")
    new = post_report(client, zoo.id, severity=2, observed_at="2024-06-01T00:00:00Z")
    mid = post_report(client, zoo.id, severity=5, observed_at="2024-03-01T00:00:00Z")
    old, new, mid = (r["incident_id"] for r in (old, new, mid))
    query = {"zoo_id": zoo.id}
    assert ids(anon_client, "incidents", query) == [new, mid, old]
    for recent in ("recent", "-last_observed_at"):
        assert ids(anon_client, "incidents", query | {"sort": recent}) == [new, mid, old]
    for severity in ("severity", "-severity"):
        assert ids(anon_client, "incidents", query | {"sort": severity}) == [mid, old, new]
    assert ids(anon_client, "incidents", query | {"sort": "first_observed_at"}) == [old, mid, new]


def test_gifts_stay_newest_first_with_undated_ones_last(
    anon_client: TestClient, session: Session
) -> None:
    zoo = make_zoo(session)
    undated = make_gift(session, recipient_zoo_id=zoo.id)
    old = make_gift(session, recipient_zoo_id=zoo.id, delivered_on=datetime(2001, 1, 1).date())
    new = make_gift(session, recipient_zoo_id=zoo.id, delivered_on=datetime(2024, 11, 20).date())
    query = {"recipient_zoo_id": zoo.id}
    assert ids(anon_client, "gifts", query) == [new.id, old.id, undated.id]
    assert ids(anon_client, "gifts", query | {"sort": "delivered_on"}) == [
        old.id,
        new.id,
        undated.id,
    ]


# --- updated_since and plain dates ---------------------------------------------------------

LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("path", "model"),
    [
        ("zoos", Zoo),
        ("species", Species),
        ("gifts", Gift),
        ("animals", Animal),
    ],
)
def test_updated_since(
    anon_client: TestClient, session: Session, path: str, model: type[Any]
) -> None:
    stale = {
        Zoo: lambda: make_zoo(session),
        Species: lambda: make_species(session),
        Gift: lambda: make_gift(session),
        Animal: lambda: make_animal(session),
    }[model]()
    stale.updated_at = LONG_AGO
    session.add(stale)
    session.commit()
    fresh = {
        Zoo: lambda: make_zoo(session),
        Species: lambda: make_species(session),
        Gift: lambda: make_gift(session),
        Animal: lambda: make_animal(session),
    }[model]()
    since = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()  # a plain date
    found = ids(anon_client, path, {"updated_since": since, "limit": 500})
    assert fresh.id in found
    assert stale.id not in found
    # 2019-12-31T23:00Z: an offset is converted to UTC before comparing.
    earlier = ids(anon_client, path, {"updated_since": "2020-01-01T01:00:00+02:00", "limit": 500})
    assert {stale.id, fresh.id} <= set(earlier)


def test_enclosure_and_incident_updated_since(
    client: TestClient, anon_client: TestClient, session: Session
) -> None:
    zoo = make_zoo(session)
    enclosure = make_enclosure(session, zoo)
    incident_id = post_report(client, zoo.id)["incident_id"]
    for row in (enclosure, session.get(WelfareIncident, incident_id)):
        row.updated_at = LONG_AGO  # type: ignore[union-attr]
        session.add(row)
    session.commit()
    query = {"zoo_id": zoo.id}
    assert ids(anon_client, "enclosures", query | {"updated_since": "2020-01-01"}) == [enclosure.id]
    assert ids(anon_client, "enclosures", query | {"updated_since": "2020-01-02"}) == []
    response = client.patch(f"{API}/enclosures/{enclosure.id}", json={"capacity": 3})
    assert response.status_code == 200
    assert ids(anon_client, "enclosures", query | {"updated_since": "2020-01-02"}) == [enclosure.id]
    assert ids(anon_client, "incidents", query | {"updated_since": "2020-01-01"}) == [incident_id]
    assert ids(anon_client, "incidents", query | {"updated_since": "2020-01-02"}) == []


def test_a_plain_date_is_the_start_of_that_day_in_utc(
    client: TestClient, anon_client: TestClient, session: Session
) -> None:
    zoo = make_zoo(session)
    incident = post_report(client, zoo.id, observed_at="2026-11-01T00:00:00Z")["incident_id"]
    query = {"zoo_id": zoo.id}
    assert ids(anon_client, "incidents", query | {"observed_since": "2026-11-01"}) == [incident]
    assert ids(anon_client, "incidents", query | {"observed_until": "2026-11-01"}) == [incident]
    assert ids(anon_client, "incidents", query | {"observed_since": "2026-11-02"}) == []
    assert ids(anon_client, "incidents", query | {"observed_until": "2026-10-31"}) == []


@pytest.mark.parametrize(
    "value",
    ["2026-02-30", "0001-01-01T00:00:00+14:00", "2026-11-01T00:00:00", "1700000000", "2026-11"],
)
@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("incidents", "observed_since"),
        ("incidents", "observed_until"),
        ("incidents", "updated_since"),
        ("zoos", "updated_since"),
        ("reports", "observed_since"),
    ],
)
def test_an_unrepresentable_or_naive_time_is_still_422(
    client: TestClient, path: str, name: str, value: str
) -> None:
    assert_problem(client.get(f"{API}/{path}", params={name: value}), 422, ["query", name])


# --- zoo filters by slug -------------------------------------------------------------------


def test_zoo_filters_take_a_slug(
    client: TestClient, anon_client: TestClient, session: Session
) -> None:
    zoo = make_zoo(session, slug="korea-central-zoo-s")
    other = make_zoo(session)
    animal = make_animal(session, zoo)
    make_animal(session, other)
    enclosure = make_enclosure(session, zoo)
    make_enclosure(session, other)
    gift = make_gift(session, recipient_zoo_id=zoo.id)
    make_gift(session, recipient_zoo_id=other.id)
    incident = post_report(client, zoo.id)["incident_id"]
    post_report(client, other.id)
    for ref in (zoo.slug, str(zoo.id)):
        assert ids(anon_client, "animals", {"zoo_id": ref}) == [animal.id]
        assert ids(anon_client, "enclosures", {"zoo_id": ref}) == [enclosure.id]
        assert ids(anon_client, "gifts", {"recipient_zoo_id": ref}) == [gift.id]
        assert ids(anon_client, "incidents", {"zoo_id": ref}) == [incident]
        assert len(ids(client, "reports", {"zoo_id": ref})) == 1


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("animals", "zoo_id"),
        ("enclosures", "zoo_id"),
        ("gifts", "recipient_zoo_id"),
        ("incidents", "zoo_id"),
        ("reports", "zoo_id"),
    ],
)
def test_an_unknown_zoo_gives_an_empty_list_and_a_malformed_one_422(
    client: TestClient, path: str, name: str
) -> None:
    for unknown in ("no-such-zoo", "0", "2147483647", "99999999999"):
        response = client.get(f"{API}/{path}", params={name: unknown})
        assert response.status_code == 200, response.text
        assert response.json()["items"] == [] and response.json()["total"] == 0
    for bad in ("Not A Slug", "-x", "zoo_1", "a" * 81):
        assert_problem(client.get(f"{API}/{path}", params={name: bad}), 422, ["query", name])
