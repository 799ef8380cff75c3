"""Bulk import: rows upserted by natural keys from CSV and NDJSON, checked as the API checks
one record, whole or not at all with every bad row reported, a dry run that writes nothing,
zoo scopes, the concern lists invalidated once per file; the CLI commands."""

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlmodel import Session
from typer.testing import CliRunner

from app.cli import cli
from app.core.db import COPY_FROM
from app.models import Animal, Enclosure, Event, Gift, Species, Zoo
from app.models.api_key import Role
from app.services import imports as import_service
from tests.api.test_errors import assert_problem
from tests.api.test_reports import bearer
from tests.factories import make_key
from tests.test_cli_keys import cli_database, cli_engine

__all__ = ["cli_database", "cli_engine"]  # the fixtures this module uses

API = "/api/v1/imports"

ZOOS = """slug,name,city,country_code,latitude,longitude,opened_year,notes
north-zoo,North Zoo,Oslo,NO,59.9,10.7,1950,
south-zoo,South Zoo,"Cape Town, Western Cape",ZA,-33.9,18.4,,"A note, with a comma"
"""
SPECIES = (
    "scientific_name,common_name,taxon_class,iucn_category,cites_appendix,social_structure,"
    "min_group_size,min_area_m2,climate_zones,is_domestic\n"
    "Panthera importii,Imported lion,mammal,VU,II,group,3,250,tropical;arid,false\n"
    "Ursus importii,Imported bear,mammal,LC,,solitary,1,150,temperate,false\n"
)
LISTINGS = (
    "species,kind,value,valid_from,valid_to,source_url\n"
    "Panthera importii,cites,II,1977-02-04,,\n"
    "Panthera importii,iucn,EN,2000-01-01,2015-12-31,https://www.iucnredlist.org/\n"
)
GIFTS = (
    "title,delivered_on,donor_name,donor_country,recipient_name,recipient_country,"
    "recipient_zoo\n"
    "Lions for the north,2023-05-10,A donor,ZA,North Zoo,NO,north-zoo\n"
    "Undated bears,,Another donor,NO,South Zoo,ZA,\n"
)
ENCLOSURES = """zoo,name,kind,area_m2,capacity,climate,has_enrichment,last_inspected_on
north-zoo,Lion Yard,outdoor,400,4,arid,true,2026-01-15
south-zoo,Bear Wood,outdoor,900,2,temperate,no,
"""
ANIMALS_HEADER = (
    "zoo,identifier,species,enclosure,gift_title,gift_delivered_on,name,sex,count,origin,"
    "arrived_on\n"
)
GIFTED = "Lions for the north,2023-05-10"
LION = "Panthera importii,Lion Yard"
ANIMALS = (
    ANIMALS_HEADER
    + f"north-zoo,N-1,{LION},{GIFTED},Asha,female,1,diplomatic_gift,2023-05-10\n"
    + f"north-zoo,N-2,{LION},{GIFTED},,male,1,diplomatic_gift,2023-05-10\n"
    + "south-zoo,S-1,Ursus importii,Bear Wood,,,Bruno,male,1,captive_born,\n"
)


# Each kind's file, in the order they refer to each other.
FILES = (
    ("zoos", ZOOS),
    ("species", SPECIES),
    ("species_statuses", LISTINGS),
    ("gifts", GIFTS),
    ("enclosures", ENCLOSURES),
    ("animals", ANIMALS),
)


def post(client: TestClient, kind: str, text: str, **kwargs: Any) -> Any:
    media = kwargs.pop("media", "text/csv")
    params = {"dry_run": "true"} if kwargs.pop("dry_run", False) else {}
    return client.post(
        f"{API}/{kind}",
        content=text.encode(),
        params=params,
        headers={"Content-Type": media} | kwargs.pop("headers", {}),
    )


def counts(response: Any) -> tuple[int, int, int]:
    assert response.status_code == 200, response.text
    body = response.json()
    return body["created"], body["updated"], body["unchanged"]


def total(session: Session, model: type[Any]) -> int:
    return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def load_all(client: TestClient) -> None:
    for kind, text in FILES:
        assert counts(post(client, kind, text)) == (2 if kind != "animals" else 3, 0, 0), kind


