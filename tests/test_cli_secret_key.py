"""A wrong secret key is refused before anything starts: `serve`, `worker` and every command
that opens the database try one stored value of each encrypted column, and stop with one
line (exit 2) when no key decrypts it, instead of serving 500s for every read of a report.
In processes of their own: a process keeps decrypting with the keys it was given before."""

from pathlib import Path

from app.core import crypto
from tests.e2e.server import cli_run, run_cli


def refused(folder: Path, key: str, *args: str) -> str:
    done = cli_run(folder, *args, extra_env={"ZWR_SECRET_KEY": key})
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    return lines[0]


def test_a_key_that_does_not_decrypt_the_stored_fields_is_refused(tmp_path: Path) -> None:
    written, other = crypto.generate_key(), crypto.generate_key()
    env = {"ZWR_SECRET_KEY": written}
    run_cli(tmp_path, "db", "upgrade", extra_env=env)
    run_cli(tmp_path, "seed", extra_env=env)  # a seeded report has an encrypted reporter name
    for command in (["serve", "--port", "1"], ["worker"], ["keys", "list"]):
        line = refused(tmp_path, other, *command)
        assert "welfare_report.reporter_name" in line and "ZWR_SECRET_KEY" in line
        assert written not in line and other not in line
    # Mid-rotation (the new key first, the one they were written with after it): accepted.
    run_cli(tmp_path, "keys", "list", extra_env={"ZWR_SECRET_KEY": f"{other},{written}"})
    run_cli(tmp_path, "keys", "list", extra_env=env)


def test_an_empty_registry_takes_any_key(tmp_path: Path) -> None:
    run_cli(tmp_path, "db", "upgrade", extra_env={"ZWR_SECRET_KEY": crypto.generate_key()})
    run_cli(tmp_path, "keys", "list", extra_env={"ZWR_SECRET_KEY": crypto.generate_key()})
