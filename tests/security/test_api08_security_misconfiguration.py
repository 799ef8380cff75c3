"""OWASP API8:2023 Security Misconfiguration: hardening headers, no redirect or error a client can
steer, no 500 from input, HTTP semantics as the RFCs define them.

Findings 13 and 14: hardening headers on every response, a script policy for the docs without
'unsafe-inline', /metrics closable with a token, and no redirect built from the Host header
(before the fix the trailing-slash redirect echoed the client's Host into its Location).

Finding 7: a time whose offset puts it outside years 1-9999 in UTC overflowed in the UTC
conversion (a 500). Every datetime a request gives is converted to UTC when validated, and one
that cannot be is a 422.

Finding 17: If-Match uses the strong comparison of RFC 9110: before the fix a weak W/ tag was
accepted for a change.
"""

import re
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr, ValidationError
from sqlmodel import Session

from app.core.config import Settings
from app.main import create_app
from app.models.base import InputSchema, UTCInput, in_utc
from tests.api.test_errors import assert_problem
from tests.api.test_reports import REPORTS, report_body
from tests.dbutil import share_session
from tests.factories import make_zoo


def _assert_hardened(response) -> None:  # type: ignore[no-untyped-def]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def test_every_kind_of_response_is_hardened(anon_client: TestClient) -> None:
    for path in (
        "/api/v1/zoos",
        "/api/v1/nothing-here",
        "/healthz",
        "/openapi.json",
        "/metrics",
        "/docs",
        "/redoc",
    ):
        _assert_hardened(anon_client.get(path))
    _assert_hardened(anon_client.post("/api/v1/zoos", json={}))


def test_the_docs_run_only_scripts_they_name(anon_client: TestClient) -> None:
    for path in ("/docs", "/redoc"):
        response = anon_client.get(path)
        policy = response.headers["Content-Security-Policy"]
        scripts = re.search(r"script-src ([^;]+)", policy).group(1)  # type: ignore[union-attr]
        assert "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts
        nonce = re.search(r"'nonce-([^']+)'", scripts)
        inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", response.text)
        for attributes in inline:  # every inline script carries this response's nonce
            assert nonce is not None and f'nonce="{nonce.group(1)}"' in attributes
    first = anon_client.get("/docs").headers["Content-Security-Policy"]
    assert first != anon_client.get("/docs").headers["Content-Security-Policy"]


def test_metrics_can_be_closed_with_a_token(settings: Settings, session: Session) -> None:
    closed = create_app(settings.model_copy(update={"metrics_token": SecretStr("s3cret")}))
    share_session(closed, session)
    with TestClient(closed) as http:
        assert http.get("/metrics").status_code == 401
        assert http.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 401
        opened = http.get("/metrics", headers={"Authorization": "Bearer s3cret"})
        assert opened.status_code == 200
        assert "zwr_http_requests_total" in opened.text
    closed.state.engine.dispose()
    closed.state.write_engine.dispose()


def test_no_redirect_echoes_the_host_header(anon_client: TestClient) -> None:
    for path in ("/api/v1/zoos/", "/api/v1/zoos/1/concerns/", "/docs/"):
        response = anon_client.get(path, headers={"Host": "evil.example"}, follow_redirects=False)
        assert response.status_code == 404, path
        assert "evil.example" not in response.headers.get("Location", "")
        assert "evil.example" not in response.text


API = "/api/v1"


LATEST = "9999-12-31T23:59:59-14:00"  # 10000-01-01T13:59:59Z


EARLIEST = "0001-01-01T00:00:00+14:00"  # 0000-12-31T10:00:00Z


def test_observed_since_beyond_year_9999_in_utc_is_422(anon_client: TestClient) -> None:
    response = anon_client.get(f"{API}/incidents", params={"observed_since": LATEST})
    assert_problem(response, 422, ["query", "observed_since"])