def test_every_kind_by_natural_keys_then_again_unchanged(
    client: TestClient, session: Session
) -> None:
    load_all(client)
    south = client.get("/api/v1/zoos/south-zoo").json()
    assert (south["city"], south["latitude"], south["notes"]) == (
        "Cape Town, Western Cape",
        -33.9,
        "A note, with a comma",
    )
    lion = client.get("/api/v1/species", params={"q": "Panthera importii"}).json()["items"][0]
    assert lion["climate_zones"] == ["tropical", "arid"] and lion["min_group_size"] == 3
    asha = client.get("/api/v1/animals", params={"q": "N-1"}).json()["items"][0]
    gift = client.get(f"/api/v1/gifts/{asha['gift_id']}").json()
    enclosure = client.get(f"/api/v1/enclosures/{asha['enclosure_id']}").json()
    assert (gift["title"], enclosure["name"], asha["zoo_id"]) == (
        "Lions for the north",
        "Lion Yard",
        enclosure["zoo_id"],
    )
    assert enclosure["has_enrichment"] is True
    # Every file again: nothing changes.
    for kind, text in (("zoos", ZOOS), ("gifts", GIFTS), ("animals", ANIMALS)):
        created, updated, unchanged = counts(post(client, kind, text))
        assert (created, updated) == (0, 0) and unchanged >= 2, kind
    assert total(session, Animal) == 3


def test_a_changed_row_updates_only_what_its_columns_say(client: TestClient) -> None:
    load_all(client)
    # Only the columns given change; a column the file lacks keeps its value.
    moved = "zoo,identifier,name,status\nnorth-zoo,N-2,Kito,deceased\nnorth-zoo,N-1,Asha,alive\n"
    assert counts(post(client, "animals", moved)) == (0, 1, 1)
    kito = client.get("/api/v1/animals", params={"q": "N-2"}).json()["items"][0]
    assert (kito["name"], kito["status"], kito["sex"]) == ("Kito", "deceased", "male")
    # An empty cell is null.
    cleared = "slug,city\nnorth-zoo,\n"
    assert counts(post(client, "zoos", cleared)) == (0, 1, 0)
    assert client.get("/api/v1/zoos/north-zoo").json()["city"] is None


def test_ndjson_rows(client: TestClient) -> None:
    load_all(client)
    lines = [
        {
            "zoo": "south-zoo",
            "identifier": "S-2",
            "species": "Ursus importii",
            "count": 2,
            "sex": "mixed",
            "origin": "captive_born",
            "arrived_on": "2020-02-02",
        },
        {"zoo": "south-zoo", "identifier": "S-1", "name": "Bruno", "count": 1},
    ]
    text = "\n".join(json.dumps(line) for line in lines) + "\n\n"
    assert counts(post(client, "animals", text, media="application/x-ndjson")) == (1, 0, 1)
    wrong = {"zoo": "south-zoo", "identifier": "S-3", "species": "Ursus importii", "count": "2"}
    bad = json.dumps(wrong) + "\n[1]\n"
    body = assert_problem(post(client, "animals", bad, media="application/x-ndjson"), 422)
    assert [e["location"] for e in body["errors"]] == [["body", 1, "count"], ["body", 2, "row"]]


def test_a_dry_run_writes_nothing_and_counts_the_same(client: TestClient, session: Session) -> None:
    assert counts(post(client, "zoos", ZOOS, dry_run=True)) == (2, 0, 0)
    assert client.get("/api/v1/zoos/north-zoo").status_code == 404
    load_all(client)
    events = total(session, Event)
    changed = ANIMALS.replace(",Asha,", ",Ashanti,") + (
        "south-zoo,S-9,Ursus importii,,,,,male,1,captive_born,\n"
    )
    result = post(client, "animals", changed, dry_run=True)
    assert result.json()["dry_run"] is True
    assert counts(result) == (1, 1, 2)
    assert total(session, Animal) == 3 and total(session, Event) == events
    assert client.get("/api/v1/animals", params={"q": "Ashanti"}).json()["total"] == 0


