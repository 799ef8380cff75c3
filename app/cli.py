"""The `zoo-registry` command: serve, worker, db upgrade/downgrade, seed, keys, secrets,
events tail, import."""

import contextlib
import gc
import json
import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any, NoReturn

import typer
import uvicorn
from alembic.util.exc import CommandError
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, SQLModel

from app.cli_events import events_cli
from app.cli_export import export_command
from app.concerns import ConcernWorker
from app.core import crypto, migrations
from app.core.config import Settings, get_settings
from app.core.db import make_engine
from app.core.errors import DomainError
from app.models.api_key import ApiKeyCreate, Role
from app.services import api_keys as api_key_service
from app.webhooks import WebhookWorker

cli = typer.Typer(help="Zoo Welfare Registry.", no_args_is_help=True)
db_cli = typer.Typer(help="Database schema.", no_args_is_help=True)
keys_cli = typer.Typer(help="API keys.", no_args_is_help=True)
secrets_cli = typer.Typer(help="The key of the private reporter fields.", no_args_is_help=True)
cli.add_typer(db_cli, name="db")
cli.add_typer(keys_cli, name="keys")
cli.add_typer(secrets_cli, name="secrets")
cli.add_typer(events_cli, name="events")
import_cli = typer.Typer(help="Import data files.", no_args_is_help=True)
cli.add_typer(import_cli, name="import")
cli.command("export")(export_command)


def _configure_cipher(settings: Settings) -> None:
    """Configures the cipher of the private fields, or stops with the reason (no key on
    PostgreSQL, a malformed key) instead of a traceback."""
    try:
        crypto.configure(settings)
    except crypto.SecretKeyMissing as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from None


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=2)


def _describe(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (None for in-memory databases and other backends)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def _require_database(settings: Settings, *, migrated: bool = True) -> None:
    """Stops with one line, before anything is written, when the database is missing (a
    SQLite file, or its key file, is never created by a command that only uses it), has no
    key for its private fields, is unreachable, or (with `migrated`) is not at the latest
    revision. Configures the cipher of the private fields on the way."""
    db_file = _sqlite_file(settings.database_url)
    if db_file is not None and not db_file.exists():
        _fail(f"there is no database at {db_file}; create it with `zoo-registry db upgrade`.")
    _configure_cipher(settings)
    engine = create_engine(settings.database_url)
    try:
        current = migrations.current_revision(engine)
        head = migrations.head_revision()
        if migrated and current != head:
            _fail(
                f"the database is at revision {current or 'none'}, not {head}; "
                "run `zoo-registry db upgrade`."
            )
        if current == head:
            with engine.connect() as connection:
                unreadable = crypto.undecryptable(connection, SQLModel.metadata)
            if unreadable is not None:
                _fail(
                    f"the secret key does not decrypt the stored private fields ({unreadable}): "
                    "set ZWR_SECRET_KEY to the key they were written with (when rotating, the "
                    "new key first and the old one after it)."
                )
    except DBAPIError as exc:
        _fail(f"cannot reach the database at {_describe(settings.database_url)}: {_reason(exc)}")
    finally:
        engine.dispose()


def _reason(exc: DBAPIError) -> str:
    lines = str(exc.orig).strip().splitlines() or [type(exc.orig).__name__]
    return lines[0]


@contextmanager
def _session() -> Iterator[Session]:
    settings = get_settings()
    _require_database(settings)
    engine = make_engine(settings)
    try:
        with Session(engine, expire_on_commit=False) as session:
            yield session
    finally:
        engine.dispose()


@cli.command()
def serve(
    host: str | None = typer.Option(None, help="Interface to bind (ZWR_HOST)."),
    port: int | None = typer.Option(None, help="Port (ZWR_PORT)."),
    workers: int = typer.Option(1, min=1, help="Worker processes."),
    no_worker: bool = typer.Option(
        False, "--no-worker", help="No background work here (run `zoo-registry worker` apart)."
    ),
) -> None:
    """Serves the API with uvicorn, and the background work in each process unless
    --no-worker (the concern flags kept fresh after writes and at each day's rollover)."""
    _require_database(get_settings())
    # The app's processes read it from the environment, as all their settings (set only
    # once the checks passed: a refused serve leaves the environment as it found it).
    os.environ["ZWR_BACKGROUND_WORKER"] = "false" if no_worker else "true"
    get_settings.cache_clear()
    settings = get_settings()
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        access_log=False,  # the app logs one structured line per request itself
    )


