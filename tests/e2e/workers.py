"""Real `zoo-registry worker` processes on a test's own migrated PostgreSQL database: the
fixtures `database` and `start_worker` (import them into the test module), and `wait_for`."""

import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pytest
from sqlalchemy import Engine, create_engine

from app.core import migrations
from tests.dbutil import create_database, drop_database
from tests.e2e.server import service_env, tail

WORKER = [str(Path(sys.executable).with_name("zoo-registry")), "worker"]
DEADLINE_S = 60.0


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    stderr: Path

    def output(self) -> str:
        return self.stderr.read_text(errors="replace") if self.stderr.exists() else ""


class StartWorker(Protocol):
    def __call__(self, interval: float = 0.2, env: dict[str, str] | None = None) -> Worker: ...


@pytest.fixture
def database() -> Iterator[tuple[str, Engine]]:
    url = create_database("workers")
    engine = create_engine(url)
    try:
        migrations.upgrade(url)
        yield url, engine
    finally:
        engine.dispose()
        drop_database(url)  # forcibly, whichever worker connection is left


@pytest.fixture
def start_worker(database: tuple[str, Engine], tmp_path: Path) -> Iterator[StartWorker]:
    """Starts `zoo-registry worker` processes on the test's database (waiting `interval`
    seconds after a pass with nothing to do, with `env` added); all killed afterwards."""
    workers: list[Worker] = []

    def start(interval: float = 0.2, env: dict[str, str] | None = None) -> Worker:
        extra = {"ZWR_DATABASE_URL": database[0], "ZWR_WORKER_INTERVAL_S": str(interval)}
        stderr = tmp_path / f"worker-{len(workers)}.stderr"
        with stderr.open("wb") as err:
            process = subprocess.Popen(
                WORKER,
                cwd=tmp_path,
                env=service_env(tmp_path, extra | (env or {})),
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
        workers.append(Worker(process, stderr))
        return workers[-1]

    try:
        yield start
    finally:
        for worker in workers:
            if worker.process.poll() is None:
                worker.process.kill()
            worker.process.wait(timeout=10)


def wait_for(
    condition: Callable[[], object],
    what: str,
    workers: Sequence[Worker],
    deadline_s: float = DEADLINE_S,
) -> None:
    """Until `condition()`, failing (with the workers' logs) if one exits or time runs out."""
    deadline = time.monotonic() + deadline_s
    while not condition():
        for worker in workers:
            if worker.process.poll() is not None:
                pytest.fail(f"a worker exited with {worker.process.returncode}:\n{worker.output()}")
        if time.monotonic() > deadline:
            logs = "\n".join(tail(w.stderr) for w in workers)
            pytest.fail(f"not within {deadline_s:.0f} s: {what}\n{logs}")
        time.sleep(0.05)
