"""`zoo-registry events tail` as a process against a real server: it prints the events of
GET /api/v1/events in order (as NDJSON or one human line each), filtered, from the start, a
cursor or the feed's end; a refused request is its problem's detail and exit 1; a server
that does not answer is retried with a line on stderr, and Ctrl-C ends it with exit 0."""

import json
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.test_reports import report_body
from tests.e2e.server import CLI, ServedApp, admin_token, free_port, served_app, service_env

TIMEOUT_S = 60.0


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("events-tail")


@pytest.fixture(scope="module")
def app(folder: Path) -> Iterator[ServedApp]:
    with served_app(folder) as served:
        yield served


@pytest.fixture(scope="module")
def http(app: ServedApp, folder: Path) -> Iterator[httpx.Client]:
    """An admin's client, after a zoo, a species, an animal and two reports are written."""
    headers = {"Authorization": f"Bearer {admin_token(folder)}"}
    with httpx.Client(base_url=app.base_url, headers=headers, timeout=20) as client:
        zoo = post(client, "/api/v1/zoos", slug="pyongyang", name="Zoo", country_code="KP")
        species = post(
            client,
            "/api/v1/species",
            scientific_name="Pan troglodytes",
            common_name="Chimpanzee",
            taxon_class="mammal",
        )
        post(client, "/api/v1/animals", zoo_id=zoo["id"], species_id=species["id"], name="Dallae")
        for _ in range(2):
            post(client, "/api/v1/reports", **report_body(zoo["id"]))
        yield client


def post(client: httpx.Client, path: str, **body: Any) -> dict[str, Any]:
    response = client.post(path, json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def feed(client: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    """The feed from the start as GET /events has it now (it is short here)."""
    response = client.get("/api/v1/events", params={"limit": 1000} | params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    assert len(items) < 1000
    return items


def tail(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "events", "tail", "--poll", "0.1", *args],
        cwd=folder,
        env=service_env(folder),
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )


def tail_ok(folder: Path, *args: str) -> list[str]:
    done = tail(folder, *args)
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    return done.stdout.splitlines()


def test_from_the_start_as_ndjson(app: ServedApp, folder: Path, http: httpx.Client) -> None:
    expected = feed(http)
    types = [e["type"] for e in expected]
    assert types.count("report.filed") == 2 and "animal.registered" in types
    lines = tail_ok(folder, "--url", app.base_url, "--from-start", "--json", "--limit", "5")
    assert [json.loads(line) for line in lines] == expected[:5]


def test_only_the_types_asked_for(app: ServedApp, folder: Path, http: httpx.Client) -> None:
    expected = feed(http, type=["report.filed", "animal.registered"])
    assert [e["type"] for e in expected] == ["animal.registered", "report.filed", "report.filed"]
    args = ["--type", "report.filed", "--type", "animal.registered", "--zoo", "pyongyang"]
    lines = tail_ok(folder, "--url", app.base_url, "--from-start", "--json", "--limit", "3", *args)
    assert [json.loads(line) for line in lines] == expected


def test_after_a_cursor_in_the_human_format(
    app: ServedApp, folder: Path, http: httpx.Client
) -> None:
    first, *rest = feed(http)[:4]
    lines = tail_ok(folder, "--url", app.base_url, "--after", first["id"], "--limit", "3")
    assert lines == [
        f"{e['occurred_at']} {e['id']} {e['type']} zoo={e['zoo_id']} "
        f"{e['subject_type']}/{e['subject_id']}"
        for e in rest
    ]


def test_by_default_only_new_events(app: ServedApp, folder: Path, http: httpx.Client) -> None:
    zoo_id = feed(http)[0]["zoo_id"]
    species_id = http.get("/api/v1/species").json()["items"][0]["id"]
    command = [*CLI, "events", "tail", "--url", app.base_url, "--poll", "0.1", "--json"]
    args = ["--type", "animal.registered", "--limit", "1"]
    with subprocess.Popen(
        [*command, *args],
        cwd=folder,
        env=service_env(folder),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        assert process.stderr is not None
        assert "following" in process.stderr.readline()  # at the feed's end
        animal = post(http, "/api/v1/animals", zoo_id=zoo_id, species_id=species_id, name="New")
        out, err = process.communicate(timeout=TIMEOUT_S)
    assert process.returncode == 0, err
    [event] = [json.loads(line) for line in out.splitlines()]
    assert event["type"] == "animal.registered" and event["subject_id"] == animal["id"]


def test_a_refused_request_is_its_detail(app: ServedApp, folder: Path) -> None:
    done = tail(folder, "--url", app.base_url, "--after", "zz", "--limit", "1")
    assert done.returncode == 1
    assert done.stdout == ""
    assert "error: The request has 1 invalid field." in done.stderr
    assert "query.after" in done.stderr
    assert "Traceback" not in done.stderr


def test_an_unreachable_server_is_retried_until_ctrl_c(folder: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with subprocess.Popen(
        [*CLI, "events", "tail", "--url", url, "--limit", "1"],
        cwd=folder,
        env=service_env(folder),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        assert process.stderr is not None
        deadline = time.monotonic() + TIMEOUT_S
        lines: list[str] = []
        while len(lines) < 2 and time.monotonic() < deadline:  # a first try, and a retry
            lines.append(process.stderr.readline())
        assert all(f"cannot reach {url}" in line and "retrying" in line for line in lines), lines
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=TIMEOUT_S)
    assert process.returncode == 0, err
    assert out == ""
    assert "Traceback" not in err
