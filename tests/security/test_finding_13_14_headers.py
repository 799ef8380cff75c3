"""Hardening headers on every response, a script policy for the docs without 'unsafe-inline',
/metrics closable with a token, and no redirect built from the Host header (before the fix the
trailing-slash redirect echoed the client's Host into its Location)."""

import re

from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlmodel import Session

from app.core.config import Settings
from app.main import create_app
from tests.dbutil import share_session


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
