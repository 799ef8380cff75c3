"""The round trip: a registry exported by `zoo-registry export DIR` and imported into an
empty registry by `zoo-registry import-package DIR` exports again as the same registry: the
same zoos, species and dated listings, enclosures, gifts and animals, and the same
movements, with every reference between them the same (compared by natural keys, since ids
are the new registry's own). The data is awkward on purpose: text a spreadsheet would read
as a formula (and text that already starts with a quote), padded text, a paused zoo, an
animal with no identifier."""

import csv
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session
from typer.testing import CliRunner

from app.cli import cli
from app.core import migrations
from app.core.config import get_settings
from app.models import SpeciesStatus
from app.models.imports import ImportKind
from app.seed.loader import load_seed
from app.services.listings import current_status
from tests.data.test_export import FOREIGN_KEYS
from tests.dbutil import create_database, drop_database
from tests.factories import make_animal, make_enclosure, make_species, make_zoo
from tests.test_cli_keys import cli_database, cli_engine

__all__ = ["cli_database", "cli_engine"]  # the fixtures this module uses

# What an import writes, and the movements its animals' arrivals make.
COMPARED = [*(str(kind) for kind in ImportKind), "animal_movements"]
# What stands for a row of each resource when another refers to it.
NATURAL = {
    "zoos": ("slug",),
    "species": ("scientific_name",),
    "enclosures": ("zoo", "name"),
    "gifts": ("title", "delivered_on"),
    "animals": ("zoo", "identifier", "name", "species"),
}
NOT_COMPARED = {"id", "created_at", "updated_at"}  # the new registry's own
MOVED = {
    ("animal_movements", "from_zoo_id"): "zoos",
    ("animal_movements", "to_zoo_id"): "zoos",
    ("animal_movements", "from_enclosure_id"): "enclosures",
    ("animal_movements", "to_enclosure_id"): "enclosures",
    ("animal_movements", "gift_id"): "gifts",
}


@pytest.fixture
def empty_database() -> Iterator[str]:
    url = create_database("round_trip")
    try:
        migrations.upgrade(url)
        yield url
    finally:
        get_settings.cache_clear()
        drop_database(url)


def read(folder: Path, resource: str) -> list[dict[str, str]]:
    with (folder / f"{resource}.csv").open(encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


def registry(folder: Path) -> dict[str, Counter[tuple[Any, ...]]]:
    """Each compared resource's rows, their references as the referred rows' natural keys."""
    natural = {
        name: {row["id"]: tuple(row[c] for c in columns) for row in read(folder, name)}
        for name, columns in NATURAL.items()
    }
    references = {(res, column): target for res, column, target, _ in FOREIGN_KEYS} | MOVED
    compared = {}
    for resource in COMPARED:
        rows = []
        for row in read(folder, resource):
            cells = []
            for column, value in sorted(row.items()):
                if column in NOT_COMPARED:
                    continue
                target = references.get((resource, column))
                if target in natural and value:
                    value = natural[target][value]
                cells.append((column, value))
            rows.append(tuple(cells))
        compared[resource] = Counter(rows)
    return compared


def run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_an_export_imported_into_an_empty_registry_exports_the_same(
    cli_engine: Engine,
    empty_database: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    load_seed(cli_engine)
    with Session(cli_engine, expire_on_commit=False) as session:
        zoo = make_zoo(
            session,
            slug="round-trip-zoo",
            name='=HYPERLINK("https://example.org")',
            notes="  padded, with a comma;\nand a second line  ",
            submissions_paused=True,
        )
        species = make_species(session, common_name="'=already quoted", climate_zones=["arid"])
        for kind, value, start, end in (
            ("cites", "I", date(1977, 2, 4), date(2005, 1, 11)),
            ("cites", "II", date(2005, 1, 12), None),
            ("iucn", "EN", date(2000, 1, 1), None),
        ):
            session.add(
                SpeciesStatus(
                    species_id=species.id, kind=kind, value=value, valid_from=start, valid_to=end
                )
            )
        current_status(session, species)  # as the listing routes do
        session.commit()
        pen = make_enclosure(session, zoo, name="-1 Yard", notes="'just a quote")
        make_animal(session, zoo, species, identifier="RT-1", enclosure_id=pen.id, name="@Ana")
        make_animal(session, zoo, species, name="No identifier", count=3)
    first = tmp_path / "first"
    run("export", str(first))

    monkeypatch.setenv("ZWR_DATABASE_URL", empty_database)
    get_settings.cache_clear()
    imported = run("import-package", str(first))
    second = tmp_path / "second"
    run("export", str(second))

    assert "animals: 11 rows, 11 created" in imported
    before, after = registry(first), registry(second)
    for resource in COMPARED:
        assert before[resource] == after[resource], resource
    (paused,) = [z for z in read(second, "zoos") if z["slug"] == "round-trip-zoo"]
    assert paused["submissions_paused"] == "true"
    assert paused["notes"] == "  padded, with a comma;\nand a second line  "
    assert paused["name"] == '\'=HYPERLINK("https://example.org")'  # neutralised again
