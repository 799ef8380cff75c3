"""The trade rules: unmatched_trade (no CITES trade record of a crossing) and
non_party_transfer (a crossing to or from a country the Convention did not bind that day),
decided by the listing in force on the day of the crossing and by the countries' party
dates; every write they read (trade imports, listings, countries, transfers) invalidates
the lists; and the seed's Korea Central Zoo shows them."""

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.core import migrations
from app.core.config import Settings
from app.main import create_app
from app.models import Animal, Species
from app.models.enums import Origin
from app.seed.loader import load_seed
from tests.dbutil import create_database, drop_database
from tests.factories import make_animal, make_gift, make_species, make_zoo
from tests.records.test_trade_records import CURRENT_HEADER, post_file

ARRIVED = date(2023, 5, 10)
DAY = timedelta(days=1)
PARTIES = "https://cites.org/eng/disc/parties/chronolo.php"


def flags(client: TestClient, animal: Animal) -> dict[str, dict[str, Any]]:
    response = client.get(f"/api/v1/animals/{animal.id}/concerns")
    if response.status_code == 404:
        return {}
    assert response.status_code == 200, response.text
    return {f["rule"]: f for f in response.json()["flags"]}


def trade_rules(client: TestClient, animal: Animal) -> set[str]:
    wanted = {"undocumented_trade", "unmatched_trade", "non_party_transfer"}
    return set(flags(client, animal)) & wanted


def gifted(
    session: Session,
    species: Species,
    *,
    arrived_on: date = ARRIVED,
    donor: str = "RU",
    recipient: str = "KP",
    permit: str | None = "RU-2023-001",
) -> Animal:
    zoo = make_zoo(session, country_code=recipient)
    gift = make_gift(
        session,
        donor_country=donor,
        recipient_country=recipient,
        recipient_zoo_id=zoo.id,
        delivered_on=arrived_on,
        cites_permit_ref=permit,
    )
    return make_animal(
        session,
        zoo,
        species,
        origin=Origin.diplomatic_gift,
        gift_id=gift.id,
        arrived_on=arrived_on,
    )


def trade_row(taxon: str, year: int, *, exporter: str = "RU", importer: str = "KP") -> str:
    return f"{year},II,{taxon},,,,,{importer},{exporter},,,1,live,,Z,C"


def set_party(client: TestClient, code: str, since: date | None, source: str | None) -> None:
    response = client.patch(
        f"/api/v1/countries/{code}",
        json={"cites_party_since": since and str(since), "source_url": source},
    )
    assert response.status_code == 200, response.text


# --- unmatched_trade ------------------------------------------------------------------------


def test_unmatched_trade_is_raised_then_cleared_by_importing_the_record(
    client: TestClient, session: Session
) -> None:
    species = make_species(session, scientific_name="Panthera testii", cites_appendix="II")
    lion = gifted(session, species)
    flag = flags(client, lion)["unmatched_trade"]
    assert flag["severity"] == 2
    assert flag["reason"] == (
        "a CITES Appendix II species that came from Russian Federation (RU) to Korea, "
        "Democratic People's Republic of (KP) on 2023-05-10; the CITES trade records on file "
        "have no live Panthera testii exported from RU to KP in 2023 or 2024"
    )
    near_misses = [
        CURRENT_HEADER,
        trade_row("Panthera testii", 2023).replace(",live,", ",skins,"),  # not live
        trade_row("Panthera testii", 2023, exporter="KP", importer="RU"),  # the other way
        trade_row("Panthera testii", 2022),  # the year before
        trade_row("Panthera testii", 2025),  # two years after
        trade_row("Panthera otherii", 2023),  # another taxon
        trade_row("Panthera testii", 2023, exporter="CN"),  # another exporter
    ]
    assert post_file(client, "\n".join(near_misses)).json()["created"] == 6
    assert "unmatched_trade" in flags(client, lion)
    imported = post_file(client, "\n".join([CURRENT_HEADER, trade_row("Panthera testii", 2024)]))
    assert imported.json()["created"] == 1
    assert "unmatched_trade" not in flags(client, lion)


def test_the_years_after_arrival_come_from_the_settings(session: Session) -> None:
    from app.concerns.rules import THRESHOLDS

    assert "concern_trade_years_after" in THRESHOLDS


def test_no_crossing_no_trade_rule(client: TestClient, session: Session) -> None:
    species = make_species(session, cites_appendix="I")
    home = gifted(session, species, donor="KP", recipient="KP")  # a gift within one country
    bred = make_animal(session, make_zoo(session), species, origin=Origin.captive_born)
    unlisted = gifted(session, make_species(session, cites_appendix=None))
    assert trade_rules(client, home) == set()
    assert trade_rules(client, bred) == set()
    assert trade_rules(client, unlisted) == set()


# --- the listing in force on the day ---------------------------------------------------------


def listing(client: TestClient, species: Species, start: date, end: date | None = None) -> None:
    body = {"kind": "cites", "value": "II", "valid_from": str(start), "source_url": PARTIES}
    if end is not None:
        body["valid_to"] = str(end)
    response = client.post(f"/api/v1/species/{species.id}/statuses", json=body)
    assert response.status_code == 201, response.text


