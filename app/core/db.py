"""Engine and session factory for SQLite (embedded default) and PostgreSQL."""

from collections.abc import Iterator

from fastapi import Request
from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url
from sqlmodel import Session, create_engine

from app.core.config import Settings


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _enable_sqlite_pragmas(engine: Engine) -> None:
    # pysqlite opens transactions lazily and breaks SAVEPOINT semantics; take over BEGIN
    # ourselves (the SQLAlchemy-documented recipe) and switch on foreign keys and WAL.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:  # type: ignore[no-untyped-def]
        conn.exec_driver_sql("BEGIN")


def make_engine(settings: Settings) -> Engine:
    """Builds the engine for the configured database URL."""
    url = settings.database_url
    if is_sqlite(url):
        engine = create_engine(
            url, echo=settings.echo_sql, connect_args={"check_same_thread": False}
        )
        _enable_sqlite_pragmas(engine)
        return engine
    return create_engine(
        url,
        echo=settings.echo_sql,
        pool_pre_ping=True,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
    )


def get_session(request: Request) -> Iterator[Session]:
    """Yields one session per request; services commit, the session is closed after."""
    with Session(request.app.state.engine, expire_on_commit=False) as session:
        yield session