@cli.command()
def worker() -> None:
    """Runs only the background work, until interrupted: the concern flags of zoos written to,
    or left from an earlier day, brought up to date, and the webhooks delivered. Any number
    may share one PostgreSQL."""
    settings = get_settings()
    _require_database(settings)
    engine = make_engine(settings, writer=True)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    typer.echo(
        f"worker: keeping concerns fresh and delivering webhooks in "
        f"{_describe(settings.database_url)}",
        err=True,
    )
    read_engine = make_engine(settings)
    sessions = partial(Session, engine, expire_on_commit=False)
    reads = partial(Session, read_engine, expire_on_commit=False)
    halt_webhooks = WebhookWorker(settings, sessions, reads=reads).start()
    ConcernWorker(settings, sessions).run(stop)
    halt_webhooks()
    engine.dispose()
    read_engine.dispose()
    typer.echo("worker: stopped", err=True)


@cli.command()
def openapi(
    output: Path = typer.Option(Path("openapi.json"), help="Where to write the document."),
) -> None:
    """Writes the OpenAPI document (the committed contract at the repository root)."""
    from app.main import create_app

    document = create_app(Settings(database_url="sqlite://")).openapi()
    output.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    typer.echo(f"wrote {output}")


@db_cli.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head")) -> None:
    """Migrates the database up to a revision (the latest by default)."""
    settings = get_settings()
    _configure_cipher(settings)  # 0008 encrypts the private fields
    _migrate(migrations.upgrade, settings, revision)
    typer.echo(f"database at {revision}")


@db_cli.command("downgrade")
def db_downgrade(revision: str = typer.Argument(...)) -> None:
    """Migrates the database down to a revision ('base' removes every table)."""
    settings = get_settings()
    _require_database(settings, migrated=False)
    _migrate(migrations.downgrade, settings, revision)
    typer.echo(f"database at {revision}")


def _migrate(step: Callable[[str, str], None], settings: Settings, revision: str) -> None:
    try:
        step(settings.database_url, revision)
    except DBAPIError as exc:
        _fail(f"cannot migrate the database at {_describe(settings.database_url)}: {_reason(exc)}")
    except CommandError as exc:  # an unknown revision
        _fail(str(exc))


@cli.command()
def seed() -> None:
    """Loads the public seed facts; running it twice changes nothing."""
    from app.seed.loader import load_seed

    settings = get_settings()
    _require_database(settings)
    engine = make_engine(settings)
    try:
        counts = load_seed(engine)
    finally:
        engine.dispose()
    added = ", ".join(f"{n} {what}" for what, n in counts.items()) or "nothing new"
    typer.echo(f"seed loaded: {added}")


@keys_cli.command("create")
def keys_create(
    name: str = typer.Option(..., help="Who or what the key is for."),
    role: Role = typer.Option(
        ..., help="reporter, inspector, admin, or zoo_representative (exactly one --zoo)."
    ),
    zoo: list[str] = typer.Option(None, help="Limit the key to this zoo (id or slug); repeat."),
    expires_in_days: int | None = typer.Option(None, min=1, help="Expire after this many days."),
) -> None:
    """Issues a key and prints it once; only its hash is stored."""
    key_in = ApiKeyCreate(name=name, role=role, zoos=zoo or None, expires_in_days=expires_in_days)
    with _session() as session:
        try:
            key, token = api_key_service.create(session=session, key_in=key_in, actor=None)
        except DomainError as exc:
            raise typer.BadParameter(exc.detail) from exc
    typer.echo(f"key {key.id} ({key.role.value}, prefix {key.prefix}); store it now:")
    typer.echo(token)


