"""The API docs in a real browser, offline.

Starts the real server (the `zoo-registry` CLI: `db upgrade`, then `serve` with uvicorn on a
free port, SQLite in a temporary folder), opens /docs (Swagger UI) and /redoc (ReDoc) in
headless Chromium with the network restricted to localhost, and checks that the operations
are rendered and that no request left localhost: the docs assets must come from the package
(FastAPIOffline, under /static-offline-docs), never from a CDN.

Needs Debian's Chromium at /usr/bin/chromium (`apt-get install chromium`) and the Python
`playwright` package (the dev extra); `playwright install` is never needed. Without them the
tests are skipped, except when the CI environment variable is set: then they fail.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn
from urllib.parse import urlsplit

import httpx
import pytest

from app.core import migrations
from tests.e2e.server import ServedApp
from tests.e2e.server import served_app as serve

try:
    from playwright.sync_api import expect, sync_playwright

    PLAYWRIGHT_IMPORT_ERROR: str | None = None
except ImportError as exc:  # pragma: no cover - depends on the machine
    PLAYWRIGHT_IMPORT_ERROR = str(exc)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Request, Route

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Belt and braces: even a request the page routing below could not see resolves no host
    # but the local one.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
]
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
# URL schemes that never touch the network.
OFFLINE_SCHEMES = frozenset({"data", "blob", "about"})

BROWSER_LAUNCH_TIMEOUT_MS = 30_000
ACTION_TIMEOUT_MS = 20_000
RENDER_TIMEOUT_MS = 30_000
IDLE_TIMEOUT_MS = 15_000

# The console script `zoo-registry` is app.cli:main; run it with this interpreter.


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in {"", "0", "false", "no"}


def _unavailable(reason: str) -> NoReturn:
    """Skips on a developer's machine; fails in CI, where the browser test must run."""
    if _in_ci():
        pytest.fail(f"{reason}; CI is set, so the docs browser test must run, not skip")
    pytest.skip(reason)


def _is_local(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in OFFLINE_SCHEMES:
        return True
    return parts.hostname in LOCAL_HOSTS


@dataclass
class NetworkLog:
    """Every request the browser made, and those that were not for localhost."""

    requests: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)
    local_failures: list[str] = field(default_factory=list)

    def note(self, url: str) -> None:
        self.requests.append(url)
        if not _is_local(url) and url not in self.outside:
            self.outside.append(url)


# --- fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def _browser_available() -> None:
    """Checked first, so a machine without a browser does not even start the server."""
    if PLAYWRIGHT_IMPORT_ERROR is not None:
        _unavailable(
            f"the playwright package is not installed ({PLAYWRIGHT_IMPORT_ERROR}); "
            "install the dev extra: pip install -e '.[dev]'"
        )
    if not CHROMIUM.exists():
        _unavailable(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            headless=True,
            timeout=BROWSER_LAUNCH_TIMEOUT_MS,
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def served_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedApp]:
    """The real server: `zoo-registry db upgrade` then `zoo-registry serve`, SQLite in a tmp dir."""
    with serve(tmp_path_factory.mktemp("docs-server")) as app:
        yield app


@pytest.fixture
def offline_page(browser: Browser) -> Iterator[tuple[Page, NetworkLog]]:
    """A fresh page whose requests are recorded; any request not for localhost is aborted."""
    network = NetworkLog()
    context = browser.new_context(service_workers="block")
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    context.set_default_navigation_timeout(RENDER_TIMEOUT_MS)

    def guard(route: Route) -> None:
        url = route.request.url
        if _is_local(url):
            route.continue_()
        else:
            network.note(url)
            route.abort("blockedbyclient")

    def on_request(request: Request) -> None:
        network.note(request.url)

    def on_failed(request: Request) -> None:
        if _is_local(request.url):
            network.local_failures.append(f"{request.url}: {request.failure}")

    context.route("**/*", guard)
    context.on("request", on_request)
    context.on("requestfailed", on_failed)
    try:
        yield context.new_page(), network
    finally:
        context.close()


def _settle(page: Page) -> None:
    """Lets late requests (fonts, images, lazy chunks) start before the network is checked."""
    page.wait_for_load_state("networkidle", timeout=IDLE_TIMEOUT_MS)


def _assert_stayed_local(network: NetworkLog) -> None:
    assert network.requests, "the browser made no request at all"
    assert network.outside == [], (
        "the docs page made requests that left localhost (the docs must work offline): "
        f"{network.outside}"
    )
    assert network.local_failures == [], f"local requests failed: {network.local_failures}"


# --- tests ----------------------------------------------------------------------------------


def test_served_app_is_migrated_and_ready(served_app: ServedApp) -> None:
    response = httpx.get(f"{served_app.base_url}/readyz", timeout=5.0)
    assert response.status_code == 200, response.text
    assert response.json()["schema_revision"] == migrations.head_revision()


def test_swagger_ui_renders_the_operations_offline(
    served_app: ServedApp, offline_page: tuple[Page, NetworkLog]
) -> None:
    page, network = offline_page
    response = page.goto(f"{served_app.base_url}/docs", wait_until="load")
    assert response is not None and response.status == 200

    submit_report = page.locator(".opblock.opblock-post").filter(
        has=page.locator(".opblock-summary-path", has_text=re.compile(r"^\s*/api/v1/reports\s*$"))
    )
    expect(submit_report).to_have_count(1, timeout=RENDER_TIMEOUT_MS)
    expect(submit_report).to_be_visible()
    method = submit_report.locator(".opblock-summary-method")
    path = submit_report.locator(".opblock-summary-path")
    expect(method).to_have_text("POST")
    # Swagger UI breaks paths with <wbr> (or zero-width spaces); compare without them.
    rendered = f"{method.inner_text().strip()} {path.inner_text().strip()}".replace("\u200b", "")
    assert rendered == "POST /api/v1/reports"

    expect(page.get_by_role("button", name="Authorize")).to_be_visible()

    _settle(page)
    assert any("/static-offline-docs/swagger-ui-bundle.js" in url for url in network.requests)
    _assert_stayed_local(network)


def test_redoc_renders_the_operations_offline(
    served_app: ServedApp, offline_page: tuple[Page, NetworkLog]
) -> None:
    page, network = offline_page
    response = page.goto(f"{served_app.base_url}/redoc", wait_until="load")
    assert response is not None and response.status == 200

    heading = page.locator("h2", has_text="Submit a welfare report")
    expect(heading.first).to_be_visible(timeout=RENDER_TIMEOUT_MS)
    text = page.locator("body").inner_text(timeout=ACTION_TIMEOUT_MS)
    assert "Submit a welfare report" in text
    assert "/api/v1/reports" in text
    # ReDoc shows the verb next to the path in the operation's right-hand panel.
    assert re.search(r"\bPOST\s+/api/v1/reports\b", text, flags=re.IGNORECASE), (
        "POST /api/v1/reports is not rendered"
    )

    _settle(page)
    assert any(url.endswith("/redoc.standalone.js") for url in network.requests)
    _assert_stayed_local(network)
