"""OWASP API3:2023 Broken Object Property Level Authorization: private properties (reporter
details, the keys behind audit events) reach only those allowed to see them.

Finding 5: reporters' names and contacts reached the log (a database error's message held
the statement's parameters) and were stored in clear. Engines now hide parameters, validation
errors never echo values, and the two fields are encrypted at rest (app/core/crypto.py).

Finding 10: the public audit trail showed each event's actor_key_id, which links every
report one reporter key filed (a reporter's whole history). Readers who are not admins or the
zoo's inspectors now see the actor's role only.
"""

import logging
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr, ValidationError
from sqlalchemy import Engine, create_engine, event
from sqlmodel import Session
from typer.testing import CliRunner

from app.cli import cli
from app.core import crypto, migrations
from app.core.config import Settings, get_settings
from app.main import create_app
from app.models import ApiKey, WelfareIncident
from app.models.api_key import Role
from app.models.enums import Category
from app.models.report import WelfareReportCreate, WelfareReportPublic
from app.services import incidents as incident_service
from app.services import reports as report_service
from app.services.secrets import rotate_private_fields
from tests.api.test_reports import REPORTS, bearer, key_id, post_report, report_body
from tests.dbutil import create_database, drop_database
from tests.factories import make_key, make_zoo

API = "/api/v1"


CONTACT = "whistleblower-7f3a@example.org"


NAME = "Keeper Kim 7f3a"


RAW = sa.table(
    "welfare_report",
    sa.column("id", sa.Integer()),
    sa.column("reporter_name", sa.Text()),
    sa.column("reporter_contact", sa.Text()),
)


@pytest.fixture
def restore_cipher(settings: Settings) -> Iterator[None]:
    """Tests that configure other keys give the suite's database its own back afterwards."""
    yield
    crypto.configure(settings)


def _raw(session: Session, report_id: int) -> tuple[str | None, str | None]:
    row = session.connection().execute(sa.select(RAW).where(RAW.c.id == report_id)).one()
    return row.reporter_name, row.reporter_contact


def test_private_fields_are_stored_encrypted(client: TestClient, session: Session) -> None:
    zoo = make_zoo(session)
    report = post_report(client, zoo.id, reporter_name=NAME, reporter_contact=CONTACT)
    name, contact = _raw(session, report["id"])
    assert name is not None and contact is not None
    assert NAME not in name and CONTACT not in contact
    assert crypto.cipher().decrypt(name) == NAME
    assert crypto.cipher().decrypt(contact) == CONTACT


def test_authorised_readers_get_the_plaintext(
    anon_client: TestClient, session: Session, admin_key: str
) -> None:
    zoo = make_zoo(session)
    report = post_report(
        anon_client, zoo.id, token=admin_key, reporter_name=NAME, reporter_contact=CONTACT
    )
    url = f"{REPORTS}/{report['id']}"
    inspector = make_key(session, Role.inspector, zoos=[zoo.slug])
    shown = anon_client.get(url, headers=bearer(inspector)).json()
    assert (shown["reporter_name"], shown["reporter_contact"]) == (NAME, CONTACT)
    hidden = anon_client.get(url).json()
    assert hidden["reporter_name"] is hidden["reporter_contact"] is None


def test_a_full_length_contact_fits(client: TestClient, session: Session) -> None:
    zoo = make_zoo(session)
    long = "ü" * 200  # the ciphertext of 400 bytes is about 620 characters
    report = post_report(client, zoo.id, reporter_contact=long)
    assert client.get(f"{REPORTS}/{report['id']}").json()["reporter_contact"] == long


def test_the_apps_engines_hide_parameters(app: FastAPI, engine: Engine) -> None:
    assert app.state.engine.hide_parameters is True
    assert app.state.write_engine.hide_parameters is True
    assert engine.hide_parameters is True


