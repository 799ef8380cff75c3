"""Runs the real service for end-to-end tests: `zoo-registry db upgrade`, then `serve` with
uvicorn on a free port, SQLite in the given folder (also the working directory, so no
developer .env or database is picked up), or the database ZWR_DATABASE_URL in `extra_env`
names (a test's own PostgreSQL database)."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-c", "from app.cli import main; main()"]
SERVER_START_TIMEOUT_S = 30.0
CLI_TIMEOUT_S = 120.0


@dataclass
class ServedApp:
    base_url: str
    log: Path
    pid: int = 0  # the serving process (uvicorn runs in it: one worker process)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tail(path: Path, lines: int = 40) -> str:
    if not path.exists():
        return "(no output)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def service_env(folder: Path, extra_env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment the service and its CLI run with: SQLite in `folder`."""
    return (
        os.environ
        | {
            "ZWR_DATABASE_URL": f"sqlite:///{folder / 'registry.db'}",
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": os.pathsep.join(
                filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])
            ),
        }
        | (extra_env or {})
    )


def cli_run(
    folder: Path, *args: str, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Runs `zoo-registry ARGS` against the database in `folder`, whatever its exit status."""
    return subprocess.run(
        [*CLI, *args],
        cwd=folder,
        env=service_env(folder, extra_env),
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_S,
        check=False,
    )


def run_cli(folder: Path, *args: str, extra_env: dict[str, str] | None = None) -> str:
    """Runs `zoo-registry ARGS` against the database in `folder`; returns what it printed."""
    done = cli_run(folder, *args, extra_env=extra_env)
    assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def admin_token(folder: Path, extra_env: dict[str, str] | None = None) -> str:
    """A new admin key for the database in `folder`, or the one `extra_env` names (the CLI
    prints it last)."""
    created = run_cli(
        folder, "keys", "create", "--name", "e2e admin", "--role", "admin", extra_env=extra_env
    )
    return created.split()[-1]


@contextmanager
def served_app(
    folder: Path, extra_env: dict[str, str] | None = None, serve_args: Sequence[str] = ()
) -> Iterator[ServedApp]:
    """The migrated service, serving until the block ends. `extra_env` may name another
    database (ZWR_DATABASE_URL: PostgreSQL); `serve_args` are added to `serve` (`--no-worker`)."""
    env = service_env(folder, extra_env)
    run_cli(folder, "db", "upgrade", extra_env=extra_env)

    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    log = folder / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*CLI, "serve", "--host", "127.0.0.1", "--port", str(port), *serve_args],
            cwd=folder,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_until_live(base_url, process, log)
            yield ServedApp(base_url=base_url, log=log, pid=process.pid)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def _wait_until_live(base_url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    last_error = "no attempt"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the server exited with {process.returncode}:\n{tail(log)}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1.0).status_code == 200:
                return
            last_error = "healthz did not answer 200"
        except httpx.HTTPError as exc:
            last_error = repr(exc)
        time.sleep(0.2)
    pytest.fail(
        f"the server did not answer /healthz within {SERVER_START_TIMEOUT_S:.0f} s "
        f"({last_error}):\n{tail(log)}"
    )