@keys_cli.command("list")
def keys_list(include_revoked: bool = typer.Option(False, help="Show revoked keys too.")) -> None:
    """Lists keys: id, prefix, role, zoos, expiry; never secrets."""
    with _session() as session:
        keys, _ = api_key_service.list_keys(
            session=session, actor=None, include_revoked=include_revoked, limit=10_000, offset=0
        )
    for key in keys:
        zoos = ",".join(map(str, key.zoo_ids)) if key.zoo_ids is not None else "all"
        state = "revoked" if key.revoked_at else f"expires {key.expires_at or 'never'}"
        typer.echo(f"{key.id}\t{key.prefix}\t{key.role.value}\tzoos={zoos}\t{state}\t{key.name}")


@keys_cli.command("revoke")
def keys_revoke(
    prefix: str = typer.Argument(..., help="The key's prefix (see keys list)."),
) -> None:
    """Revokes a key at once."""
    with _session() as session:
        key = api_key_service.get_by_prefix(session=session, prefix=prefix)
        if key is None:
            raise typer.BadParameter(f"no key with prefix {prefix}")
        try:
            api_key_service.revoke(session=session, key=key, actor=None)
        except DomainError as exc:
            raise typer.BadParameter(exc.detail) from exc
    typer.echo(f"key {prefix} revoked")


@cli.command("purge-idempotency")
def purge_idempotency(
    hours: int = typer.Option(24, min=24, help="Delete records older than this many hours."),
) -> None:
    """Deletes Idempotency-Key records past their retention (kept at least 24 hours)."""
    from datetime import timedelta

    from app.services import idempotency

    with _session() as session:
        removed = idempotency.purge(session=session, older_than=timedelta(hours=hours))
    typer.echo(f"removed {removed} idempotency records older than {hours} h")


@cli.command("refresh-listings")
def refresh_listings() -> None:
    """Brings every listed species' current IUCN category and CITES appendix up to date for
    today: a dated listing that began or ended since its species was last written. Run it
    daily (cron), after midnight UTC."""
    from app.services import listings

    with _session() as session:
        changed = listings.refresh_all(session)
    typer.echo(f"refreshed the current listings of {changed} species")


def _lines(file: Path) -> Callable[[], Iterator[str]]:
    """Opens the file afresh each time it is called (an import may read it twice)."""

    def open_text() -> Iterator[str]:
        with file.open(encoding="utf-8-sig", newline="") as lines:
            yield from lines

    return open_text


@contextmanager
def _progress(file: Path, label: str) -> Iterator[Callable[[int], None]]:
    """A progress bar of rows against the file's lines, on a terminal only. Shown by the long
    file commands, which first freeze what the command loaded (gc.freeze): the modules, the
    models and their metadata live as long as the process, and every collection the import's
    millions of short-lived objects trigger would scan them again (about a tenth of its time)."""
    gc.collect()  # what is garbage already goes first
    gc.freeze()
    with file.open("rb") as counted:
        newlines = sum(chunk.count(b"\n") for chunk in iter(partial(counted.read, 1 << 20), b""))
    shown = 0
    with (
        open(os.devnull, "w") if not os.isatty(2) else contextlib.nullcontext(None) as quiet,
        typer.progressbar(length=max(newlines - 1, 1), label=label, file=quiet) as bar,
    ):

        def progress(rows: int) -> None:
            nonlocal shown
            bar.update(rows - shown)
            shown = rows

        yield progress


def _report_rows(exc: DomainError) -> NoReturn:
    """A rejected file: the reason, then each bad row's number, column and message."""
    typer.echo(f"\nerror: {exc.detail}", err=True)
    for error in exc.errors or []:
        location = error["location"]
        if len(location) == 3:
            typer.echo(f"  row {location[1]}, {location[2]}: {error['message']}", err=True)
    raise typer.Exit(code=1)