def test_observed_until_before_year_1_in_utc_is_422(anon_client: TestClient) -> None:
    response = anon_client.get(f"{API}/incidents", params={"observed_until": EARLIEST})
    assert_problem(response, 422, ["query", "observed_until"])


def test_the_extremes_that_fit_in_utc_are_answered(anon_client: TestClient) -> None:
    params = {"observed_since": "0001-01-01T00:00:00Z", "observed_until": "9999-12-31T23:59:59Z"}
    assert anon_client.get(f"{API}/incidents", params=params).status_code == 200


def test_report_observed_before_year_1_in_utc_is_422(client: TestClient, session: Session) -> None:
    zoo = make_zoo(session)
    response = client.post(REPORTS, json=report_body(zoo.id, observed_at=EARLIEST))
    body = assert_problem(response, 422, ["body", "observed_at"])
    assert "UTC" in body["errors"][0]["message"]


def test_report_observed_at_is_stored_in_utc(client: TestClient, session: Session) -> None:
    zoo = make_zoo(session)
    response = client.post(
        REPORTS, json=report_body(zoo.id, observed_at="0001-01-01T10:00:00+09:00")
    )
    assert response.status_code == 201, response.text
    assert response.json()["observed_at"].startswith("0001-01-01T01:00:00")


class _Window(InputSchema):
    starts_at: datetime
    ends_at: UTCInput | None = None


@pytest.mark.parametrize("field", ["starts_at", "ends_at"])
def test_every_body_datetime_is_refused_when_not_representable_in_utc(field: str) -> None:
    body = {"starts_at": "2020-01-01T00:00:00Z", field: LATEST}
    with pytest.raises(ValidationError) as caught:
        _Window.model_validate(body)
    assert [e["loc"] for e in caught.value.errors()] == [(field,)]


def test_body_datetimes_come_out_in_utc() -> None:
    window = _Window.model_validate({"starts_at": "2020-01-01T09:00:00+09:00"})
    assert window.starts_at == datetime(2020, 1, 1, tzinfo=UTC)
    assert window.starts_at.utcoffset().total_seconds() == 0  # type: ignore[union-attr]


def test_in_utc() -> None:
    assert in_utc(None) is None
    naive = datetime(2020, 1, 1)
    assert in_utc(naive) is naive
    with pytest.raises(ValueError, match="UTC"):
        in_utc(datetime.fromisoformat(EARLIEST))


def test_dates_have_no_zone_and_the_extremes_are_answered(anon_client: TestClient) -> None:
    params = {"delivered_from": "0001-01-01", "delivered_until": "9999-12-31"}
    assert anon_client.get(f"{API}/gifts", params=params).status_code == 200


def _incident(client: TestClient, session: Session) -> tuple[int, str]:
    zoo = make_zoo(session)
    report = {
        "zoo_id": zoo.id,
        "category": "health",
        "severity": 2,
        "title": "Limping",
        "observed_at": "2024-01-02T03:04:05Z",
    }
    incident_id = client.post("/api/v1/reports", json=report).json()["incident_id"]
    etag = client.get(f"/api/v1/incidents/{incident_id}").headers["ETag"]
    return incident_id, etag


def test_if_match_is_compared_strongly(client: TestClient, session: Session) -> None:
    incident_id, etag = _incident(client, session)
    assert not etag.startswith("W/")
    url = f"/api/v1/incidents/{incident_id}"
    weak = client.patch(url, json={"severity": 3}, headers={"If-Match": f"W/{etag}"})
    assert weak.status_code == 412
    strong = client.patch(url, json={"severity": 3}, headers={"If-Match": f'"x", {etag}'})
    assert strong.status_code == 200
    stale = client.patch(url, json={"severity": 4}, headers={"If-Match": etag})
    assert stale.status_code == 412
    anything = client.patch(url, json={"severity": 4}, headers={"If-Match": "*"})
    assert anything.status_code == 200
