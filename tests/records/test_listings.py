"""Dated species listings: created, listed and deleted through the API; the species' current
columns are the listings in force today, set by the same write; listings of a kind never
overlap and take only their kind's values; `status_on` at the edges of a listing; the seed's
listing loaded once."""

import threading
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.core import migrations
from app.core.config import Settings
from app.core.db import make_engine
from app.core.errors import Unprocessable
from app.models import Animal, Species, SpeciesStatus, Zoo
from app.models.api_key import Role
from app.models.base import utcnow
from app.models.enums import CitesAppendix, IucnCategory
from app.models.listing import CitesListingCreate, ListingKind
from app.records.listings import value_in_force
from app.seed.loader import load_seed
from app.services import listings as listing_service
from tests.api.test_errors import assert_problem
from tests.api.test_reports import bearer
from tests.dbutil import create_database, drop_database
from tests.factories import make_animal, make_key, make_species, make_zoo

API = "/api/v1/species"
TODAY = utcnow().date()
DAY = timedelta(days=1)


def path(species: Species) -> str:
    return f"{API}/{species.id}/statuses"


def add(client: TestClient, species: Species, **body: Any) -> dict[str, Any]:
    response = client.post(path(species), json={k: str(v) for k, v in body.items()})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def shown(client: TestClient, species: Species) -> tuple[str | None, str | None]:
    body = client.get(f"{API}/{species.id}").json()
    return body["iucn_category"], body["cites_appendix"]


def test_create_list_and_delete(client: TestClient, session: Session) -> None:
    species = make_species(session, iucn_category="EN", cites_appendix="II")
    appendix_ii = add(
        client, species, kind="cites", value="II", valid_from="1975-07-01", valid_to="1977-02-03"
    )
    endangered = add(client, species, kind="iucn", value="EN", valid_from="1996-01-01")
    appendix_i = add(
        client,
        species,
        kind="cites",
        value="I",
        valid_from="1977-02-04",
        source_url="https://speciesplus.net/",
    )
    assert appendix_i == {
        "id": appendix_i["id"],
        "species_id": species.id,
        "kind": "cites",
        "value": "I",
        "valid_from": "1977-02-04",
        "valid_to": None,
        "source_url": "https://speciesplus.net/",
        "created_at": appendix_i["created_at"],
    }
    everything = client.get(path(species)).json()
    assert [s["id"] for s in everything["items"]] == [
        appendix_ii["id"],
        appendix_i["id"],
        endangered["id"],
    ]  # oldest first
    assert everything["total"] == 3
    cites = client.get(path(species), params={"kind": "cites"}).json()["items"]
    assert [s["value"] for s in cites] == ["II", "I"]
    assert shown(client, species) == ("EN", "I")

    gone = client.delete(f"{path(species)}/{appendix_i['id']}")
    assert gone.status_code == 204, gone.text
    assert [s["id"] for s in client.get(path(species)).json()["items"]] == [
        appendix_ii["id"],
        endangered["id"],
    ]
    # Appendix II ended in 1977 and nothing of the kind is in force now.
    assert shown(client, species) == ("EN", None)
    assert_problem(client.delete(f"{path(species)}/{appendix_i['id']}"), 404)
    other = make_species(session)
    assert_problem(client.delete(f"{path(other)}/{appendix_ii['id']}"), 404)  # not its listing
    assert_problem(client.get(f"{API}/2147483647/statuses"), 404)
    body = {"kind": "cites", "value": "I", "valid_from": "1977-02-04"}
    assert_problem(client.post(f"{API}/2147483647/statuses", json=body), 404)


def test_the_listing_in_force_today_sets_the_column(client: TestClient, session: Session) -> None:
    species = make_species(session, iucn_category="LC", cites_appendix=None)
    add(client, species, kind="iucn", value="VU", valid_from=TODAY - 10 * DAY, valid_to=TODAY)
    assert shown(client, species) == ("VU", None)  # the cites column untouched: no listing
    add(client, species, kind="cites", value="III", valid_from=TODAY)
    assert shown(client, species) == ("VU", "III")


