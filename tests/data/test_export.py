"""The open-data export: GET /api/v1/export.zip streams a Frictionless Data Package (no key)
that frictionless validates, types, constraints and foreign keys included, for the seed and
for awkward data; text that could start a formula is neutralised and numbers are not; no
private reporter detail or unmoderated submission is in any file; `zoo-registry export DIR`
writes the same files; concern_flags.csv holds what the zoos' concern lists show."""

import asyncio
import contextlib
import csv
import io
import json
import threading
import zipfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import frictionless
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session
from typer.testing import CliRunner

from app import exports
from app.cli import cli
from app.core import migrations
from app.core.config import Settings
from app.core.spool import spooled
from app.main import create_app
from app.models.api_key import Role
from app.seed.loader import load_seed
from tests.api.submission_helpers import submit
from tests.api.test_errors import assert_problem
from tests.api.test_reports import bearer, post_report
from tests.dbutil import create_database, drop_database
from tests.factories import make_animal, make_enclosure, make_gift, make_key, make_species, make_zoo
from tests.records.test_trade_records import CURRENT_HEADER, post_file
from tests.test_cli_keys import cli_database, cli_engine

__all__ = ["cli_database", "cli_engine"]  # the fixtures this module uses

EXPORT = "/api/v1/export.zip"
RESOURCES = [
    "countries",
    "zoos",
    "species",
    "species_statuses",
    "enclosures",
    "gifts",
    "animals",
    "animal_movements",
    "incidents",
    "reports",
    "incident_events",
    "incident_replies",
    "concern_flags",
    "trade_records",
]
# The columns the import reads back, in the order it expects them.
HEADERS = {
    "zoos": "id,slug,name,city,country_code,latitude,longitude,opened_year,notes,"
    "submissions_paused,created_at,updated_at",
    "species": "id,scientific_name,common_name,taxon_class,is_domestic,iucn_category,"
    "cites_appendix,social_structure,min_group_size,min_area_m2,climate_zones,updated_at",
    "species_statuses": "id,species_id,species,kind,value,valid_from,valid_to,source_url",
    "enclosures": "id,zoo_id,zoo,name,kind,area_m2,capacity,climate,has_enrichment,"
    "last_inspected_on,notes,updated_at",
    "gifts": "id,recipient_zoo_id,title,delivered_on,donor_name,donor_country,recipient_name,"
    "recipient_country,recipient_zoo,occasion,transport,cites_permit_ref,source_url,notes,"
    "updated_at",
    "animals": "id,zoo_id,species_id,enclosure_id,gift_id,zoo,identifier,species,enclosure,"
    "gift_title,gift_delivered_on,name,sex,count,birth_date,origin,arrived_on,status,notes,"
    "created_at,updated_at",
}
FOREIGN_KEYS = {
    ("animals", "zoo_id", "zoos", "id"),
    ("animals", "species_id", "species", "id"),
    ("animals", "enclosure_id", "enclosures", "id"),
    ("animals", "gift_id", "gifts", "id"),
    ("enclosures", "zoo_id", "zoos", "id"),
    ("gifts", "recipient_zoo_id", "zoos", "id"),
    ("species_statuses", "species_id", "species", "id"),
    ("animal_movements", "animal_id", "animals", "id"),
    ("incidents", "zoo_id", "zoos", "id"),
    ("incidents", "animal_id", "animals", "id"),
    ("reports", "incident_id", "incidents", "id"),
    ("incident_events", "incident_id", "incidents", "id"),
    ("incident_events", "report_id", "reports", "id"),
    ("incident_replies", "incident_id", "incidents", "id"),
    ("concern_flags", "zoo_id", "zoos", "id"),
    ("concern_flags", "animal_id", "animals", "id"),
    ("zoos", "country_code", "countries", "code"),
}
PRIVATE_COLUMNS = {"reporter_name", "reporter_contact", "api_key_id", "actor_key_id", "key"}


