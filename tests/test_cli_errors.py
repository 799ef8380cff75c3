"""The CLI against a database it cannot use: a missing SQLite file, one that is not migrated,
or a server that does not answer. Each command prints one line saying why and what to do,
exits 2, shows no traceback, and creates no file."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import cli
from app.core.config import get_settings

USES_THE_DATABASE = [
    ["keys", "list"],
    ["keys", "create", "--name", "x", "--role", "admin"],
    ["keys", "revoke", "0123456789ab"],
    ["seed"],
    ["purge-idempotency"],
    ["refresh-listings"],
    ["secrets", "rotate"],
    ["db", "downgrade", "base"],
    ["serve"],
]


@pytest.fixture
def database(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    db_file = tmp_path / "registry.db"
    monkeypatch.setenv("ZWR_DATABASE_URL", f"sqlite:///{db_file}")
    monkeypatch.delenv("ZWR_SECRET_KEY", raising=False)
    get_settings.cache_clear()
    yield db_file
    get_settings.cache_clear()


def _one_line_error(result: object) -> str:
    output = result.output  # type: ignore[attr-defined]
    assert result.exit_code == 2, output  # type: ignore[attr-defined]
    assert "Traceback" not in output
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert lines[0].startswith("error: ")
    return lines[0]


@pytest.mark.parametrize("command", USES_THE_DATABASE, ids=" ".join)
def test_a_missing_database_is_named_and_not_created(database: Path, command: list[str]) -> None:
    line = _one_line_error(CliRunner().invoke(cli, command))
    assert str(database) in line and "zoo-registry db upgrade" in line
    assert list(database.parent.iterdir()) == []  # no database file, no key file


@pytest.mark.parametrize("command", [c for c in USES_THE_DATABASE if c[0] != "db"], ids=" ".join)
def test_an_unmigrated_database_is_refused(database: Path, command: list[str]) -> None:
    import sqlite3

    sqlite3.connect(database).close()  # an empty file: no revision
    line = _one_line_error(CliRunner().invoke(cli, command))
    assert "revision none" in line and "zoo-registry db upgrade" in line


def test_an_unreachable_server_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    # Nothing listens on port 1 of this machine.
    monkeypatch.setenv("ZWR_DATABASE_URL", "postgresql+psycopg://nobody:secret@127.0.0.1:1/x")
    monkeypatch.setenv("ZWR_SECRET_KEY", "Zm9vYmFyYmF6cXV4cXV1eGZvb2JhcmJhenF1eHF1dXg=")
    get_settings.cache_clear()
    try:
        for command in (["keys", "list"], ["db", "upgrade"]):
            line = _one_line_error(CliRunner().invoke(cli, command))
            assert "127.0.0.1:1" in line
            assert "secret" not in line  # the password is never printed
    finally:
        get_settings.cache_clear()


def test_an_unknown_revision_is_one_line(database: Path) -> None:
    line = _one_line_error(CliRunner().invoke(cli, ["db", "upgrade", "nosuchrevision"]))
    assert "nosuchrevision" in line