def test_one_that_ended_yesterday_clears_it(client: TestClient, session: Session) -> None:
    species = make_species(session, iucn_category="LC", cites_appendix="II")
    before = client.get(f"{API}/{species.id}").json()["updated_at"]
    add(client, species, kind="cites", value="I", valid_from="1990-01-01", valid_to=TODAY - DAY)
    assert shown(client, species) == ("LC", None)
    assert client.get(f"{API}/{species.id}").json()["updated_at"] > before
    # One that begins tomorrow is not in force yet either.
    add(client, species, kind="cites", value="II", valid_from=TODAY + DAY)
    assert shown(client, species) == ("LC", None)


def test_a_species_with_none_of_a_kind_keeps_its_column(
    client: TestClient, session: Session
) -> None:
    species = make_species(session, iucn_category="EN", cites_appendix="I")
    add(client, species, kind="iucn", value="CR", valid_from="2020-01-01")
    assert shown(client, species) == ("CR", "I")
    listing = client.get(path(species)).json()["items"][0]
    assert client.delete(f"{path(species)}/{listing['id']}").status_code == 204
    assert shown(client, species) == ("CR", "I")  # none left of the kind: left as it was


def test_overlaps_are_refused_naming_the_other(client: TestClient, session: Session) -> None:
    species = make_species(session)
    first = add(
        client, species, kind="cites", value="II", valid_from="1975-07-01", valid_to="1977-02-03"
    )
    second = add(client, species, kind="cites", value="I", valid_from="1977-02-04")
    add(client, species, kind="iucn", value="EN", valid_from="1976-01-01")  # another kind
    for valid_from, valid_to, other in (
        ("1977-02-03", "1977-02-03", first),  # its last day
        ("1970-01-01", "1975-07-01", first),  # its first day
        ("1976-01-01", None, first),
        ("2030-01-01", None, second),  # still in force
        ("2030-01-01", "2031-01-01", second),
    ):
        body = {"kind": "cites", "value": "III", "valid_from": valid_from, "valid_to": valid_to}
        refused = assert_problem(client.post(path(species), json=body), 422, ["body", "valid_from"])
        assert f"overlaps cites listing {other['id']} " in refused["detail"]
    assert client.get(path(species)).json()["total"] == 3
    # Back to back is no overlap.
    other = make_species(session)
    add(client, other, kind="cites", value="II", valid_from="1975-07-01", valid_to="1977-02-03")
    add(client, other, kind="cites", value="I", valid_from="1977-02-04")


def test_values_dates_and_kinds_are_checked(client: TestClient, session: Session) -> None:
    species = make_species(session, cites_appendix=None)
    for body, location in (
        ({"kind": "cites", "value": "EN", "valid_from": "1977-02-04"}, ["body", "cites", "value"]),
        ({"kind": "iucn", "value": "II", "valid_from": "1977-02-04"}, ["body", "iucn", "value"]),
        (
            {"kind": "cites", "value": "I", "valid_from": "1977-02-31"},
            ["body", "cites", "valid_from"],
        ),
        ({"kind": "trade", "value": "I", "valid_from": "1977-02-04"}, ["body"]),
        ({"value": "I", "valid_from": "1977-02-04"}, ["body"]),
        ({"kind": {"a": 1}, "value": "I", "valid_from": "1977-02-04"}, ["body"]),
        ({"kind": ["cites"], "value": "I", "valid_from": "1977-02-04"}, ["body"]),
        ({"kind": "cites", "value": "I"}, ["body", "cites", "valid_from"]),
        (
            {"kind": "cites", "value": "I", "valid_from": "1977-02-04", "source_url": "x"},
            ["body", "cites", "source_url"],
        ),
        (
            {"kind": "cites", "value": "I", "valid_from": "1977-02-04", "species_id": 1},
            ["body", "cites", "species_id"],
        ),
        (
            {"kind": "cites", "value": "I", "valid_from": "1977-02-04", "valid_to": "1977-02-03"},
            ["body", "valid_to"],
        ),
    ):
        response = client.post(path(species), json=body)
        refused = assert_problem(response, 422)
        found = [e["location"] for e in refused["errors"]]
        assert any(loc[: len(location)] == location for loc in found), (body, found)
    dog = make_species(session, is_domestic=True, iucn_category=None)
    body = {"kind": "iucn", "value": "LC", "valid_from": "2000-01-01"}
    assert_problem(client.post(path(dog), json=body), 422, ["body", "kind"])
    assert client.post(path(dog), json=body | {"kind": "cites", "value": "II"}).status_code == 201
    assert client.get(path(species)).json()["total"] == 0
    assert shown(client, species)[1] is None


