"""`zoo-registry keys ...`: issue a key (printed once), list without secrets, revoke."""

import hashlib
import re
from collections.abc import Iterator

import pytest
from click.testing import Result
from sqlalchemy import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner

from app.cli import cli
from app.core import migrations
from app.core.config import Settings, get_settings
from app.core.db import make_engine
from app.core.errors import Unauthorized
from app.core.security import parse_key
from app.models import Zoo
from app.models.api_key import ApiKey, Role
from app.services import api_keys as api_key_service
from tests.dbutil import create_database, drop_database
from tests.factories import make_zoo

TOKEN = re.compile(r"zwr_[0-9a-f]{12}_[A-Za-z0-9_-]+")


@pytest.fixture
def cli_database(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh migrated database that the CLI reaches through ZWR_DATABASE_URL."""
    url = create_database("cli")
    try:
        migrations.upgrade(url)
        monkeypatch.setenv("ZWR_DATABASE_URL", url)
        get_settings.cache_clear()
        yield url
    finally:
        get_settings.cache_clear()
        drop_database(url)


@pytest.fixture
def cli_engine(cli_database: str) -> Iterator[Engine]:
    engine = make_engine(Settings(database_url=cli_database))
    yield engine
    engine.dispose()


@pytest.fixture
def zoo(cli_engine: Engine) -> Zoo:
    with Session(cli_engine, expire_on_commit=False) as session:
        return make_zoo(session, slug="korea-central-zoo", name="Korea Central Zoo")


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def keys(cli_engine: Engine) -> list[ApiKey]:
    with Session(cli_engine, expire_on_commit=False) as session:
        return list(session.exec(select(ApiKey).order_by(ApiKey.id)).all())


def invoke(runner: CliRunner, *args: str) -> Result:
    return runner.invoke(cli, list(args))


def create_inspector(runner: CliRunner, zoo: Zoo, name: str = "Pyongyang inspector") -> str:
    result = invoke(
        runner, "keys", "create", "--name", name, "--role", "inspector", "--zoo", zoo.slug
    )
    assert result.exit_code == 0, result.output
    tokens = TOKEN.findall(result.stdout)
    assert len(tokens) == 1, result.stdout
    return tokens[0]


def test_cli_uses_the_environment_database(cli_database: str) -> None:
    assert get_settings().database_url == cli_database


def test_keys_create_prints_the_key_once(runner: CliRunner, cli_engine: Engine, zoo: Zoo) -> None:
    result = invoke(
        runner, "keys", "create", "--name", "Inspector", "--role", "inspector", "--zoo", zoo.slug
    )
    assert result.exit_code == 0, result.output
    tokens = TOKEN.findall(result.stdout)
    assert len(tokens) == 1, result.stdout
    token = tokens[0]
    assert result.stdout.count(token) == 1
    parts = parse_key(token)
    assert parts is not None
    assert f"prefix {parts.prefix}" in result.stdout

    [row] = keys(cli_engine)
    assert row.name == "Inspector"
    assert row.role == Role.inspector
    assert row.zoo_ids == [zoo.id]
    assert row.prefix == parts.prefix
    assert row.revoked_at is None
    assert row.secret_hash != token
    assert row.secret_hash != parts.secret
    assert row.secret_hash == hashlib.sha256(parts.secret.encode()).hexdigest()


def test_created_key_authenticates(runner: CliRunner, cli_engine: Engine, zoo: Zoo) -> None:
    token = create_inspector(runner, zoo)
    with Session(cli_engine, expire_on_commit=False) as session:
        key = api_key_service.authenticate(session=session, token=token, uses=None)
    assert key.role == Role.inspector
    assert key.allows_zoo(zoo.id)
    assert not key.allows_zoo(zoo.id + 1)


def test_keys_create_by_zoo_id_and_unscoped(
    runner: CliRunner, cli_engine: Engine, zoo: Zoo
) -> None:
    by_id = invoke(
        runner, "keys", "create", "--name", "By id", "--role", "reporter", "--zoo", str(zoo.id)
    )
    assert by_id.exit_code == 0, by_id.output
    everywhere = invoke(runner, "keys", "create", "--name", "Everywhere", "--role", "admin")
    assert everywhere.exit_code == 0, everywhere.output
    rows = {row.name: row for row in keys(cli_engine)}
    assert rows["By id"].zoo_ids == [zoo.id]
    assert rows["By id"].role == Role.reporter
    assert rows["Everywhere"].zoo_ids is None
    assert rows["Everywhere"].role == Role.admin


def test_keys_create_for_an_unknown_zoo_fails_and_stores_nothing(
    runner: CliRunner, cli_engine: Engine, zoo: Zoo
) -> None:
    result = invoke(
        runner, "keys", "create", "--name", "Nowhere", "--role", "inspector", "--zoo", "atlantis"
    )
    assert result.exit_code != 0
    assert "atlantis" in result.output
    assert not TOKEN.search(result.output)
    assert keys(cli_engine) == []


def test_keys_create_with_an_unknown_role_fails(runner: CliRunner, cli_engine: Engine) -> None:
    result = invoke(runner, "keys", "create", "--name", "Boss", "--role", "superuser")
    assert result.exit_code != 0
    assert keys(cli_engine) == []


def test_keys_list_shows_the_prefix_not_the_secret(
    runner: CliRunner, cli_engine: Engine, zoo: Zoo
) -> None:
    token = create_inspector(runner, zoo)
    parts = parse_key(token)
    assert parts is not None
    [row] = keys(cli_engine)

    result = invoke(runner, "keys", "list")
    assert result.exit_code == 0, result.output
    assert parts.prefix in result.stdout
    assert "inspector" in result.stdout
    assert f"zoos={zoo.id}" in result.stdout
    assert "Pyongyang inspector" in result.stdout
    assert token not in result.stdout
    assert parts.secret not in result.stdout
    assert row.secret_hash not in result.stdout


def test_keys_revoke_by_prefix(runner: CliRunner, cli_engine: Engine, zoo: Zoo) -> None:
    token = create_inspector(runner, zoo)
    keep = create_inspector(runner, zoo, name="Other inspector")
    parts, kept = parse_key(token), parse_key(keep)
    assert parts is not None and kept is not None

    result = invoke(runner, "keys", "revoke", parts.prefix)
    assert result.exit_code == 0, result.output
    assert "revoked" in result.stdout

    rows = {row.prefix: row for row in keys(cli_engine)}
    assert rows[parts.prefix].revoked_at is not None
    assert rows[kept.prefix].revoked_at is None
    with Session(cli_engine, expire_on_commit=False) as session:
        with pytest.raises(Unauthorized):
            api_key_service.authenticate(session=session, token=token, uses=None)
        kept_key = api_key_service.authenticate(session=session, token=keep, uses=None)
        assert kept_key.prefix == kept.prefix

    listed = invoke(runner, "keys", "list")
    assert parts.prefix not in listed.stdout
    assert kept.prefix in listed.stdout
    with_revoked = invoke(runner, "keys", "list", "--include-revoked")
    [line] = [line for line in with_revoked.stdout.splitlines() if parts.prefix in line]
    assert "revoked" in line


def test_keys_revoke_twice_or_unknown_fails(
    runner: CliRunner, cli_engine: Engine, zoo: Zoo
) -> None:
    parts = parse_key(create_inspector(runner, zoo))
    assert parts is not None
    assert invoke(runner, "keys", "revoke", parts.prefix).exit_code == 0
    [row] = keys(cli_engine)
    revoked_at = row.revoked_at

    again = invoke(runner, "keys", "revoke", parts.prefix)
    assert again.exit_code != 0
    assert "already revoked" in again.output
    assert keys(cli_engine)[0].revoked_at == revoked_at

    unknown = invoke(runner, "keys", "revoke", "000000000000")
    assert unknown.exit_code != 0
    assert "000000000000" in unknown.output


def test_seed_then_key_for_a_seeded_zoo(runner: CliRunner, cli_engine: Engine) -> None:
    seeded = invoke(runner, "seed")
    assert seeded.exit_code == 0, seeded.output
    with Session(cli_engine) as session:
        slug = session.exec(select(Zoo.slug).order_by(Zoo.id)).first()
    assert slug is not None
    result = invoke(
        runner, "keys", "create", "--name", "Seeded", "--role", "inspector", "--zoo", slug
    )
    assert result.exit_code == 0, result.output
    assert len(TOKEN.findall(result.stdout)) == 1


def test_a_zoo_representative_key_names_exactly_one_zoo(
    runner: CliRunner, cli_engine: Engine, zoo: Zoo
) -> None:
    args = ["keys", "create", "--name", "Zoo press office", "--role", "zoo_representative"]
    refused = invoke(runner, *args)
    assert refused.exit_code != 0 and "exactly one zoo" in refused.output
    assert keys(cli_engine) == []
    issued = invoke(runner, *args, "--zoo", zoo.slug)
    assert issued.exit_code == 0, issued.output
    [key] = keys(cli_engine)
    assert (key.role, key.zoo_ids) == (Role.zoo_representative, [zoo.id])