def test_every_bad_row_is_reported_and_nothing_lands(client: TestClient, session: Session) -> None:
    load_all(client)
    text = ANIMALS + "\n".join(
        [
            "north-zoo,N-3,Panthera importii,Lion Yard,,,,male,1,captive_born,",  # good
            "north-zoo,N-4,Panthera leoo,Nowhere,,,,x,0,captive_born,2099-01-01",
            "no-such-zoo,N-5,Panthera importii,,,,,male,1,captive_born,",
            "north-zoo,N-8,Panthera importii,,,,,male,1,captive_born,",
            "north-zoo,N-6,Panthera importii,Bear Wood,,,,male,1,captive_born,",
            "north-zoo,N-7,Panthera importii,,,,,male,1,diplomatic_gift,",
            "north-zoo,N-1,Panthera importii,Lion Yard,,,,female,1,captive_born,",
        ]
    )
    body = assert_problem(post(client, "animals", text), 422)
    assert body["detail"].startswith("5 of the file's 10 rows are not valid; nothing was")
    found = {(e["location"][1], e["location"][2]): e["message"] for e in body["errors"]}
    assert found == {
        (6, "species"): "no species named 'Panthera leoo'",
        (6, "enclosure"): "no enclosure named 'Nowhere'",
        (6, "sex"): "must be one of 'male', 'female', 'unknown', 'mixed'",
        (6, "count"): "Input should be greater than or equal to 1",
        (6, "arrived_on"): "the date is in the future",
        (7, "zoo"): "no zoo with slug 'no-such-zoo'",
        (9, "enclosure"): "no enclosure named 'Bear Wood'",  # it is in the other zoo
        (10, "gift_title"): "An animal whose origin is diplomatic_gift needs the gift_id of that "
        "gift.",
        (11, "row"): "repeats row 2: the same natural key",
    }
    assert total(session, Animal) == 3  # the good rows N-3 and N-8 did not land either


def test_a_row_without_its_key_is_an_error_but_an_animal_without_identifier_is_new(
    client: TestClient, session: Session
) -> None:
    load_all(client)
    body = assert_problem(post(client, "zoos", "slug,name,country_code\n,Nameless,NO\n"), 422)
    assert [(e["location"][1:], e["message"]) for e in body["errors"]] == [
        ([2, "slug"], "is needed: rows are matched by it")
    ]
    unnamed = ANIMALS_HEADER + "north-zoo,,Panthera importii,,,,,male,1,captive_born,\n"
    assert counts(post(client, "animals", unnamed)) == (1, 0, 0)
    assert counts(post(client, "animals", unnamed)) == (1, 0, 0)  # nothing to match it by
    assert total(session, Animal) == 5


def test_what_is_not_an_import_file(client: TestClient) -> None:
    unknown = assert_problem(post(client, "zoos", "slug,name,colour\nx,X,red\n"), 422)
    assert unknown["detail"].startswith("The header names columns this kind does not have: colour")
    assert_problem(client.post(f"{API}/zoos", json={"slug": "x"}), 415)
    assert_problem(post(client, "zoos", ""), 422)
    assert_problem(
        client.post(f"{API}/lions", content=b"a\n", headers={"Content-Type": "text/csv"}), 422
    )
    # An export's own columns (ids, time stamps) are skipped, not refused.
    exported = "id,slug,name,country_code,created_at,updated_at\n7,west-zoo,West Zoo,PE,x,y\n"
    assert counts(post(client, "zoos", exported)) == (1, 0, 0)


def test_scoped_inspectors_write_only_their_zoos_rows(
    client: TestClient, anon_client: TestClient, session: Session
) -> None:
    load_all(client)
    north = make_key(session, Role.inspector, zoos=["north-zoo"])
    mine = "zoo,name,kind,area_m2,capacity,climate\nnorth-zoo,Pool,aquatic,50,3,temperate\n"
    assert counts(post(anon_client, "enclosures", mine, headers=bearer(north))) == (1, 0, 0)
    theirs = mine + "south-zoo,Pool,aquatic,50,3,temperate\n"
    body = assert_problem(post(anon_client, "enclosures", theirs, headers=bearer(north)), 422)
    south_id = client.get("/api/v1/zoos/south-zoo").json()["id"]
    north_id = client.get("/api/v1/zoos/north-zoo").json()["id"]
    assert body["errors"] == [
        {
            "location": ["body", 3, "zoo"],
            "message": (
                f"this key is limited to zoos [{north_id}]; it may not act on zoo {south_id}"
            ),
            "type": "value_error",
        }
    ]
    # Species belong to no zoo; zoos need an admin.
    species = "scientific_name,common_name,taxon_class\nFelis scopeii,Cat,mammal\n"
    assert_problem(post(anon_client, "species", species, headers=bearer(north)), 422)
    assert_problem(post(anon_client, "zoos", ZOOS, headers=bearer(north)), 403)
    reporter = make_key(session, Role.reporter)
    assert_problem(post(anon_client, "animals", ANIMALS, headers=bearer(reporter)), 403)
    assert_problem(post(anon_client, "animals", ANIMALS), 401)


