"""`zoo-registry export DIR`: the open-data package written into a folder, as
`GET /api/v1/export.zip` streams it."""

from functools import partial
from pathlib import Path

import typer
from sqlmodel import Session

from app import exports
from app.concerns import ConcernReadModel
from app.core.config import get_settings
from app.core.db import is_sqlite, make_engine


def export_command(
    directory: Path = typer.Argument(
        ...,
        file_okay=False,
        help="The folder to write into (created if missing; the package's files are replaced).",
    ),
) -> None:
    """Writes the whole public registry into DIR as a Frictionless Data Package:
    datapackage.json and one CSV per resource (zoos, species, animals, incidents, reports
    without their reporters' details, concern flags, ...). Every zoo's concern flags are
    brought up to date first; the files are read in one transaction."""
    # The root's check: one line and exit 2 when the database is missing or behind.
    from app.cli import _require_database

    settings = get_settings()
    _require_database(settings)
    engine = make_engine(settings)
    # SQLite's writes go through its single writer connection, as in the app.
    writer = make_engine(settings, writer=True) if is_sqlite(settings.database_url) else engine
    reads = partial(Session, engine, expire_on_commit=False)
    writes = partial(Session, writer, expire_on_commit=False)
    concerns = ConcernReadModel(settings, reads, writes)

    def progress(resource: str, rows: int) -> None:
        typer.echo(f"{resource}: {rows} rows", err=True)

    try:
        exports.write_package(directory, reads, concerns, progress=progress)
    finally:
        engine.dispose()
        writer.dispose()
    typer.echo(f"wrote the data package to {directory}")
