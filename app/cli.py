"""The `zoo-registry` command: serve, db upgrade/downgrade, seed."""

import typer
import uvicorn

from app.core import migrations
from app.core.config import get_settings

cli = typer.Typer(help="Zoo Welfare Registry.", no_args_is_help=True)
db_cli = typer.Typer(help="Database schema.", no_args_is_help=True)
cli.add_typer(db_cli, name="db")


@cli.command()
def serve(
    host: str | None = typer.Option(None, help="Interface to bind (ZWR_HOST)."),
    port: int | None = typer.Option(None, help="Port (ZWR_PORT)."),
    workers: int = typer.Option(1, min=1, help="Worker processes."),
) -> None:
    """Serves the API with uvicorn."""
    settings = get_settings()
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
    )


@db_cli.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head")) -> None:
    """Migrates the database up to a revision (the latest by default)."""
    migrations.upgrade(get_settings().database_url, revision)
    typer.echo(f"database at {revision}")


@db_cli.command("downgrade")
def db_downgrade(revision: str = typer.Argument(...)) -> None:
    """Migrates the database down to a revision ('base' removes every table)."""
    migrations.downgrade(get_settings().database_url, revision)
    typer.echo(f"database at {revision}")


@cli.command()
def seed() -> None:
    """Loads the public seed facts; running it twice changes nothing."""
    from app.core.db import make_engine
    from app.seed.loader import load_seed

    engine = make_engine(get_settings())
    try:
        counts = load_seed(engine)
    finally:
        engine.dispose()
    added = ", ".join(f"{n} {what}" for what, n in counts.items()) or "nothing new"
    typer.echo(f"seed loaded: {added}")


def main() -> None:
    cli()
