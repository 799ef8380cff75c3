"""Test isolation: one migrated database per run; each test in a rolled-back transaction."""

import os
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from app.core import crypto, migrations
from app.core.config import Settings
from app.core.db import make_engine
from app.main import create_app
from app.models.api_key import Role
from tests.dbutil import backend, create_database, drop_database, share_session
from tests.factories import make_key

# PostgreSQL needs a key for the private reporter fields: one generated key for the whole run,
# in the environment so that every Settings() of the run (tests that make their own apps,
# the e2e servers) shares it. SQLite runs use the key file beside each temporary database.
if backend() == "postgresql":
    os.environ.setdefault("ZWR_SECRET_KEY", crypto.generate_key())


def pytest_report_header() -> str:
    return f"zoo registry test database: {backend()}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if backend() == "postgresql":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set ZWR_TEST_DATABASE_URL)")
    for item in items:
        if "postgres_only" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    url = create_database()
    try:
        migrations.upgrade(url)
        yield url
    finally:
        drop_database(url)


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    # The apps under test share the test's one connection (share_session); a periodic key-use
    # flush would write through it while a request does (a lost savepoint), so only the
    # flush at each app's shutdown runs.
    settings = Settings(database_url=database_url, key_use_flush_s=24 * 3600)
    crypto.configure(settings)  # before any test writes a report without an app
    return settings


@pytest.fixture(scope="session")
def engine(settings: Settings) -> Iterator[Engine]:
    engine = make_engine(settings)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session whose commits are savepoints inside a transaction rolled back afterwards."""
    connection = engine.connect()
    transaction = connection.begin()
    session = Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    try:
        yield session
    finally:
        session.close()
        transaction.rollback()
        connection.close()


@pytest.fixture
def app(settings: Settings, session: Session) -> Iterator[FastAPI]:
    app = create_app(settings)
    share_session(app, session)
    yield app
    app.state.engine.dispose()
    app.state.write_engine.dispose()


@pytest.fixture
def admin_key(session: Session) -> str:
    return make_key(session, Role.admin)


@pytest.fixture
def client(app: FastAPI, admin_key: str) -> Iterator[TestClient]:
    """A client that sends an admin key (the role that may do everything)."""
    with TestClient(app, headers={"Authorization": f"Bearer {admin_key}"}) as client:
        yield client


@pytest.fixture
def anon_client(app: FastAPI) -> Iterator[TestClient]:
    """A client that sends no key."""
    with TestClient(app) as client:
        yield client
