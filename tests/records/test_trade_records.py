"""CITES trade records: the comparative tabulation read by its header names in both layouts
(empty quantities unknown, a blank Origin the exporter, Term and Unit as words), imported
whole or not at all with each bad row reported, idempotent on re-import; the list's filters;
the CLI command."""

import io
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlmodel import Session
from typer.testing import CliRunner

from app.cli import cli
from app.models import TradeRecord
from app.models.api_key import Role
from app.records.cites_trade import CURRENT, OLDER, Reader, TradeFileError
from tests.api.test_errors import assert_problem
from tests.api.test_reports import bearer
from tests.factories import make_key, make_zoo
from tests.test_cli_keys import cli_database, cli_engine

__all__ = ["cli_database", "cli_engine"]  # the fixtures this module uses

API = "/api/v1/trade-records"
CURRENT_HEADER = (
    "Year,App.,Taxon,Class,Order,Family,Genus,Importer,Exporter,Origin,"
    "Importer reported quantity,Exporter reported quantity,Term,Unit,Purpose,Source"
)
OLDER_HEADER = (
    "Year,App.,Family,Taxon,Importer,Exporter,Origin,Importer reported quantity,"
    "Exporter reported quantity,Term,Unit,Purpose,Source"
)
CURRENT_FILE = "\n".join(
    [
        CURRENT_HEADER,
        "2019,II,Panthera leo,Mammalia,Carnivora,Felidae,Panthera,CN,ZA,,,4,live,,Z,C",
        "2019,II,Panthera leo,Mammalia,Carnivora,Felidae,Panthera,CN,ZA,,2,,Skins,,T,W",
        '2020,I,Pan troglodytes,Mammalia,Primates,Hominidae,Pan,US,GB,CD,1,1,live,"Number of '
        'specimens",S,F',
        "2021,II,Ursus arctos,Mammalia,Carnivora,Ursidae,Ursus,DE,RU,,0.5,,bodies,kg,Q,C",
    ]
)
OLDER_FILE = "\n".join(
    [
        OLDER_HEADER,
        "2008,II,Felidae,Panthera leo,FR,ZA,,3,,live,,Z,C",
        "2008,III,Mustelidae,Lutra lutra,JP,CN,,,,live,,Z,W",
    ]
)


def reader(text: str) -> Reader:
    return Reader(io.StringIO(text, newline=""), today=date(2026, 12, 3))


def records(text: str) -> list[dict[str, Any]]:
    rows = list(reader(text))
    assert all(row.record for row in rows), [row.errors for row in rows]
    return [row.record for row in rows if row.record]


def post_file(client: TestClient, text: str, **kwargs: Any) -> Any:
    return client.post(
        f"{API}/import",
        content=text.encode(),
        headers={"Content-Type": "text/csv"} | kwargs.pop("headers", {}),
        **kwargs,
    )


def count(session: Session) -> int:
    return int(session.execute(select(func.count()).select_from(TradeRecord)).scalar_one())


# --- reading the file -----------------------------------------------------------------------


def test_the_current_layout_by_its_header_names() -> None:
    assert reader(CURRENT_FILE).layout == CURRENT
    lion, skins, chimp, bear = records(CURRENT_FILE)
    assert lion | {"key": None} == {
        "key": None,
        "year": 2019,
        "appendix": "II",
        "taxon": "Panthera leo",
        "taxon_class": "Mammalia",
        "taxon_order": "Carnivora",
        "family": "Felidae",
        "genus": "Panthera",
        "importer": "CN",
        "exporter": "ZA",
        "origin": "ZA",  # blank: the exporter
        "importer_quantity": None,  # empty: not reported, not zero
        "exporter_quantity": 4.0,
        "term": "live",
        "unit": None,  # blank: a number of specimens
        "purpose": "Z",
        "source": "C",
    }
    assert skins["term"] == "skins" and skins["importer_quantity"] == 2.0
    assert skins["exporter_quantity"] is None
    assert chimp["origin"] == "CD" and chimp["unit"] is None  # "Number of specimens"
    assert (bear["unit"], bear["importer_quantity"]) == ("kg", 0.5)
    assert len({r["key"] for r in (lion, skins, chimp, bear)}) == 4