def _counts(result: Any) -> str:
    return (
        f"{result.rows} rows, {result.created} created, {result.updated} updated, "
        f"{result.unchanged} unchanged"
    )


@import_cli.command("cites-trade")
def import_cites_trade(
    file: Path = typer.Argument(
        ...,
        exists=True,
        dir_okay=False,
        readable=True,
        help="A comparative-tabulation CSV from the CITES Trade Database (trade.cites.org).",
    ),
) -> None:
    """Imports CITES trade records. The file lands whole or not at all: a bad row rejects it,
    and every bad row is listed with its number and column. Importing it again changes
    nothing; a newer download updates the quantities it revised."""
    from app.services import trade_records

    with _progress(file, "importing") as progress, _session() as session:
        try:
            result = trade_records.import_file(
                session=session, open_text=_lines(file), actor=None, progress=progress
            )
        except DomainError as exc:
            _report_rows(exc)
    typer.echo(f"imported {file.name} ({result.layout}): {_counts(result)}")


def _import_records(kind: str, file: Path, dry_run: bool) -> Any:
    from app.models.imports import ImportKind
    from app.services import imports
    from app.services.import_files import format_of

    label = f"{kind} {'checking' if dry_run else 'importing'}"
    with _progress(file, label) as progress, _session() as session:
        try:
            return imports.import_file(
                session=session,
                kind=ImportKind(kind),
                open_text=_lines(file),
                file_format=format_of(file.name),
                actor=None,
                dry_run=dry_run,
                progress=progress,
            )
        except DomainError as exc:
            _report_rows(exc)


def _import_command(kind: str) -> Callable[..., None]:
    def command(
        file: Path = typer.Argument(
            ...,
            exists=True,
            dir_okay=False,
            readable=True,
            help="CSV (a header row naming the columns) or NDJSON (.ndjson, .jsonl).",
        ),
        dry_run: bool = typer.Option(False, help="Check and count the rows; write nothing."),
    ) -> None:
        result = _import_records(kind, file, dry_run)
        done = "checked (dry run)" if dry_run else "imported"
        typer.echo(f"{done} {file.name}: {_counts(result)}")

    command.__doc__ = (
        f"Imports {kind} from a CSV or NDJSON file, upserted by their natural keys; the file "
        "lands whole or not at all, and every bad row is listed."
    )
    return command


for _kind in ("zoos", "species", "species_statuses", "gifts", "enclosures", "animals"):
    import_cli.command(_kind)(_import_command(_kind))


@cli.command("import-package")
def import_package(
    directory: Path = typer.Argument(
        ..., exists=True, file_okay=False, help="An export's folder (zoo-registry export DIR)."
    ),
    dry_run: bool = typer.Option(False, help="Check and count the rows; write nothing."),
) -> None:
    """Imports an exported data package into this registry, in order: zoos, species, their
    listings, gifts, enclosures, animals. Each file lands whole or not at all."""
    from app.services.imports import kinds

    for kind in kinds():
        file = directory / f"{kind.value}.csv"
        if not file.exists():
            _fail(f"{file} is missing: a package holds {file.name}")
        result = _import_records(kind.value, file, dry_run)
        typer.echo(f"{kind.value}: {_counts(result)}")


@secrets_cli.command("generate-key")
def secrets_generate_key() -> None:
    """Prints a new key for ZWR_SECRET_KEY (put it first to rotate: new,old)."""
    typer.echo(crypto.generate_key())


@secrets_cli.command("rotate")
def secrets_rotate() -> None:
    """Encrypts every private field again with the first key of ZWR_SECRET_KEY; afterwards
    the other keys may be dropped."""
    from app.services.secrets import rotate_private_fields

    with _session() as session:
        rotated = rotate_private_fields(session=session)
    typer.echo(f"re-encrypted the private fields of {rotated} reports with the first key")


def main() -> None:
    cli()
