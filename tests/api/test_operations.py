"""Operations: liveness, readiness, Prometheus metrics, request ids and the access log."""

import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import Session

from app.core import migrations
from app.core.config import Settings
from app.main import create_app
from tests.dbutil import backend, create_database, drop_database
from tests.factories import make_zoo

API = "/api/v1"
GENERATED_ID = re.compile(r"^[0-9a-f]{32}$")
REQUEST_ID = "X-Request-ID"


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    return body


# --- liveness and readiness -----------------------------------------------------------------


def test_healthz_is_ok(anon_client: TestClient) -> None:
    response = anon_client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_is_ready_at_the_head_revision(anon_client: TestClient) -> None:
    response = anon_client.get("/readyz")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ready"
    assert body["schema_revision"] == migrations.head_revision()
    assert body["database"] == backend()


@pytest.fixture
def readyz_database() -> Iterator[str]:
    url = create_database("readyz")
    try:
        yield url
    finally:
        drop_database(url)


def _readyz(database_url: str) -> Any:
    app = create_app(Settings(database_url=database_url))
    try:
        with TestClient(app) as client:
            return client.get("/readyz")
    finally:
        app.state.engine.dispose()
        app.state.write_engine.dispose()


@pytest.mark.parametrize("revision", ["0002", None], ids=["behind", "no-revision"])
def test_readyz_is_503_when_the_schema_is_not_at_head(
    readyz_database: str, revision: str | None
) -> None:
    if revision is not None:
        migrations.upgrade(readyz_database, revision)
    head = migrations.head_revision()
    assert revision != head

    response = _readyz(readyz_database)

    body = assert_problem(response, 503)
    assert body["type"] == "urn:zwr:problem:not-ready"
    assert body["instance"] == "/readyz"
    assert (revision or "no revision") in body["detail"]
    assert head in body["detail"]
    assert int(response.headers["Retry-After"]) > 0


def test_readyz_is_503_when_the_database_does_not_answer(tmp_path: Any) -> None:
    # A SQLite file in a folder that does not exist cannot be opened.
    response = _readyz(f"sqlite:///{tmp_path / 'missing' / 'registry.db'}")

    body = assert_problem(response, 503)
    assert body["type"] == "urn:zwr:problem:not-ready"
    assert int(response.headers["Retry-After"]) > 0


# --- metrics --------------------------------------------------------------------------------