def download(client: TestClient) -> dict[str, bytes]:
    """The export's files by name, in the zip's order."""
    response = client.get(EXPORT)
    assert response.status_code == 200, response.text
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def extract(files: dict[str, bytes], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder / "datapackage.json"


def assert_valid(descriptor: Path) -> None:
    report = frictionless.validate(descriptor)
    problems = [
        f"{task.name}: {error.type} {error.note} (row {getattr(error, 'row_number', '-')})"
        for task in report.tasks
        for error in task.errors
    ] + [f"package: {error.type} {error.note}" for error in report.errors]
    assert report.valid, "\n".join(problems)


def rows(files: dict[str, bytes], resource: str) -> list[dict[str, str]]:
    text = files[f"{resource}.csv"].decode("utf-8")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def header(files: dict[str, bytes], resource: str) -> str:
    return files[f"{resource}.csv"].decode("utf-8").split("\r\n", 1)[0]


@pytest.fixture(scope="module")
def seeded_client() -> Iterator[TestClient]:
    url = create_database("export_seed")
    migrations.upgrade(url)
    app = create_app(Settings(database_url=url))
    load_seed(app.state.write_engine)
    with TestClient(app) as client:
        yield client
    app.state.engine.dispose()
    app.state.write_engine.dispose()
    drop_database(url)


# --- the download -------------------------------------------------------------------------------


def test_the_zip_is_a_public_download_with_datapackage_json_first(
    anon_client: TestClient, session: Session
) -> None:
    make_zoo(session)
    response = anon_client.get(EXPORT)

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="zoo-registry-')
    assert disposition.endswith('.zip"')
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        names = archive.namelist()
        package = json.loads(archive.read("datapackage.json"))
    assert names == ["datapackage.json", *(f"{r}.csv" for r in RESOURCES)]
    assert disposition == f'attachment; filename="zoo-registry-{package["created"][:10]}.zip"'
    assert package["profile"] == "tabular-data-package"
    assert package["name"] and package["title"] and package["created"].endswith("Z")
    assert package["licenses"][0]["name"] == "ODC-By-1.0"
    assert [r["name"] for r in package["resources"]] == RESOURCES
    for resource in package["resources"]:
        fields = resource["schema"]["fields"]
        assert all(f["type"] and f["description"] for f in fields), resource["name"]
        assert resource["schema"]["primaryKey"]
        assert "prefixed" in resource["description"] or "quote" in resource["description"]


def test_datapackage_json_comes_before_any_database_work(app: Any) -> None:
    def no_database() -> Any:
        raise AssertionError("the first chunk needs no database")

    chunks = exports.stream_zip(no_database, app.state.concerns)
    first = next(chunks)
    chunks.close()
    assert first.startswith(b"PK\x03\x04")
    assert b"datapackage.json" in first[:100]


def test_the_schemas_declare_types_constraints_and_foreign_keys(client: TestClient) -> None:
    package = json.loads(download(client)["datapackage.json"])
    schemas = {r["name"]: r["schema"] for r in package["resources"]}
    declared = {
        (name, fk["fields"], fk["reference"]["resource"], fk["reference"]["fields"])
        for name, schema in schemas.items()
        for fk in schema.get("foreignKeys", [])
    }
    assert declared >= FOREIGN_KEYS
    fields = {(name, f["name"]): f for name, s in schemas.items() for f in s["fields"]}
    assert fields["zoos", "latitude"]["type"] == "number"
    assert fields["zoos", "submissions_paused"]["type"] == "boolean"
    assert fields["zoos", "created_at"]["type"] == "datetime"
    assert fields["animals", "birth_date"]["type"] == "date"
    assert fields["animals", "count"]["type"] == "integer"
    assert fields["animals", "zoo_id"]["constraints"] == {"required": True}
    assert "constraints" not in fields["animals", "enclosure_id"]
    assert fields["species", "iucn_category"]["constraints"]["enum"][:3] == ["EX", "EW", "CR"]
    assert fields["species", "cites_appendix"]["constraints"]["enum"] == ["I", "II", "III"]
    assert "alive" in fields["animals", "status"]["constraints"]["enum"]
    assert "diplomatic_gift" in fields["animals", "origin"]["constraints"]["enum"]
    assert fields["species_statuses", "kind"]["constraints"]["enum"] == ["iucn", "cites"]
    assert fields["concern_flags", "evidence"]["constraints"]["enum"] == [
        "reported",
        "corroborated",
        "confirmed",
    ]
    # The Public schemas' own descriptions are reused.
    assert fields["trade_records", "importer_quantity"]["description"].startswith(
        "The quantity the importer reported"
    )


# --- validity -------------------------------------------------------------------------------


def test_the_seed_exports_as_a_valid_package(seeded_client: TestClient, tmp_path: Path) -> None:
    files = download(seeded_client)
    assert_valid(extract(files, tmp_path / "seed"))
    for resource, expected in HEADERS.items():
        assert header(files, resource) == expected, resource
    zoos = {z["slug"]: z for z in rows(files, "zoos")}
    assert zoos["korea-central-zoo"]["country_code"] == "KP"
    animals = rows(files, "animals")
    lion = next(a for a in animals if a["identifier"] == "KCZ-2024-11-LION-1")
    assert (lion["zoo"], lion["species"], lion["origin"]) == (
        "korea-central-zoo",
        "Panthera leo",
        "diplomatic_gift",
    )
    assert lion["gift_title"] and lion["gift_delivered_on"] == "2024-11-20"
    species = {s["scientific_name"]: s for s in rows(files, "species")}
    assert species["Panthera leo"]["climate_zones"]  # ;-joined
    assert {s["is_domestic"] for s in species.values()} <= {"true", "false"}
    assert rows(files, "countries")  # every ISO country


def test_awkward_data_exports_valid_and_neutralised(
    client: TestClient, session: Session, tmp_path: Path
) -> None:
    note = "=cmd|' /C calc'!A0, then\na second line, with \"quotes\""
    zoo = make_zoo(
        session,
        slug="parque-zoologico",
        name="Zoológico de São Paulo — 動物園",
        country_code="CL",
        latitude=-33.9,
        longitude=-70.6,
        notes=note,
    )
    species = make_species(session, common_name="+ Ñandú", climate_zones=["tropical", "arid"])
    enclosure = make_enclosure(session, zoo, name="Große Voliere, Nord", notes="@admin")
    gift = make_gift(session, title="-1 gift", recipient_zoo_id=zoo.id)
    loose = make_animal(session, zoo, species, identifier="NO-ENCLOSURE", name="Señor Ñ")
    make_animal(session, zoo, species, identifier="PLACED", enclosure_id=enclosure.id)
    trade = (
        f"{CURRENT_HEADER}\n"
        "2019,II,Panthera leo,Mammalia,Carnivora,Felidae,Panthera,CN,ZA,,,4,live,,Z,C\n"
    )
    assert post_file(client, trade).status_code == 200
    post_report(client, zoo.id, animal_id=loose.id, description="Line one,\nline two")

    files = download(client)
    assert_valid(extract(files, tmp_path / "awkward"))

    (row,) = [z for z in rows(files, "zoos") if z["id"] == str(zoo.id)]
    assert row["notes"] == "'" + note  # neutralised, newlines and quotes kept
    assert row["name"] == "Zoológico de São Paulo — 動物園"
    assert (row["latitude"], row["longitude"]) == ("-33.9", "-70.6")  # numbers, never prefixed
    assert row["submissions_paused"] == "false"
    assert row["created_at"].endswith("Z") and "T" in row["created_at"]
    (kind,) = [s for s in rows(files, "species") if s["id"] == str(species.id)]
    assert kind["common_name"] == "'+ Ñandú"
    assert kind["climate_zones"] == "tropical;arid"
    (place,) = [e for e in rows(files, "enclosures") if e["id"] == str(enclosure.id)]
    assert (place["notes"], place["zoo"]) == ("'@admin", "parque-zoologico")
    (given,) = [g for g in rows(files, "gifts") if g["id"] == str(gift.id)]
    assert (given["title"], given["recipient_zoo"]) == ("'-1 gift", "parque-zoologico")
    (animal,) = [a for a in rows(files, "animals") if a["id"] == str(loose.id)]
    assert (animal["enclosure_id"], animal["enclosure"], animal["gift_id"]) == ("", "", "")
    assert animal["name"] == "Señor Ñ" and animal["zoo"] == "parque-zoologico"
    (record,) = rows(files, "trade_records")
    assert (record["importer_quantity"], record["exporter_quantity"]) == ("", "4.0")
    (report,) = [r for r in rows(files, "reports") if r["zoo_id"] == str(zoo.id)]
    assert report["description"] == "Line one,\nline two"
    assert report["evidence_urls"] == "https://apnews.com/"


# --- what is never in it ----------------------------------------------------------------


def test_no_private_detail_or_unmoderated_submission_is_exported(
    client: TestClient, anon_client: TestClient, session: Session, tmp_path: Path
) -> None:
    zoo = make_zoo(session)
    animal = make_animal(session, zoo)
    reporter = make_key(session, Role.reporter)
    name, contact = "Reporter Rowena 7d2f", "rowena-7d2f@example.org"
    report = post_report(
        client,
        zoo.id,
        token=reporter,
        animal_id=animal.id,
        reporter_name=name,
        reporter_contact=contact,
    )
    # The reporter may see them through the API: they are stored.
    shown = client.get(f"/api/v1/reports/{report['id']}", headers=bearer(reporter)).json()
    assert (shown["reporter_name"], shown["reporter_contact"]) == (name, contact)
    pending = submit(anon_client, zoo.id, title="Pending submission 91c3", reporter_name=name)

    files = download(anon_client)

    assert_valid(extract(files, tmp_path / "private"))
    for file_name, data in files.items():
        for secret in (name, contact, "Pending submission 91c3", reporter):
            assert secret.encode() not in data, (file_name, secret)
    package = json.loads(files["datapackage.json"])
    for resource in package["resources"]:
        columns = {f["name"] for f in resource["schema"]["fields"]}
        assert not columns & PRIVATE_COLUMNS, resource["name"]
        assert header(files, resource["name"]).split(",") == [
            f["name"] for f in resource["schema"]["fields"]
        ]
    assert [r["id"] for r in rows(files, "reports")] == [str(report["id"])]
    assert pending["id"]


# --- the concern flags --------------------------------------------------------------------


def flag_set(items: list[dict[str, Any]]) -> set[tuple[Any, ...]]:
    return {
        (
            item["subject_type"],
            item["subject_id"],
            flag["rule"],
            flag["severity"],
            flag["reason"],
            flag["evidence"],
            tuple(flag["incident_ids"]),
        )
        for item in items
        for flag in item["flags"]
    }


def test_concern_flags_are_what_the_concern_lists_show(seeded_client: TestClient) -> None:
    files = download(seeded_client)
    zoos = {z["id"]: z["slug"] for z in rows(files, "zoos")}
    exported: dict[str, set[tuple[Any, ...]]] = {slug: set() for slug in zoos.values()}
    for flag in rows(files, "concern_flags"):
        assert flag[f"{flag['subject_type']}_id"] == flag["subject_id"]
        exported[zoos[flag["zoo_id"]]].add(
            (
                flag["subject_type"],
                int(flag["subject_id"]),
                flag["rule"],
                int(flag["severity"]),
                flag["reason"],
                flag["evidence"],
                tuple(int(i) for i in flag["incident_ids"].split(";") if i),
            )
        )
    assert exported["korea-central-zoo"], "the seed flags Dallae and the gift's animals"
    for slug, flags in exported.items():
        listed = seeded_client.get(f"/api/v1/zoos/{slug}/concerns?limit=500")
        assert listed.status_code == 200, listed.text
        assert flag_set(listed.json()["items"]) == flags, slug


def test_a_stale_zoo_is_brought_up_to_date_before_its_flags_are_read(
    client: TestClient, session: Session
) -> None:
    zoo = make_zoo(session)
    animal = make_animal(session, zoo)
    assert [f for f in rows(download(client), "concern_flags") if f["zoo_id"] == str(zoo.id)] == []
    post_report(client, zoo.id, animal_id=animal.id, severity=5)  # the zoo is stale now

    flags = [f for f in rows(download(client), "concern_flags") if f["zoo_id"] == str(zoo.id)]

    listed = client.get(f"/api/v1/zoos/{zoo.slug}/concerns").json()["items"]
    assert flags and len(flags) == sum(len(item["flags"]) for item in listed)
    assert {f["animal_id"] for f in flags} == {str(animal.id)}


# --- slow readers and many readers ---------------------------------------------------------


def test_the_reading_ends_and_gives_back_its_slot_before_the_client_has_read() -> None:
    held: list[str] = []

    @asynccontextmanager
    async def slot() -> AsyncIterator[None]:
        held.append("taken")
        try:
            yield
        finally:
            held.append("given back")

    def chunks() -> Iterator[bytes]:
        for n in range(200):
            yield bytes([n % 256]) * 10_000

    async def client() -> None:
        body = spooled(chunks(), slot, head=b"head")
        assert await anext(body) == b"head"
        for _ in range(500):  # the client reads nothing more meanwhile
            if held == ["taken", "given back"]:
                break
            await asyncio.sleep(0.01)
        assert held == ["taken", "given back"]
        rest = b"".join([chunk async for chunk in body])
        assert rest == b"".join(chunks())

    asyncio.run(client())


def test_a_client_that_goes_away_stops_the_reading() -> None:
    made: list[int] = []
    closed = threading.Event()

    def chunks() -> Iterator[bytes]:
        try:
            for n in range(1_000_000):
                made.append(n)
                yield b"x" * 1000
        finally:
            closed.set()  # the export's transaction ends here

    async def client() -> None:
        body = spooled(chunks(), contextlib.nullcontext)
        await anext(body)
        await body.aclose()

    asyncio.run(client())
    assert closed.is_set() and len(made) < 1_000_000


def test_a_second_export_while_one_is_read_is_told_to_retry(
    app: FastAPI, anon_client: TestClient
) -> None:
    app.state.exports.running = 1  # one being read in this process
    try:
        response = anon_client.get(EXPORT)
    finally:
        app.state.exports.running = 0
    assert_problem(response, 429)
    assert response.headers["retry-after"] == "30"
    assert anon_client.get(EXPORT).status_code == 200
    assert app.state.exports.running == 0


# --- the command --------------------------------------------------------------------------


def test_the_command_writes_the_same_files(
    cli_database: str, cli_engine: Engine, tmp_path: Path
) -> None:
    with Session(cli_engine, expire_on_commit=False) as session:
        zoo = make_zoo(session, slug="cli-zoo", notes="=SUM(A1:A2)", latitude=-1.5)
        make_animal(session, zoo, identifier="CLI-1")
    folder = tmp_path / "package"

    result = CliRunner().invoke(cli, ["export", str(folder)])

    assert result.exit_code == 0, result.output
    assert "zoos: 1 rows" in result.output and "animals: 1 rows" in result.output
    assert_valid(folder / "datapackage.json")
    written = {p.name: p.read_bytes() for p in folder.iterdir()}
    app = create_app(Settings(database_url=cli_database))
    with TestClient(app) as client:
        downloaded = download(client)
    app.state.engine.dispose()
    app.state.write_engine.dispose()
    assert written.keys() == downloaded.keys()
    for name in written:
        if name != "datapackage.json":
            assert written[name] == downloaded[name], name
    package, streamed = (json.loads(files["datapackage.json"]) for files in (written, downloaded))
    assert package | {"created": None} == streamed | {"created": None}
    (row,) = rows(written, "zoos")
    assert (row["notes"], row["latitude"]) == ("'=SUM(A1:A2)", "-1.5")


def test_the_command_refuses_a_missing_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.core.config import get_settings

    monkeypatch.setenv("ZWR_DATABASE_URL", f"sqlite:///{tmp_path / 'none.db'}")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["export", str(tmp_path / "out")])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert "there is no database" in result.output
    assert not (tmp_path / "out").exists()