def test_the_concern_lists_are_invalidated_once_per_file(
    client: TestClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_all(client)
    # Alone in its enclosure, a group species is flagged: the list shows the new rows.
    before = client.get("/api/v1/zoos/south-zoo/concerns").json()
    south = client.get("/api/v1/zoos/south-zoo").json()["id"]

    def version_now() -> int:
        query = select(Zoo.concern_version).where(Zoo.id == south)  # type: ignore[arg-type]
        return int(session.execute(query).scalar_one())

    version = version_now()
    monkeypatch.setattr(import_service, "BATCH", 2)  # five rows: three flushes
    rows = "".join(
        f"south-zoo,L-{n},Panthera importii,,,,,female,1,captive_born,\n" for n in range(5)
    )
    assert counts(post(client, "animals", ANIMALS_HEADER + rows)) == (5, 0, 0)
    assert version_now() == version + 1
    after = client.get("/api/v1/zoos/south-zoo/concerns").json()
    assert after["total"] == before["total"] + 5


def test_each_imported_animal_is_in_the_change_feed(client: TestClient) -> None:
    load_all(client)
    feed = client.get("/api/v1/events", params={"type": "animal.registered", "limit": 500})
    names = {e["data"]["identifier"] for e in feed.json()["items"]}
    assert {"N-1", "N-2", "S-1"} <= names


def test_a_long_file_records_each_animal_as_the_api_shows_it(client: TestClient) -> None:
    """Enough rows that PostgreSQL is sent COPY for their events and arrivals (COPY_FROM): each
    event's data is the animal as GET /animals/{id} has it, and its arrival is on its day."""
    load_all(client)
    count = COPY_FROM + 100
    rows = "".join(
        f'north-zoo,LONG-{n},{LION},,,Ünïcode {n} "quoted",female,1,captive_born,'
        f"2021-03-{1 + n % 28:02d}\n"
        for n in range(count)
    )
    assert counts(post(client, "animals", ANIMALS_HEADER + rows)) == (count, 0, 0)
    feed = client.get("/api/v1/events", params={"type": "animal.registered", "limit": 1000})
    registered = {
        e["data"]["identifier"]: e for e in feed.json()["items"] if e["subject_type"] == "animal"
    }
    assert {f"LONG-{n}" for n in range(count)} <= registered.keys()
    for n in (0, count - 1):
        event = registered[f"LONG-{n}"]
        animal = client.get(f"/api/v1/animals/{event['subject_id']}").json()
        assert event["data"] == animal
        assert animal["name"] == f'Ünïcode {n} "quoted"'
        assert event["occurred_at"].endswith("Z") or "+00:00" in event["occurred_at"]
        moves = client.get(f"/api/v1/animals/{animal['id']}/movements").json()["items"]
        assert [(m["kind"], m["at"]) for m in moves] == [("arrival", f"2021-03-{1 + n % 28:02d}")]


def test_listings_keep_the_api_rules_and_set_what_is_in_force(
    client: TestClient, anon_client: TestClient, session: Session
) -> None:
    load_all(client)
    lion = client.get("/api/v1/species", params={"q": "Panthera importii"}).json()["items"][0]
    # As after POST .../statuses: the listings in force today, none for iucn (it ended).
    assert (lion["cites_appendix"], lion["iucn_category"]) == ("II", None)
    listings = client.get(f"/api/v1/species/{lion['id']}/statuses").json()["items"]
    assert [(x["kind"], x["value"], x["valid_to"]) for x in listings] == [
        ("cites", "II", None),
        ("iucn", "EN", "2015-12-31"),
    ]
    header = LISTINGS.splitlines()[0] + "\n"
    current = header + "Panthera importii,iucn,CR,2016-01-01,,\n"
    assert counts(post(client, "species_statuses", current)) == (1, 0, 0)
    lion = client.get(f"/api/v1/species/{lion['id']}").json()
    assert lion["iucn_category"] == "CR"  # in force today, as after POST .../statuses
    changed = (
        header + "Panthera importii,iucn,EN,2000-01-01,2014-12-31,https://www.iucnredlist.org/\n"
    )
    assert counts(post(client, "species_statuses", changed)) == (0, 1, 0)
    bad = header + (
        "Panthera importii,iucn,EN,2010-01-01,2010-12-31,\n"  # inside the stored 2000-2014
        "Ursus importii,cites,I,1990-01-01,,\n"
        "Ursus importii,cites,II,1995-01-01,,\n"  # overlaps the row above
        "Ursus importii,cites,VU,1970-01-01,1971-01-01,\n"  # an IUCN value
        "Ursus importii,iucn,LC,2001-01-01,2000-01-01,\n"  # ends before it begins
    )
    body = assert_problem(post(client, "species_statuses", bad), 422)
    found = {(e["location"][1], e["location"][2]): e["message"] for e in body["errors"]}
    assert found == {
        (2, "valid_from"): "overlaps the iucn listing from 2000-01-01 to 2014-12-31 "
        f"(listing {listings[1]['id']})",
        (4, "valid_from"): "overlaps the cites listing from 1990-01-01 to still in force (row 3)",
        (5, "value"): "a cites listing's value is one of 'I', 'II', 'III'",
        (6, "valid_to"): "valid_to is before valid_from",
    }
    domestic = "scientific_name,common_name,taxon_class,is_domestic\nBos importii,Cow,mammal,true\n"
    assert counts(post(client, "species", domestic)) == (1, 0, 0)
    body = assert_problem(
        post(client, "species_statuses", header + "Bos importii,iucn,LC,2000-01-01,,\n"), 422
    )
    assert (
        body["errors"][0]["message"]
        == "a domestic form has no IUCN category; it takes no iucn listing"
    )
    north = client.get("/api/v1/zoos/north-zoo").json()["id"]
    scoped = make_key(session, Role.inspector, zoo_ids=[north])
    assert_problem(post(anon_client, "species_statuses", current, headers=bearer(scoped)), 422)


# --- the command ----------------------------------------------------------------------------


def test_the_cli_imports_checks_and_reports(cli_engine: Engine, tmp_path: Path) -> None:
    files = {}
    for kind, text in FILES:
        files[kind] = tmp_path / f"{kind}.csv"
        files[kind].write_text(text, encoding="utf-8")
    checked = CliRunner().invoke(cli, ["import", "zoos", str(files["zoos"]), "--dry-run"])
    assert checked.exit_code == 0, checked.output
    assert "checked (dry run) zoos.csv: 2 rows, 2 created" in checked.output
    with Session(cli_engine) as session:
        assert total(session, Zoo) == 0
    for kind, file in files.items():
        done = CliRunner().invoke(cli, ["import", kind, str(file)])
        assert done.exit_code == 0, done.output
    bad = tmp_path / "bad.ndjson"
    bad.write_text('{"zoo": "north-zoo", "identifier": "N-9", "species": "Nope"}\n')
    refused = CliRunner().invoke(cli, ["import", "animals", str(bad)])
    assert refused.exit_code == 1
    assert "row 1, species: no species named 'Nope'" in refused.output
    with Session(cli_engine) as session:
        assert [total(session, m) for m in (Zoo, Species, Gift, Enclosure, Animal)] == [
            2,
            2,
            2,
            2,
            3,
        ]


def test_the_readme_samples_import_in_order(client: TestClient, session: Session) -> None:
    samples = Path(__file__).resolve().parents[2] / "docs" / "samples"
    for kind in import_service.kinds():
        text = (samples / f"{kind.value}.csv").read_text(encoding="utf-8")
        created, _, _ = counts(post(client, kind.value, text))
        assert created >= 1, kind
    ndjson = (samples / "animals.ndjson").read_text(encoding="utf-8")
    assert counts(post(client, "animals", ndjson, media="application/x-ndjson")) == (1, 0, 0)
    assert total(session, Animal) == 4