def _samples(client: TestClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def _value(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_metrics_count_requests_by_route_template_and_status(anon_client: TestClient) -> None:
    labels = {"method": "GET", "route": f"{API}/zoos", "status": "200"}
    before = _samples(anon_client)
    assert anon_client.get(f"{API}/zoos").status_code == 200
    after = _samples(anon_client)

    assert _value(after, "zwr_http_requests_total", **labels) >= 1
    assert (
        _value(after, "zwr_http_requests_total", **labels)
        - _value(before, "zwr_http_requests_total", **labels)
        == 1
    )


def test_metrics_have_a_latency_histogram(anon_client: TestClient) -> None:
    labels = {"method": "GET", "route": f"{API}/zoos"}
    before = _samples(anon_client)
    assert anon_client.get(f"{API}/zoos").status_code == 200
    after = _samples(anon_client)

    name = "zwr_http_request_duration_seconds"
    assert _value(after, f"{name}_count", **labels) - _value(before, f"{name}_count", **labels) == 1
    assert _value(after, f"{name}_bucket", **labels, le="+Inf") >= 1
    assert _value(after, f"{name}_sum", **labels) > 0
    # A finite bucket (10 s, the largest) counted the request too.
    assert _value(after, f"{name}_bucket", **labels, le="10.0") >= 1


def test_metrics_label_the_route_template_not_the_raw_path(anon_client: TestClient) -> None:
    assert anon_client.get(f"{API}/zoos/no-such-zoo-here").status_code == 404
    assert anon_client.get("/no/such/path").status_code == 404
    samples = _samples(anon_client)

    template = {"method": "GET", "route": f"{API}/zoos/{{zoo}}", "status": "404"}
    assert _value(samples, "zwr_http_requests_total", **template) >= 1
    unmatched = {"method": "GET", "route": "unmatched", "status": "404"}
    assert _value(samples, "zwr_http_requests_total", **unmatched) >= 1
    routes = {dict(labels).get("route") for _, labels in samples}
    assert not any(route and "no-such" in route for route in routes), routes


# --- request ids ----------------------------------------------------------------------------


def test_a_request_id_is_generated(anon_client: TestClient) -> None:
    first = anon_client.get("/healthz").headers.get(REQUEST_ID)
    second = anon_client.get("/healthz").headers.get(REQUEST_ID)
    assert first is not None and GENERATED_ID.match(first), first
    assert second is not None and GENERATED_ID.match(second), second
    assert first != second


@pytest.mark.parametrize("incoming", ["abc-123", "client.trace:42_x", "a" * 128])
def test_a_valid_incoming_request_id_is_echoed(anon_client: TestClient, incoming: str) -> None:
    response = anon_client.get(f"{API}/zoos", headers={REQUEST_ID: incoming})
    assert response.status_code == 200
    assert response.headers[REQUEST_ID] == incoming


@pytest.mark.parametrize(
    "incoming",
    ["a" * 129, "has spaces in it", "semi;colon", ""],
    ids=["long", "spaces", "semi", "empty"],
)
def test_an_invalid_incoming_request_id_is_replaced(anon_client: TestClient, incoming: str) -> None:
    response = anon_client.get("/healthz", headers={REQUEST_ID: incoming})
    assert response.status_code == 200
    assert GENERATED_ID.match(response.headers[REQUEST_ID]), response.headers[REQUEST_ID]


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", f"{API}/zoos/no-such-zoo-here", 404),
        ("GET", "/no/such/path", 404),
        ("POST", f"{API}/zoos", 401),
        ("GET", f"{API}/zoos?limit=100000", 422),
    ],
    ids=["not-found", "unmatched", "unauthorized", "invalid"],
)
def test_error_responses_carry_the_request_id(
    anon_client: TestClient, method: str, path: str, status: int
) -> None:
    generated = anon_client.request(method, path, json={} if method == "POST" else None)
    assert_problem(generated, status)
    assert GENERATED_ID.match(generated.headers.get(REQUEST_ID, "")), generated.headers

    echoed = anon_client.request(
        method, path, json={} if method == "POST" else None, headers={REQUEST_ID: "trace-1"}
    )
    assert_problem(echoed, status)
    assert echoed.headers.get(REQUEST_ID) == "trace-1"


def test_an_unexpected_error_500_carries_the_request_id(settings: Settings) -> None:
    def boom() -> None:
        raise RuntimeError("unexpected")

    app = create_app(settings)
    app.add_api_route("/boom", boom, methods=["GET"])
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            response = client.get("/boom", headers={REQUEST_ID: "trace-500"})
    finally:
        app.state.engine.dispose()
        app.state.write_engine.dispose()
    assert_problem(response, 500)
    assert response.headers.get(REQUEST_ID) == "trace-500", (
        f"the 500 response has no {REQUEST_ID} header: {dict(response.headers)}"
    )


# --- access log -----------------------------------------------------------------------------


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def access_log(app: FastAPI) -> Iterator[list[logging.LogRecord]]:
    """The zwr.access records (the logger does not propagate, so caplog cannot see them)."""
    logger = logging.getLogger("zwr.access")
    handler = _Records()
    logger.addHandler(handler)
    try:
        yield handler.records
    finally:
        logger.removeHandler(handler)


def test_one_json_access_line_per_request(
    anon_client: TestClient, session: Session, access_log: list[logging.LogRecord]
) -> None:
    zoo = make_zoo(session)
    found = anon_client.get(f"{API}/zoos/{zoo.slug}", headers={REQUEST_ID: "trace-found"})
    missing = anon_client.get(f"{API}/zoos/no-such-zoo-here")
    assert found.status_code == 200
    assert missing.status_code == 404

    assert len(access_log) == 2, [r.getMessage() for r in access_log]
    lines = [record.getMessage() for record in access_log]
    assert all("\n" not in line for line in lines)
    entries = [json.loads(line) for line in lines]
    for entry, response, status in [(entries[0], found, 200), (entries[1], missing, 404)]:
        assert set(entry) >= {"method", "route", "status", "duration_ms", "request_id"}, entry
        assert entry["method"] == "GET"
        assert entry["route"] == f"{API}/zoos/{{zoo}}"
        assert entry["status"] == status
        assert isinstance(entry["duration_ms"], int | float) and entry["duration_ms"] >= 0
        assert entry["request_id"] == response.headers[REQUEST_ID]
    assert entries[0]["request_id"] == "trace-found"
    assert zoo.slug not in lines[0], "the raw path, not the template, was logged"
    assert all(record.levelno == logging.INFO for record in access_log)
