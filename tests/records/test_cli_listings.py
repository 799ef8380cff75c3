"""`zoo-registry refresh-listings`: the daily run that brings species' current listing
columns to today, for listings that began or ended since the species was last written."""

from datetime import date, timedelta

from sqlalchemy import Engine
from sqlmodel import Session
from typer.testing import CliRunner

from app.cli import cli
from app.models import Species, SpeciesStatus
from app.models.base import utcnow
from app.models.enums import IucnCategory
from tests.factories import make_species
from tests.test_cli_keys import cli_database, cli_engine

__all__ = ["cli_database", "cli_engine"]  # the fixtures this module uses


def test_refresh_listings_follows_the_calendar(cli_engine: Engine) -> None:
    yesterday = utcnow().date() - timedelta(days=1)
    with Session(cli_engine, expire_on_commit=False) as session:
        species = make_species(session, iucn_category="VU")
        # Written as they stood yesterday: the VU listing ended then, EN begins today.
        for value, start, end in (
            ("VU", date(2000, 1, 1), yesterday),
            ("EN", utcnow().date(), None),
        ):
            session.add(
                SpeciesStatus(
                    species_id=species.id, kind="iucn", value=value, valid_from=start, valid_to=end
                )
            )
        session.commit()
    result = CliRunner().invoke(cli, ["refresh-listings"])
    assert result.exit_code == 0, result.output
    assert "refreshed the current listings of 1 species" in result.output
    with Session(cli_engine) as session:
        assert session.get(Species, species.id).iucn_category is IucnCategory.EN  # type: ignore[union-attr]
    again = CliRunner().invoke(cli, ["refresh-listings"])
    assert "of 0 species" in again.output