def test_who_may_write(anon_client: TestClient, session: Session) -> None:
    species = make_species(session)
    body = {"kind": "cites", "value": "II", "valid_from": "1977-02-04"}
    assert_problem(anon_client.post(path(species), json=body), 401)
    reporter = bearer(make_key(session, Role.reporter))
    assert_problem(anon_client.post(path(species), json=body, headers=reporter), 403)
    scoped = bearer(make_key(session, Role.inspector, zoos=[make_zoo(session).slug]))
    assert_problem(anon_client.post(path(species), json=body, headers=scoped), 403)
    inspector = bearer(make_key(session, Role.inspector))
    created = anon_client.post(path(species), json=body, headers=inspector)
    assert created.status_code == 201, created.text
    one = f"{path(species)}/{created.json()['id']}"
    assert_problem(anon_client.delete(one, headers=inspector), 403)
    assert anon_client.get(path(species)).json()["total"] == 1  # reads are public
    admin = bearer(make_key(session, Role.admin))
    assert anon_client.delete(one, headers=admin).status_code == 204


def test_status_on_at_the_edges(session: Session) -> None:
    species = make_species(session)
    species_id = species.id
    assert species_id is not None
    listing_service.record(
        session=session,
        species=species,
        listing_in=_cites("II", date(1975, 7, 1), date(1977, 2, 3)),
        actor=None,
    )
    listing_service.record(
        session=session, species=species, listing_in=_cites("I", date(1977, 2, 4)), actor=None
    )
    session.commit()

    def on(day: date) -> Any:
        return listing_service.status_on(session, species_id, ListingKind.cites, day)

    assert on(date(1975, 6, 30)) is None  # the day before valid_from
    assert on(date(1975, 7, 1)) is CitesAppendix.II  # valid_from
    assert on(date(1977, 2, 3)) is CitesAppendix.II  # valid_to, its last day
    assert on(date(1977, 2, 4)) is CitesAppendix.I  # the day after: the next listing
    assert on(date(9999, 12, 31)) is CitesAppendix.I  # still in force
    assert listing_service.status_on(session, species_id, ListingKind.iucn, TODAY) is None

    # In one statement for many rows, on a column of days: the listing in force on arrival.
    zoo = make_zoo(session)
    early = make_animal(session, zoo, species, arrived_on=date(1977, 2, 3))
    late = make_animal(session, zoo, species, arrived_on=date(1977, 2, 4))
    unknown = make_animal(session, zoo, species, arrived_on=None)
    in_force = value_in_force(ListingKind.cites, Animal.species_id, Animal.arrived_on)
    rows = session.exec(
        select(Animal.id, in_force).where(Animal.species_id == species_id).order_by(Animal.id)
    ).all()
    assert [tuple(r) for r in rows] == [(early.id, "II"), (late.id, "I"), (unknown.id, None)]


def _cites(value: str, valid_from: date, valid_to: date | None = None) -> CitesListingCreate:
    return CitesListingCreate(
        kind="cites", value=CitesAppendix(value), valid_from=valid_from, valid_to=valid_to
    )


def test_refresh_all_follows_the_calendar(client: TestClient, session: Session) -> None:
    species = make_species(session, iucn_category="NT")
    add(client, species, kind="iucn", value="VU", valid_from="2000-01-01", valid_to=TODAY)
    add(client, species, kind="iucn", value="EN", valid_from=TODAY + DAY)
    assert shown(client, species)[0] == "VU"
    assert listing_service.refresh_all(session, TODAY) == 0
    assert listing_service.refresh_all(session, TODAY + DAY) == 1  # tomorrow's rollover
    session.refresh(species)
    assert species.iucn_category is IucnCategory.EN


def test_a_change_of_column_reaches_the_concern_lists(client: TestClient, session: Session) -> None:
    """The species' write is an ORM write: the concern hook marks the zoos holding it."""
    zoo = make_zoo(session)
    species = make_species(session, cites_appendix="II")
    make_animal(session, zoo, species)
    before = session.get(Zoo, zoo.id)
    assert before is not None
    version = before.concern_version
    add(client, species, kind="cites", value="I", valid_from="1977-02-04")
    session.expire_all()
    after = session.get(Zoo, zoo.id)
    assert after is not None and after.concern_version > version


