"""Creates and drops throwaway databases, so tests never touch a developer's data."""

import os
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

# Unset: SQLite in a temporary folder. A PostgreSQL URL names a server (and an admin
# database to connect to); the suite creates its own uniquely named database there.
TEST_SERVER_URL = os.environ.get("ZWR_TEST_DATABASE_URL", "")


def backend() -> str:
    return "postgresql" if TEST_SERVER_URL.startswith("postgresql") else "sqlite"


def create_database(label: str = "run") -> str:
    """Creates an empty database and returns its URL."""
    if backend() == "sqlite":
        folder = Path(tempfile.mkdtemp(prefix=f"zwr-test-{label}-"))
        return f"sqlite:///{folder / 'registry.db'}"
    name = f"zwr_test_{label}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(TEST_SERVER_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(TEST_SERVER_URL).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    """Drops a database made by create_database, whoever is still connected."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        db_file = Path(parsed.database or "")
        for path in db_file.parent.glob(db_file.name + "*"):
            path.unlink(missing_ok=True)
        db_file.parent.rmdir()
        return
    admin = create_engine(TEST_SERVER_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
    admin.dispose()


def override_sessions(app: FastAPI, sessions: Callable[[], Iterator[Session]]) -> None:
    """Gives the app's routes their sessions from `sessions`, a generator function yielding
    one: the request's session dependency and the reads made outside it both open theirs
    from app.state's factories."""
    app.state.read_sessions = app.state.write_sessions = contextmanager(sessions)
    app.state.concerns.reads = app.state.concerns.writes = contextmanager(sessions)
    app.state.events.reads = app.state.events.writes = contextmanager(sessions)


def share_session(app: FastAPI, session: Session) -> None:
    """Every request of the app uses this one (rolled-back) test session."""

    def sessions() -> Iterator[Session]:
        yield session

    override_sessions(app, sessions)
