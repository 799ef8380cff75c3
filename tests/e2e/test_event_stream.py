"""GET /events/stream against a real server: events arrive live, a reconnect with
Last-Event-ID resumes after the last one received, and streams per client are bounded."""

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from tests.api.test_reports import report_body
from tests.e2e.server import admin_token, served_app

STREAM = "/api/v1/events/stream"


def events(response: httpx.Response) -> Iterator[dict[str, Any]]:
    """The stream's events, parsed as an EventSource would (comments skipped)."""
    fields: dict[str, str] = {}
    for line in response.iter_lines():
        if not line:
            if "data" in fields:
                yield {"id": fields.get("id"), "event": fields.get("event")} | {
                    "data": json.loads(fields["data"])
                }
            fields = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")


def take(http: httpx.Client, count: int, headers: dict[str, str] | None = None) -> list[dict]:
    with http.stream("GET", STREAM, headers=headers, timeout=20) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        got = []
        for event in events(response):
            got.append(event)
            if len(got) == count:
                return got
    raise AssertionError(f"the stream ended after {len(got)} events")


def test_live_events_and_resume_with_last_event_id(tmp_path: Path) -> None:
    with served_app(tmp_path, {"ZWR_EVENT_STREAM_POLL_S": "0.1"}) as app:
        token = admin_token(tmp_path)
        with httpx.Client(
            base_url=app.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=20
        ) as http:
            zoo = http.post(
                "/api/v1/zoos", json={"slug": "pyongyang", "name": "Zoo", "country_code": "KP"}
            ).json()

            def file_report() -> None:
                assert http.post("/api/v1/reports", json=report_body(zoo["id"])).status_code == 201

            # The report is filed while the stream is open and idle: it arrives live.
            timer = threading.Timer(1.0, file_report)
            timer.start()
            first = take(http, 2)
            timer.join()
            assert [e["event"] for e in first] == ["incident.opened", "report.filed"]
            assert first[1]["data"]["type"] == "report.filed"
            assert first[1]["data"]["id"] == first[1]["id"]

            file_report()
            resumed = take(http, 2, headers={"Last-Event-ID": first[-1]["id"]})
            assert [e["event"] for e in resumed] == ["incident.opened", "report.filed"]
            assert resumed[0]["id"] > first[-1]["id"]
            assert resumed[0]["data"]["subject_id"] != first[0]["data"]["subject_id"]


def test_one_client_holds_a_bounded_number_of_streams(tmp_path: Path) -> None:
    with (
        served_app(tmp_path, {"ZWR_EVENT_STREAMS_PER_CLIENT": "1"}) as app,
        httpx.Client(base_url=app.base_url, timeout=20) as http,
    ):
        with http.stream("GET", STREAM) as held:
            assert held.status_code == 200
            refused = http.get(STREAM)
            assert refused.status_code == 429
            assert refused.headers["content-type"] == "application/problem+json"
        # Closed: the address may open one again, once the server has seen it go (its next
        # look at the connection, well within a few seconds).
        deadline = time.monotonic() + 10
        while True:
            with http.stream("GET", STREAM) as again:
                if again.status_code == 200 or time.monotonic() > deadline:
                    assert again.status_code == 200
                    break
            time.sleep(0.2)