def test_the_older_layout_and_columns_in_any_order() -> None:
    assert reader(OLDER_FILE).layout == OLDER
    lion, otter = records(OLDER_FILE)
    assert (lion["taxon"], lion["family"], lion["genus"], lion["taxon_class"]) == (
        "Panthera leo",
        "Felidae",
        None,
        None,
    )
    assert (otter["importer_quantity"], otter["exporter_quantity"]) == (None, None)
    assert otter["appendix"] == "III" and otter["origin"] == "CN"
    shuffled = "Taxon,Term,Year,Exporter,Importer,App.,Origin,Unit,Purpose,Source,"
    shuffled += "Exporter reported quantity,Importer reported quantity,Extra\n"
    shuffled += "Panthera leo,LIVE,2008,za,fr,ii,,,z,c,,3,ignored\n"
    (row,) = records(shuffled)
    assert {k: v for k, v in row.items() if k != "key"} == {
        k: v for k, v in lion.items() if k not in ("key", "family")
    } | {"family": None}
    assert row["key"] == lion["key"]  # the family is not part of what a record is known by


def test_a_header_without_the_needed_columns_is_refused() -> None:
    with pytest.raises(TradeFileError, match="'Importer', 'Exporter'"):
        reader(
            "Year,App.,Taxon,Origin,Importer reported quantity,Exporter reported quantity,"
            "Term,Unit,Purpose,Source\n"
        )
    with pytest.raises(TradeFileError, match="empty"):
        reader("")


def test_each_bad_field_is_named_with_its_row() -> None:
    text = "\n".join(
        [
            CURRENT_HEADER,
            "2019,II,Panthera leo,,,,,CN,ZA,,,4,live,,Z,C",
            "",  # a blank line is skipped, and still counted
            "1970,IV,,,,,,C,ZAF,Z9,-1,many,,,ZZZ,7",
        ]
    )
    good, bad = list(reader(text))
    assert good.number == 2 and good.errors == []
    assert bad.number == 4 and bad.record is None
    assert dict(bad.errors) == {
        "Year": "a year from 1975 to 2026 is needed",
        "App.": "I, II, III or N is needed",
        "Taxon": "is empty",
        "Importer": "a two-letter ISO 3166 code is needed",
        "Exporter": "a two-letter ISO 3166 code is needed",
        "Origin": "a two-letter ISO 3166 code, or blank (the exporter), is needed",
        "Importer reported quantity": "a number of 0 or more is needed",
        "Exporter reported quantity": "a number, or empty when not reported, is needed",
        "Term": "is empty",
        "Purpose": "a CITES code of one or two letters, or blank, is needed",
        "Source": "a CITES code of one or two letters, or blank, is needed",
    }


def test_a_record_twice_in_one_file_is_an_error_of_its_second_row() -> None:
    lion = "2019,II,Panthera leo,Mammalia,Carnivora,Felidae,Panthera,CN,ZA,,,4,live,,Z,C"
    # The same record (quantities aside; the taxonomy columns are not part of it).
    again = "2019,II,Panthera leo,,,,,cn,za,ZA,7,,LIVE,,Z,C"
    first, second = list(reader("\n".join([CURRENT_HEADER, lion, again])))
    assert first.record is not None
    assert second.record is None
    assert second.errors == [
        (
            None,
            "repeats row 2: the same year, appendix, taxon, countries, term, unit, purpose "
            "and source",
        )
    ]


# --- importing over HTTP --------------------------------------------------------------------


def test_import_both_layouts_then_again_unchanged(client: TestClient, session: Session) -> None:
    first = post_file(client, CURRENT_FILE)
    assert first.status_code == 200, first.text
    assert first.json() == {
        "layout": "16-column",
        "rows": 4,
        "created": 4,
        "updated": 0,
        "unchanged": 0,
    }
    older = post_file(client, OLDER_FILE)
    assert older.json() | {"layout": None} == {
        "layout": None,
        "rows": 2,
        "created": 2,
        "updated": 0,
        "unchanged": 0,
    }
    assert older.json()["layout"] == "13-column"
    again = post_file(client, CURRENT_FILE)
    assert again.json()["unchanged"] == 4 and again.json()["created"] == 0
    assert count(session) == 6


def test_a_newer_download_updates_the_revised_quantities(
    client: TestClient, session: Session
) -> None:
    assert post_file(client, CURRENT_FILE).status_code == 200
    revised = CURRENT_FILE.replace(",,,4,live,,Z,C", ",,5,4,live,,Z,C")
    result = post_file(client, revised).json()
    assert (result["updated"], result["unchanged"], result["created"]) == (1, 3, 0)
    listed = client.get(API, params={"taxon": "Panthera leo", "term": "live"}).json()
    (lion,) = listed["items"]
    assert (lion["importer_quantity"], lion["exporter_quantity"]) == (5.0, 4.0)
    assert count(session) == 4