def test_a_database_error_on_a_report_write_logs_no_values(
    client: TestClient, session: Session, engine: Engine
) -> None:
    zoo = make_zoo(session)
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    errors = logging.getLogger("zwr.errors")
    errors.addHandler(handler)

    def fail(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        if "INSERT INTO welfare_report" in statement:
            raise engine.dialect.loaded_dbapi.OperationalError("the database went away")

    event.listen(engine, "before_cursor_execute", fail)
    try:
        response = client.post(
            REPORTS, json=report_body(zoo.id, reporter_name=NAME, reporter_contact=CONTACT)
        )
    finally:
        event.remove(engine, "before_cursor_execute", fail)
        errors.removeHandler(handler)
    assert response.status_code == 503, response.text
    assert CONTACT not in response.text and NAME not in response.text
    logged = "\n".join(r.getMessage() for r in records)
    assert "database unavailable" in logged
    assert "parameters hidden" in logged
    assert CONTACT not in logged and NAME not in logged
    assert "gAAAA" not in logged  # nor the ciphertext


def test_validation_errors_never_echo_private_values(client: TestClient, session: Session) -> None:
    zoo = make_zoo(session)
    cases = [
        {"reporter_contact": CONTACT * 10},  # too long
        {"reporter_name": NAME + "\x00"},  # a control character
        {"reporter_name": NAME + "\u202e"},  # a bidi override
        {"reporter_contact": [CONTACT]},  # not a string
    ]
    for overrides in cases:
        response = client.post(REPORTS, json=report_body(zoo.id, **overrides))
        assert response.status_code == 422, response.text
        assert CONTACT not in response.text and NAME not in response.text
        assert all("input" not in e for e in response.json()["errors"])


def test_postgresql_without_a_key_refuses_to_start() -> None:
    settings = Settings(database_url="postgresql+psycopg://nobody@127.0.0.1:1/x", secret_key=None)
    with pytest.raises(crypto.SecretKeyMissing, match="ZWR_SECRET_KEY"):
        create_app(settings)


@pytest.mark.parametrize("command", [["serve"], ["seed"], ["db", "upgrade"]])
def test_the_cli_says_why_without_a_key_on_postgresql(
    monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    monkeypatch.setenv("ZWR_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/x")
    monkeypatch.delenv("ZWR_SECRET_KEY", raising=False)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, command)
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2, result.output
    assert "ZWR_SECRET_KEY is not set" in result.output
    assert "secrets generate-key" in result.output


def test_a_malformed_key_is_refused_without_echoing_it() -> None:
    settings = Settings(database_url="sqlite://", secret_key="not-a-key-7f3a")
    with pytest.raises(crypto.SecretKeyMissing) as caught:
        crypto.resolve_keys(settings)
    assert "not-a-key-7f3a" not in str(caught.value)


def test_sqlite_generates_a_key_file_with_mode_0600(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'registry.db'}", secret_key=None)
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("zwr.secrets")
    logger.addHandler(handler)
    try:
        first = crypto.resolve_keys(settings)
        again = crypto.resolve_keys(settings)
    finally:
        logger.removeHandler(handler)
    path = tmp_path / "registry.db.secret-key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert first == again == [path.read_text().strip().encode()]
    assert [r.levelno for r in records] == [logging.WARNING]  # once, when generated
    assert first[0].decode() not in records[0].getMessage()


def test_in_memory_sqlite_uses_an_ephemeral_key() -> None:
    settings = Settings(database_url="sqlite://", secret_key=None)
    assert crypto.resolve_keys(settings) != crypto.resolve_keys(settings)


def test_generate_key_prints_a_fernet_key() -> None:
    result = CliRunner().invoke(cli, ["secrets", "generate-key"])
    assert result.exit_code == 0, result.output
    Fernet(result.output.strip().encode())


def _file_report(session: Session, zoo_id: int) -> int:
    report_in = WelfareReportCreate(
        zoo_id=zoo_id,
        category=Category.health,
        severity=2,
        title="Rotation",
        observed_at=datetime(2020, 1, 1, tzinfo=UTC),
        reporter_name=NAME,
        reporter_contact=CONTACT,
    )
    report = report_service.file_report(session, report_in, None)
    session.commit()
    return report.id  # type: ignore[return-value]


def test_rotation_reencrypts_with_the_first_key(
    session: Session, settings: Settings, restore_cipher: None
) -> None:
    old, new = crypto.generate_key(), crypto.generate_key()
    crypto.configure(settings.model_copy(update={"secret_key": SecretStr(old)}))
    report_id = _file_report(session, make_zoo(session).id)  # type: ignore[arg-type]
    before = _raw(session, report_id)
    assert Fernet(old.encode()).decrypt(before[1].encode()).decode() == CONTACT  # type: ignore[union-attr]

    crypto.configure(settings.model_copy(update={"secret_key": SecretStr(f"{new},{old}")}))
    assert rotate_private_fields(session=session) >= 1
    name, contact = _raw(session, report_id)
    assert (name, contact) != before
    only_new = Fernet(new.encode())
    assert only_new.decrypt(name.encode()).decode() == NAME  # type: ignore[union-attr]
    assert only_new.decrypt(contact.encode()).decode() == CONTACT  # type: ignore[union-attr]


def test_webhook_secrets_are_encrypted_and_rotated(
    session: Session, settings: Settings, restore_cipher: None
) -> None:
    from app.models import Webhook

    old, new = crypto.generate_key(), crypto.generate_key()
    crypto.configure(settings.model_copy(update={"secret_key": SecretStr(old)}))
    webhook = Webhook(url="https://hooks.example.org/", secret="whsec_c2VjcmV0")
    session.add(webhook)
    session.commit()
    raw = sa.text("SELECT secret FROM webhook WHERE id = :id")
    stored = session.connection().execute(raw, {"id": webhook.id}).scalar_one()
    assert "c2VjcmV0" not in stored
    crypto.configure(settings.model_copy(update={"secret_key": SecretStr(f"{new},{old}")}))
    assert rotate_private_fields(session=session) >= 1
    rotated = session.connection().execute(raw, {"id": webhook.id}).scalar_one()
    assert Fernet(new.encode()).decrypt(rotated.encode()).decode() == "whsec_c2VjcmV0"


@pytest.fixture
def scratch_url(restore_cipher: None) -> Iterator[str]:
    url = create_database("encrypt")
    yield url
    drop_database(url)


def _insert(session: Session, table: str, **values: object) -> int:
    """Inserts a row into the table as the database has it now; returns its id."""
    reflected = sa.Table(table, sa.MetaData(), autoload_with=session.connection())
    inserted = sa.insert(reflected).values(**values).returning(reflected.c.id)
    return int(session.connection().execute(inserted).scalar_one())


def test_migration_0008_encrypts_and_its_downgrade_decrypts(scratch_url: str) -> None:
    migrations.upgrade(scratch_url, "0007")
    engine = create_engine(scratch_url)
    try:
        with Session(engine) as session:
            # Written into 0007's tables as they are (reflected), not through head's models.
            now = datetime(2020, 1, 1, tzinfo=UTC)
            zoo_id = _insert(
                session,
                "zoo",
                slug="enc-zoo",
                name="Enc Zoo",
                country_code="KP",
                created_at=now,
                updated_at=now,
            )
            incident_id = _insert(
                session,
                "welfare_incident",
                zoo_id=zoo_id,
                category=Category.health.value,
                severity=2,
                severity_set_by_inspector=False,
                status="reported",
                title="Old",
                first_observed_at=now,
                last_observed_at=now,
                report_count=0,
                created_at=now,
                updated_at=now,
                version=1,
            )
            plain = sa.table(
                "welfare_report",
                sa.column("evidence_urls", sa.JSON()),
                *(
                    sa.column(c)
                    for c in (
                        "incident_id",
                        "zoo_id",
                        "category",
                        "severity",
                        "title",
                        "observed_at",
                        "reporter_name",
                        "reporter_contact",
                        "created_at",
                    )
                ),
            )
            common = {
                "incident_id": incident_id,
                "zoo_id": zoo_id,
                "category": "health",
                "severity": 2,
                "title": "Old",
                "observed_at": now,
                "evidence_urls": [],
                "created_at": now,
            }
            session.connection().execute(
                plain.insert(),
                [
                    common | {"reporter_name": NAME, "reporter_contact": CONTACT},
                    common | {"reporter_name": None, "reporter_contact": CONTACT},
                    common | {"reporter_name": None, "reporter_contact": None},
                ],
            )
            session.commit()

        def raw() -> list[tuple[str | None, str | None]]:
            with engine.connect() as conn:
                rows = conn.execute(sa.select(RAW).order_by(RAW.c.id)).all()
            return [(r.reporter_name, r.reporter_contact) for r in rows]

        plaintext = [(NAME, CONTACT), (None, CONTACT), (None, None)]
        assert raw() == plaintext
        cipher = crypto.configure(Settings(database_url=scratch_url))
        migrations.upgrade(scratch_url)
        encrypted = raw()
        assert encrypted[2] == (None, None) and encrypted[1][0] is None
        assert NAME not in str(encrypted) and CONTACT not in str(encrypted)
        decrypted = [
            tuple(None if v is None else cipher.decrypt(v) for v in row) for row in encrypted
        ]
        assert decrypted == plaintext

        migrations.downgrade(scratch_url, "0007")
        assert raw() == plaintext
    finally:
        engine.dispose()


@pytest.mark.parametrize("model", [WelfareReportCreate, WelfareReportPublic])
def test_report_validation_errors_hold_no_input(model: type) -> None:
    # Such an error's text would be in a 500's logged traceback.
    with pytest.raises(ValidationError) as caught:
        model.model_validate({"reporter_contact": CONTACT * 10, "reporter_name": [NAME]})
    assert CONTACT not in str(caught.value) and NAME not in str(caught.value)


def test_a_missing_sqlite_folder_defers_the_key_to_first_use(
    tmp_path: Path, restore_cipher: None
) -> None:
    folder = tmp_path / "later"
    settings = Settings(database_url=f"sqlite:///{folder / 'registry.db'}", secret_key=None)
    crypto.configure_for_engine(settings)  # the app starts; readiness says the rest
    with pytest.raises(crypto.NotConfigured):
        crypto.cipher()
    folder.mkdir()
    assert crypto.cipher().decrypt(crypto.cipher().encrypt(NAME)) == NAME
    assert (folder / "registry.db.secret-key").exists()


def _history(client: TestClient, incident_id: int, token: str | None) -> list[dict]:
    headers = bearer(token) if token else None
    response = client.get(f"{API}/incidents/{incident_id}/history", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["items"]


@pytest.mark.parametrize("who", ["anonymous", "the reporter", "another reporter", "elsewhere"])
def test_others_see_the_actors_role_but_not_its_key(
    anon_client: TestClient, session: Session, who: str
) -> None:
    zoo = make_zoo(session)
    other_zoo = make_zoo(session)
    reporter = make_key(session, Role.reporter)
    incident_id = post_report(anon_client, zoo.id, token=reporter)["incident_id"]
    post_report(anon_client, zoo.id, token=reporter, incident_id=incident_id)
    readers = {
        "anonymous": None,
        "the reporter": reporter,
        "another reporter": make_key(session, Role.reporter),
        "elsewhere": make_key(session, Role.inspector, zoos=[other_zoo.slug]),
    }
    events = _history(anon_client, incident_id, readers[who])
    assert len(events) == 3
    assert [e["actor_key_id"] for e in events] == [None, None, None]
    assert [e["actor_role"] for e in events] == ["reporter"] * 3


@pytest.mark.parametrize("role", [Role.inspector, Role.admin])
def test_the_zoos_inspectors_and_admins_see_the_key(
    anon_client: TestClient, session: Session, role: Role
) -> None:
    zoo = make_zoo(session)
    reporter = make_key(session, Role.reporter)
    incident_id = post_report(anon_client, zoo.id, token=reporter)["incident_id"]
    reader = make_key(session, role, zoos=[zoo.slug] if role is Role.inspector else None)
    events = _history(anon_client, incident_id, reader)
    assert {e["actor_key_id"] for e in events} == {key_id(session, reporter)}
    assert {e["actor_role"] for e in events} == {"reporter"}


def test_events_without_a_key_have_no_role(anon_client: TestClient, session: Session) -> None:
    zoo = make_zoo(session)
    report_in = WelfareReportCreate(
        zoo_id=zoo.id,  # type: ignore[arg-type]
        category=Category.health,
        severity=2,
        title="From the seed",
        observed_at=datetime(2020, 1, 1, tzinfo=UTC),
    )
    report = report_service.file_report(session, report_in, None)
    session.commit()
    events = _history(anon_client, report.incident_id, None)
    assert [(e["actor_key_id"], e["actor_role"]) for e in events] == [(None, None)] * 2


def test_may_see_actor_keys(session: Session) -> None:
    incident = WelfareIncident(
        zoo_id=7,
        category=Category.health,
        severity=1,
        title="t",
        first_observed_at=datetime.now(UTC),
        last_observed_at=datetime.now(UTC),
    )

    def key(role: Role, zoos: list[int] | None) -> ApiKey:
        return ApiKey(name="k", role=role, zoo_ids=zoos, prefix="p", secret_hash="h")

    assert not incident_service.may_see_actor_keys(None, incident)
    assert not incident_service.may_see_actor_keys(key(Role.reporter, None), incident)
    assert not incident_service.may_see_actor_keys(key(Role.inspector, [8]), incident)
    assert incident_service.may_see_actor_keys(key(Role.inspector, [7]), incident)
    assert incident_service.may_see_actor_keys(key(Role.inspector, None), incident)
    # A zoo-scoped admin is no exception: other zoos' actors stay hidden from it.
    assert not incident_service.may_see_actor_keys(key(Role.admin, [8]), incident)
    assert incident_service.may_see_actor_keys(key(Role.admin, [7]), incident)
    assert incident_service.may_see_actor_keys(key(Role.admin, None), incident)
