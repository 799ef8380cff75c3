"""The pages for people in a real browser, offline.

Starts the real server (`zoo-registry db upgrade`, `seed`, `serve` on a free port, SQLite in a
temporary folder) and opens every page in headless Chromium (Debian's, as the docs browser
test does) with the network restricted to localhost: axe-core finds no serious or critical
violation, nothing is requested from another origin, each page with its stylesheet weighs
under 150 KB, a 375 px wide window needs no horizontal scrolling, and print hides the
navigation. The zoo page shows Dallae first with the reason; the report form, submitted with
JavaScript switched off, ends pending in the moderation queue. A screenshot of each page is
written to the folder ZWR_PAGE_SCREENSHOTS names (else the test's temporary folder), for
people to look at; nothing asserts on them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.e2e.server import ServedApp, admin_token, run_cli
from tests.e2e.server import served_app as serve
from tests.e2e.test_docs_browser import (
    ACTION_TIMEOUT_MS,
    RENDER_TIMEOUT_MS,
    NetworkLog,
    _assert_stayed_local,
    _browser_available,
    _is_local,
    _settle,
    browser,
    offline_page,
)

try:
    from axe_playwright_python.sync_playwright import Axe
except ImportError:  # pragma: no cover - the dev extra brings it
    Axe = None

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Response

__all__ = ["_browser_available", "browser", "offline_page"]  # the fixtures this module uses

PAGE_BUDGET = 150 * 1024
NARROW = {"width": 375, "height": 800}
PAGES = {
    "ranking": "/",
    "zoo": "/zoos/korea-central-zoo",
    "animal": "/animals/1",
    "gift": "/gifts/{gift}",
    "incident": "/incidents/1",
    "report": "/report?zoo=korea-central-zoo",
    "search": "/search?q=Dallae",
}
SERIOUS = {"serious", "critical"}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServedApp, Path]]:
    folder = tmp_path_factory.mktemp("pages-server")
    with serve(folder) as app:
        run_cli(folder, "seed")
        yield app, folder


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    named = os.environ.get("ZWR_PAGE_SCREENSHOTS")
    folder = Path(named) if named else tmp_path_factory.mktemp("page-screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def paths(base_url: str) -> dict[str, str]:
    gifts = httpx.get(f"{base_url}/api/v1/gifts", timeout=10).json()["items"]
    bearing = next(g for g in gifts if g["recipient_zoo_id"])
    return {name: p.format(gift=bearing["id"]) for name, p in PAGES.items()}


def weigh(page: Page, response: Response) -> int:
    """The page and what it loaded (the stylesheet), in bytes."""
    total = len(response.body())
    for url in page.evaluate("performance.getEntriesByType('resource').map(e => e.name)"):
        assert _is_local(url), url
        total += len(httpx.get(url, timeout=10).content)
    return total


def test_every_page_is_accessible_light_local_and_narrow(
    served: tuple[ServedApp, Path],
    offline_page: tuple[Page, NetworkLog],
    screenshots: Path,
) -> None:
    if Axe is None:
        pytest.fail("axe-playwright-python is not installed: pip install -e '.[dev]'")
    app, _ = served
    page, network = offline_page
    axe = Axe()
    for name, path in paths(app.base_url).items():
        page.set_viewport_size({"width": 1280, "height": 900})
        response = page.goto(app.base_url + path, wait_until="load")
        assert response is not None and response.status == 200, (name, response)
        _settle(page)
        assert weigh(page, response) < PAGE_BUDGET, name
        found = axe.run(page).response["violations"]
        serious = [
            f"{v['id']} ({v['impact']}): {v['help']}" for v in found if v["impact"] in SERIOUS
        ]
        assert serious == [], f"{name}: {serious}"
        page.screenshot(path=str(screenshots / f"{name}.png"), full_page=True)
        page.set_viewport_size(NARROW)
        wide = page.evaluate("document.documentElement.scrollWidth")
        assert wide <= NARROW["width"], f"{name} is {wide} px wide at 375"
        page.screenshot(path=str(screenshots / f"{name}-375.png"), full_page=True)
        page.emulate_media(media="print")
        assert not page.locator("form.search").is_visible(), f"{name} prints its search box"
        page.emulate_media(media="screen")
    _assert_stayed_local(network)


def test_the_zoo_page_puts_dallae_first_with_the_reason(
    served: tuple[ServedApp, Path], offline_page: tuple[Page, NetworkLog]
) -> None:
    app, _ = served
    page, _ = offline_page
    page.goto(f"{app.base_url}/zoos/korea-central-zoo", wait_until="load")
    first = page.locator("li.concern").first
    assert first.locator("h3").inner_text().startswith("Dallae")
    assert "trained to smoke" in first.inner_text()
    assert page.locator("figure.chart svg[role=img]").count() == 4


def test_the_form_works_without_javascript(
    served: tuple[ServedApp, Path], browser: Browser
) -> None:
    app, folder = served
    context = browser.new_context(java_script_enabled=False)
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    context.set_default_navigation_timeout(RENDER_TIMEOUT_MS)
    try:
        page = context.new_page()
        page.goto(f"{app.base_url}/report?zoo=korea-central-zoo", wait_until="load")
        page.select_option("#animal_id", label="Dallae")
        page.select_option("#category", value="human_interaction")
        page.fill("#title", "Dallae handed a cigarette by a keeper")
        page.fill("#description", "Seen from the visitors' rail at the ape house.")
        page.fill("#observed_at", "2026-11-20T14:30")
        page.fill("#reporter_contact", "witness@example.org")
        with page.expect_navigation():
            page.click("form[action='/report'] button[type=submit]")
        assert page.locator("h1").inner_text() == "Report received"
        receipt = page.locator(".receipt code").inner_text()
        assert len(receipt) >= 20
    finally:
        context.close()
    token = admin_token(folder)
    queue = httpx.get(
        f"{app.base_url}/api/v1/submissions",
        params={"status": "pending"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    ).json()["items"]
    assert [s["title"] for s in queue] == ["Dallae handed a cigarette by a keeper"]