def test_one_bad_row_rejects_the_file_and_names_it(client: TestClient, session: Session) -> None:
    text = CURRENT_FILE + "\n2019,II,Panthera leo,,,,,CN,ZAF,,,four,live,,Z,C\n"
    response = post_file(client, text)
    body = assert_problem(response, 422)
    assert body["detail"].startswith("1 of the file's 5 rows are not valid; nothing was")
    assert body["errors"] == [
        {
            "location": ["body", 6, "Exporter"],
            "message": "a two-letter ISO 3166 code is needed",
            "type": "value_error",
        },
        {
            "location": ["body", 6, "Exporter reported quantity"],
            "message": "a number, or empty when not reported, is needed",
            "type": "value_error",
        },
    ]
    assert count(session) == 0  # the good rows did not land either


def test_what_is_not_a_trade_file(client: TestClient) -> None:
    wrong_type = client.post(f"{API}/import", json={"Year": 2019})
    assert_problem(wrong_type, 415)
    assert_problem(post_file(client, ""), 422)
    no_header = assert_problem(post_file(client, "a,b,c\n1,2,3\n"), 422)
    assert no_header["detail"].startswith("The header has no column 'Year'")
    not_utf8 = client.post(
        f"{API}/import",
        content=(CURRENT_HEADER + "\n2019,II,Panthera le\xf3").encode("latin-1"),
        headers={"Content-Type": "text/csv"},
    )
    assert "UTF-8" in assert_problem(not_utf8, 422)["detail"]


def test_only_an_unscoped_admin_imports(
    anon_client: TestClient, session: Session, client: TestClient
) -> None:
    scoped = make_key(session, Role.admin, zoos=[make_zoo(session).slug])
    assert_problem(post_file(anon_client, CURRENT_FILE, headers=bearer(scoped)), 403)
    inspector = make_key(session, Role.inspector)
    assert_problem(post_file(anon_client, CURRENT_FILE, headers=bearer(inspector)), 403)
    assert_problem(post_file(anon_client, CURRENT_FILE), 401)


def test_a_large_file_needs_a_key_to_be_read(anon_client: TestClient) -> None:
    """Over the ordinary body limit (1 MiB), a file is read only from a request with a key:
    an anonymous client cannot make the server hold a large upload."""
    big = CURRENT_HEADER + "\n" + ("2019,II,Panthera leo,,,,,CN,ZA,,,4,live,,Z,C\n" * 30_000)
    assert len(big) > 1024 * 1024
    assert_problem(post_file(anon_client, big), 413)
    assert_problem(post_file(anon_client, big, headers={"Authorization": "Bearer nope"}), 401)


def test_the_list_filters(client: TestClient, anon_client: TestClient) -> None:
    assert post_file(client, CURRENT_FILE).status_code == 200
    assert post_file(client, OLDER_FILE).status_code == 200

    def taxa(**params: Any) -> list[tuple[int, str]]:
        response = anon_client.get(API, params=params)
        assert response.status_code == 200, response.text
        return [(r["year"], r["taxon"]) for r in response.json()["items"]]

    assert taxa(taxon="Panthera leo") == [
        (2008, "Panthera leo"),
        (2019, "Panthera leo"),
        (2019, "Panthera leo"),
    ]
    assert taxa(importer="cn", term="live") == [(2019, "Panthera leo")]
    assert taxa(exporter="RU") == [(2021, "Ursus arctos")]
    assert taxa(year=2008, purpose="z") == [(2008, "Lutra lutra"), (2008, "Panthera leo")]
    assert taxa(source="F") == [(2020, "Pan troglodytes")]
    assert anon_client.get(API, params={"limit": 2}).json()["total"] == 6
    assert_problem(anon_client.get(API, params={"importer": "CHN"}), 422)
    assert_problem(anon_client.get(API, params={"year": 1900}), 422)


# --- the command ----------------------------------------------------------------------------


def test_the_cli_imports_a_file_and_reports_bad_rows(cli_engine: Engine, tmp_path: Path) -> None:
    good = tmp_path / "comptab.csv"
    good.write_text("\ufeff" + CURRENT_FILE + "\n", encoding="utf-8")  # a BOM, as Excel saves
    first = CliRunner().invoke(cli, ["import", "cites-trade", str(good)])
    assert first.exit_code == 0, first.output
    assert "4 rows, 4 created, 0 updated, 0 unchanged" in first.output
    again = CliRunner().invoke(cli, ["import", "cites-trade", str(good)])
    assert "4 rows, 0 created, 0 updated, 4 unchanged" in again.output
    bad = tmp_path / "bad.csv"
    bad.write_text(OLDER_FILE + "\n2008,II,Felidae,Panthera leo,FR,ZA,,x,,live,,Z,C\n")
    refused = CliRunner().invoke(cli, ["import", "cites-trade", str(bad)])
    assert refused.exit_code == 1
    assert "row 4, Importer reported quantity: a number" in refused.output
    with Session(cli_engine) as session:
        assert count(session) == 4
