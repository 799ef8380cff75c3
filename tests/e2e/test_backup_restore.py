"""The PostgreSQL backup procedure of docs/operations.md ("Backups"), run for real: a migrated
and seeded registry with a report filed through the API (so encrypted reporter fields exist)
is dumped with `pg_dump -Fc` while it serves, restored with `pg_restore` into a new, empty
database, and the original dropped. Served by a real server with the same ZWR_SECRET_KEY, the
copy answers exactly as the original did (zoos, concern lists with their ETags, the change
feed, the report's private reporter fields to an admin, whose key was restored with it);
`zoo-registry db upgrade` on it changes nothing. With another key, `serve` refuses to start
(the key does not decrypt the stored reporter fields).

PostgreSQL only; the databases are the test's own (tests/dbutil.py), dropped afterwards.
"""

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from app.core import crypto, migrations
from tests.dbutil import create_database, drop_database
from tests.e2e.server import admin_token, cli_run, run_cli, served_app

pytestmark = pytest.mark.postgres_only

TOOL_TIMEOUT_S = 120.0
REPORTER = {"reporter_name": "Kim, a keeper", "reporter_contact": "kim@example.org"}


def libpq(url: str) -> str:
    """The database's URL as pg_dump and pg_restore take it (no SQLAlchemy driver name)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def run(*command: str | Path) -> str:
    done = subprocess.run(
        [str(part) for part in command],
        capture_output=True,
        text=True,
        timeout=TOOL_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, f"{command[0]} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def plain_dump(url: str) -> list[str]:
    """Every table's schema and rows, as SQL. Without the \\restrict lines, whose key pg_dump
    makes new for each dump."""
    dump = run("pg_dump", "--no-owner", "-d", libpq(url))
    return [
        line for line in dump.splitlines() if not line.startswith(("\\restrict", "\\unrestrict"))
    ]


def revision(url: str) -> str | None:
    engine = create_engine(url)
    try:
        return migrations.current_revision(engine)
    finally:
        engine.dispose()


@pytest.fixture
def databases() -> Iterator[Callable[[str], str]]:
    """Makes empty databases (the label in their name); drops every one afterwards."""
    made: list[str] = []

    def make(label: str) -> str:
        made.append(create_database(label))
        return made[-1]

    try:
        yield make
    finally:
        for url in made:
            drop_database(url)  # IF EXISTS: one may be dropped already


def read_feed(http: httpx.Client) -> list[dict[str, Any]]:
    """The whole change feed, following `next` until a short page."""
    events: list[dict[str, Any]] = []
    after: dict[str, str] = {}
    while True:
        page = http.get("/api/v1/events", params={"limit": 50} | after)
        assert page.status_code == 200, page.text
        events += page.json()["items"]
        if len(page.json()["items"]) < 50:
            return events
        after = {"after": page.json()["next"]}


def public_answers(http: httpx.Client) -> dict[str, Any]:
    """The zoo list, each zoo's concern list and its ETag, and the change feed (read last: a
    concern list read brings a stale zoo up to date, which adds concern events)."""
    zoos = http.get("/api/v1/zoos")
    assert zoos.status_code == 200, zoos.text
    concerns = {}
    for zoo in zoos.json()["items"]:
        answer = http.get(f"/api/v1/zoos/{zoo['slug']}/concerns")
        assert answer.status_code == 200, answer.text
        concerns[zoo["slug"]] = (answer.headers["ETag"], answer.json())
    return {"zoos": zoos.json(), "concerns": concerns, "events": read_feed(http)}


def test_a_pg_dump_restores_into_a_registry_that_answers_the_same(
    tmp_path: Path, databases: Callable[[str], str]
) -> None:
    key = crypto.generate_key()
    source = databases("backup_source")
    env = {"ZWR_DATABASE_URL": source, "ZWR_SECRET_KEY": key}
    folders = {name: tmp_path / name for name in ("source", "restored", "other-key")}
    for folder in folders.values():
        folder.mkdir()
    dump = tmp_path / "zwr.dump"

    # The original: migrated by served_app (`zoo-registry db upgrade`), seeded, and a report
    # filed through the API. Served without background work, so only the reads below write
    # (bringing the zoos' concern flags up to date) and nothing changes after them.
    with served_app(folders["source"], env, serve_args=["--no-worker"]) as app:
        run_cli(folders["source"], "seed", extra_env=env)
        token = admin_token(folders["source"], env)
        admin = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=app.base_url, headers=admin, timeout=20) as http:
            filed = http.post(
                "/api/v1/reports",
                json={
                    "zoo_id": 1,
                    "category": "health",
                    "severity": 4,
                    "title": "Elephant limping, no vet seen",
                    "observed_at": "2025-11-20T10:00:00Z",
                }
                | REPORTER,
            )
            assert filed.status_code == 201, filed.text
            report_path = f"/api/v1/reports/{filed.json()['id']}"
            report = http.get(report_path).json()
            assert {k: report[k] for k in REPORTER} == REPORTER
            before = public_answers(http)
            # The backup, taken while the server runs.
            run("pg_dump", "-Fc", "-d", libpq(source), "-f", dump)
    assert sum(e["type"] == "report.filed" for e in before["events"]) >= 2  # seed's and ours

    restored = databases("backup_restored")
    run("pg_restore", "--no-owner", "--exit-on-error", "-d", libpq(restored), dump)
    drop_database(source)  # the copy stands on its own
    env |= {"ZWR_DATABASE_URL": restored}

    # `db upgrade` on the restored database: already at the latest revision, nothing changes.
    assert revision(restored) == migrations.head_revision()
    as_restored = plain_dump(restored)
    run_cli(folders["restored"], "db", "upgrade", extra_env=env)
    assert revision(restored) == migrations.head_revision()
    assert plain_dump(restored) == as_restored

    with (
        served_app(folders["restored"], env) as app,
        httpx.Client(base_url=app.base_url, headers=admin, timeout=20) as http,
    ):
        assert public_answers(http) == before
        # The ETags carry over: a client's cached list is still current.
        for slug, (etag, _) in before["concerns"].items():
            cached = http.get(f"/api/v1/zoos/{slug}/concerns", headers={"If-None-Match": etag})
            assert cached.status_code == 304
        # The admin key was restored with the rest; the private fields decrypt with the key.
        assert http.get(report_path).json() == report
        # And the copy takes writes: the feed goes on after the restored events.
        more = http.post(
            "/api/v1/reports",
            json={k: filed.json()[k] for k in ("zoo_id", "category", "severity", "title")}
            | {"observed_at": "2025-11-21T10:00:00Z"},
        )
        assert more.status_code == 201, more.text
        assert more.json()["id"] > report["id"]
        after = read_feed(http)
        assert after[: len(before["events"])] == before["events"]
        assert after[len(before["events"])]["id"] > before["events"][-1]["id"]

    # Another key: refused before anything starts (one line, exit 2), never a server that
    # answers 500 for every read of a report; the key itself is never printed.
    other_key = crypto.generate_key()
    refused = cli_run(
        folders["other-key"], "serve", "--port", "1", extra_env=env | {"ZWR_SECRET_KEY": other_key}
    )
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "does not decrypt the stored private fields" in refused.stderr
    assert other_key not in refused.stderr and key not in refused.stderr
