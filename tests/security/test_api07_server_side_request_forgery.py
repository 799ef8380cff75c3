"""OWASP API7:2023 Server Side Request Forgery.

Links that reporters send (source_url, evidence_urls) are stored and shown, never fetched:
a real HTTP receiver on this machine, named in a report's links, sees no request while the
report is filed, read, listed, and its zoo's concern list is evaluated and exported. Only
http and https links are accepted.
"""

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.factories import make_animal, make_species, make_zoo


class _Receiver(BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        _Receiver.hits.append(self.path)
        self.send_response(200)
        self.end_headers()

    do_HEAD = do_POST = do_GET

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    _Receiver.hits = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_links_in_reports_are_never_fetched(
    client: TestClient, session: Session, receiver: str
) -> None:
    # The receiver answers when asked: the test would see a fetch.
    assert httpx.get(f"{receiver}/probe").status_code == 200
    _Receiver.hits.clear()
    zoo = make_zoo(session)
    animal = make_animal(session, zoo=zoo, species=make_species(session))
    report = {
        "zoo_id": zoo.id,
        "animal_id": animal.id,
        "category": "health",
        "severity": 5,
        "title": "Wound left untreated",
        "observed_at": "2024-01-02T03:04:05Z",
        "source_url": f"{receiver}/source",
        "evidence_urls": [f"{receiver}/photo-1", "http://169.254.169.254/latest/meta-data/"],
    }
    created = client.post("/api/v1/reports", json=report)
    assert created.status_code == 201, created.text
    report_id, incident_id = created.json()["id"], created.json()["incident_id"]
    for path in (
        f"/api/v1/reports/{report_id}",
        f"/api/v1/incidents/{incident_id}/reports",
        f"/api/v1/zoos/{zoo.id}/concerns",
        f"/api/v1/zoos/{zoo.id}/concerns?format=csv",
        f"/api/v1/animals/{animal.id}/concerns",
        "/api/v1/concerns",
    ):
        assert client.get(path).status_code == 200, path
    assert client.get(f"/api/v1/reports/{report_id}").json()["source_url"] == f"{receiver}/source"
    assert _Receiver.hits == []


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "gopher://127.0.0.1:6379/_FLUSHALL",
        "javascript:alert(1)",
        "ftp://example.org/x",
        "//example.org/x",
    ],
)
def test_only_http_and_https_links_are_accepted(
    client: TestClient, session: Session, url: str
) -> None:
    zoo = make_zoo(session)
    report = {
        "zoo_id": zoo.id,
        "category": "health",
        "severity": 2,
        "title": "Seen",
        "observed_at": "2024-01-02T03:04:05Z",
        "evidence_urls": [url],
    }
    assert client.post("/api/v1/reports", json=report).status_code == 422
    report.pop("evidence_urls")
    report["source_url"] = url
    assert client.post("/api/v1/reports", json=report).status_code == 422