def test_deleting_a_species_deletes_its_listings(client: TestClient, session: Session) -> None:
    species = make_species(session)
    add(client, species, kind="cites", value="II", valid_from="1977-02-04")
    assert client.delete(f"{API}/{species.id}").status_code == 204
    session.expire_all()
    count = select(func.count()).select_from(SpeciesStatus)
    left = session.exec(count.where(SpeciesStatus.species_id == species.id)).one()
    assert left == 0


@pytest.mark.parametrize(
    "row",
    [
        {"kind": "cites", "value": "EN", "valid_from": date(1977, 2, 4)},
        {"kind": "iucn", "value": "I", "valid_from": date(1977, 2, 4)},
        {
            "kind": "cites",
            "value": "I",
            "valid_from": date(1977, 2, 4),
            "valid_to": date(1977, 1, 1),
        },
    ],
    ids=["value-of-another-kind", "value-of-another-kind-iucn", "range-reversed"],
)
def test_the_database_refuses_what_the_api_does(session: Session, row: dict[str, Any]) -> None:
    """Migration 0018's CHECK constraints, for writes that bypass the service."""
    species = make_species(session)
    values = {"species_id": species.id, "created_at": utcnow()} | row
    with pytest.raises(IntegrityError), session.begin_nested():
        session.connection().execute(insert(SpeciesStatus), [values])


@pytest.fixture
def seeded_engine() -> Iterator[Engine]:
    url = create_database("listings")
    migrations.upgrade(url)
    engine = make_engine(Settings(database_url=url))
    yield engine
    engine.dispose()
    drop_database(url)


def test_the_seed_loads_its_listing_once(seeded_engine: Engine) -> None:
    load_seed(seeded_engine)
    load_seed(seeded_engine)
    with Session(seeded_engine) as session:
        listings = session.exec(select(SpeciesStatus)).all()
        assert len(listings) == 1
        chimpanzee = session.exec(
            select(Species).where(Species.scientific_name == "Pan troglodytes")
        ).one()
        (listing,) = listings
        assert (listing.species_id, listing.kind, listing.value) == (chimpanzee.id, "cites", "I")
        assert listing.valid_from == date(1977, 2, 4) and listing.valid_to is None
        assert listing.source_url and listing.source_url.startswith("https://speciesplus.net/")
        assert chimpanzee.cites_appendix is CitesAppendix.I


@pytest.fixture
def scratch_engine() -> Iterator[Engine]:
    url = create_database("listings_race")
    migrations.upgrade(url)
    engine = make_engine(Settings(database_url=url))
    yield engine
    engine.dispose()
    drop_database(url)


@pytest.mark.postgres_only
def test_two_overlapping_writes_at_once_one_is_refused(scratch_engine: Engine) -> None:
    """The second write waits for the species row the first holds, then sees its listing."""
    with Session(scratch_engine, expire_on_commit=False) as session:
        species_id = make_species(session).id
    outcome: list[BaseException | None] = []

    def second() -> None:
        with Session(scratch_engine) as other:
            species = other.get(Species, species_id)
            assert species is not None
            try:
                listing_service.record(
                    session=other,
                    species=species,
                    listing_in=_cites("I", date(1980, 1, 1)),
                    actor=None,
                )
                other.commit()
                outcome.append(None)
            except Exception as exc:
                outcome.append(exc)

    with Session(scratch_engine) as first:
        species = first.get(Species, species_id)
        assert species is not None
        listing_service.record(
            session=first, species=species, listing_in=_cites("II", date(1977, 2, 4)), actor=None
        )
        thread = threading.Thread(target=second)
        thread.start()
        thread.join(timeout=0.5)
        assert thread.is_alive()  # waiting for the species row
        first.commit()
    thread.join(timeout=10)
    assert len(outcome) == 1 and isinstance(outcome[0], Unprocessable), outcome
    assert "overlaps cites listing" in outcome[0].detail
    with Session(scratch_engine) as session:
        values = session.exec(select(SpeciesStatus.value)).all()
        assert values == ["II"]