def test_the_listing_in_force_on_arrival_decides(client: TestClient, session: Session) -> None:
    # Listed from ARRIVED on: an animal that arrived the day before crossed unlisted.
    species = make_species(session, cites_appendix=None)
    before = gifted(session, species, arrived_on=ARRIVED - DAY, permit=None)
    on_the_day = gifted(session, species, arrived_on=ARRIVED, permit=None)
    everything = {"undocumented_trade", "unmatched_trade", "non_party_transfer"}
    assert trade_rules(client, on_the_day) == set()  # not listed at all yet
    listing(client, species, ARRIVED)  # the listing's write invalidates the holders' lists
    assert trade_rules(client, before) == set()
    assert trade_rules(client, on_the_day) == everything
    # Listed until ARRIVED (its last day): the day after, it was no longer.
    delisted = make_species(session, cites_appendix="II")
    listing(client, delisted, date(1990, 1, 1), ARRIVED)
    last_day = gifted(session, delisted, arrived_on=ARRIVED, permit=None)
    day_after = gifted(session, delisted, arrived_on=ARRIVED + DAY, permit=None)
    assert trade_rules(client, last_day) == everything
    assert trade_rules(client, day_after) == set()


# --- non_party_transfer ---------------------------------------------------------------------


def test_party_dates_decide_non_party_transfer(client: TestClient, session: Session) -> None:
    species = make_species(session, cites_appendix="I")
    animal = gifted(session, species, recipient="NP")
    set_party(client, "NP", None, PARTIES)  # a source says it never joined
    flag = flags(client, animal)["non_party_transfer"]
    assert flag["severity"] == 4
    assert flag["reason"] == (
        "a CITES Appendix I species moved from Russian Federation (RU) to Nepal (NP) on "
        "2023-05-10, when NP was not a Party to CITES (NP has never joined): no CITES permit "
        "or trade report covers the move"
    )
    set_party(client, "NP", ARRIVED + DAY, PARTIES)  # it joined the day after
    assert (
        "NP became a Party on 2023-05-11" in flags(client, animal)["non_party_transfer"]["reason"]
    )
    set_party(client, "NP", ARRIVED, PARTIES)  # a Party on the day itself
    assert "non_party_transfer" not in flags(client, animal)
    set_party(client, "NP", None, None)  # not recorded: nothing is claimed
    assert "non_party_transfer" not in flags(client, animal)


def test_both_countries_outside_are_named(client: TestClient, session: Session) -> None:
    species = make_species(session, cites_appendix="III")
    animal = gifted(session, species, donor="TV", recipient="NP")
    set_party(client, "NP", None, PARTIES)
    set_party(client, "TV", date(2024, 1, 1), PARTIES)
    reason = flags(client, animal)["non_party_transfer"]["reason"]
    assert (
        "when TV and NP were not Parties to CITES (TV became a Party on 2024-01-01; NP has "
        "never joined)"
    ) in reason


def test_a_transfer_across_a_border_is_a_crossing(client: TestClient, session: Session) -> None:
    moscow = make_zoo(session, country_code="RU")
    pyongyang, wonsan = make_zoo(session, country_code="KP"), make_zoo(session, country_code="KP")
    species = make_species(session, scientific_name="Ursus testii", cites_appendix="II")
    bear = make_animal(session, moscow, species, origin=Origin.captive_born)
    assert trade_rules(client, bear) == set()
    sent = client.post(
        f"/api/v1/animals/{bear.id}/transfers",
        json={"to_zoo_id": pyongyang.id, "on": "2024-03-01"},
    )
    assert sent.status_code == 201, sent.text
    found = flags(client, bear)
    assert set(found) >= {"non_party_transfer", "unmatched_trade"}
    assert "on 2024-03-01" in found["non_party_transfer"]["reason"]
    assert (
        "no live Ursus testii exported from RU to KP in 2024 or 2025"
        in (found["unmatched_trade"]["reason"])
    )
    # Within one country, a transfer crosses nothing; the first crossing stays on record.
    other = make_animal(session, pyongyang, species, origin=Origin.captive_born)
    moved = client.post(
        f"/api/v1/animals/{other.id}/transfers", json={"to_zoo_id": wonsan.id, "on": "2024-04-01"}
    )
    assert moved.status_code == 201, moved.text
    assert trade_rules(client, other) == set()


# --- the seed -------------------------------------------------------------------------------


@pytest.fixture
def seeded_client() -> Iterator[TestClient]:
    url = create_database("trade_seed")
    migrations.upgrade(url)
    settings = Settings(database_url=url)
    app = create_app(settings)
    load_seed(app.state.write_engine)
    with TestClient(app) as client:
        yield client
    app.state.engine.dispose()
    app.state.write_engine.dispose()
    drop_database(url)


def test_the_seed_shows_the_november_gift_outside_the_convention(
    seeded_client: TestClient,
) -> None:
    body = seeded_client.get("/api/v1/zoos/korea-central-zoo/concerns").json()
    flagged = {
        item["name"]: {f["rule"]: f["reason"] for f in item["flags"]}
        for item in body["items"]
        if item["subject_type"] == "animal"
    }
    outside = {name for name, rules in flagged.items() if "non_party_transfer" in rules}
    assert {
        "African lion KCZ-2024-11-LION-1",
        "Brown bear KCZ-2024-11-BEAR-1",
        "Brown bear KCZ-2024-11-BEAR-2",
    } <= outside
    assert flagged["African lion KCZ-2024-11-LION-1"]["non_party_transfer"] == (
        "a CITES Appendix II species moved from Russian Federation (RU) to Korea, Democratic "
        "People's Republic of (KP) on 2024-11-20, when KP was not a Party to CITES (KP has "
        "never joined): no CITES permit or trade report covers the move"
    )
    # Dallae arrived by no recorded crossing; the domestic yaks are not CITES-listed.
    for name, rules in flagged.items():
        if "Dallae" in name or "yak" in name.lower():
            assert "non_party_transfer" not in rules, name
