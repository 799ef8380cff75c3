"""The pages for people, on the seed, through HTTP: the ranking, a zoo's page (Dallae first,
with the reason), search, the stylesheet, error pages for browsers and problem+json for API
clients, the headers every page carries (a CSP with nothing inline, an ETag), and no
resource from anywhere but the origin."""

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from itertools import pairwise

import pytest
from fastapi.testclient import TestClient

from app.core import migrations
from app.core.config import Settings
from app.main import create_app
from app.pages.render import POLICY
from app.seed.loader import load_seed
from tests.dbutil import create_database, drop_database

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


@pytest.fixture(scope="module")
def site() -> Iterator[TestClient]:
    url = create_database("pages_seed")
    migrations.upgrade(url)
    app = create_app(Settings(database_url=url))
    load_seed(app.state.write_engine)
    with TestClient(app, headers=BROWSER) as client:
        yield client
    app.state.engine.dispose()
    app.state.write_engine.dispose()
    drop_database(url)


class Outline(HTMLParser):
    """What a page is made of: its headings in order, the URLs it loads, inline code, text."""

    def __init__(self) -> None:
        super().__init__()
        self.headings: list[int] = []
        self.loads: list[str] = []
        self.inline: list[str] = []
        self.text: list[str] = []
        self.lang: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "html":
            self.lang = found.get("lang")
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        if tag in ("script", "style") or "style" in found or any(a.startswith("on") for a in found):
            self.inline.append(tag)
        for name in ("src", "srcset", "data"):
            if found.get(name):
                self.loads.append(str(found[name]))
        if tag == "link" and found.get("href"):
            self.loads.append(str(found["href"]))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def outline(html: str) -> Outline:
    parsed = Outline()
    parsed.feed(html)
    return parsed


def get_page(site: TestClient, path: str) -> Outline:
    response = site.get(path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["content-security-policy"] == POLICY
    parsed = outline(response.text)
    assert parsed.lang == "en"
    assert parsed.headings and parsed.headings[0] == 1
    assert all(b - a <= 1 for a, b in pairwise(parsed.headings)), "headings in order"
    assert not parsed.inline, "nothing inline: the CSP would refuse it"
    assert all(url.startswith("/") and not url.startswith("//") for url in parsed.loads)
    return parsed


def test_the_ranking_puts_the_korea_central_zoo_first(site: TestClient) -> None:
    html = site.get("/").text
    get_page(site, "/")
    rows = re.findall(r'<th scope="row"><a href="/zoos/([a-z0-9-]+)">', html)
    assert rows[0] == "korea-central-zoo"
    assert "Figures evaluated between" in html


def test_the_zoo_page_shows_dallae_first_with_the_reason(site: TestClient) -> None:
    page = get_page(site, "/zoos/korea-central-zoo")
    text = " ".join(" ".join(page.text).split())
    first = text.index("Animals and enclosures of concern")
    assert (
        text[first:]
        .split("Score")[0]
        .strip()
        .endswith("Dallae animal, Pan troglodytes (Chimpanzee)")
    )
    assert "trained to smoke" in text
    assert "Great Ape House" in text  # its enclosure, in the animals table
    assert "Gifts it received" in text


def test_a_page_is_sent_again_only_when_it_changed(site: TestClient) -> None:
    first = site.get("/zoos/korea-central-zoo")
    again = site.get("/zoos/korea-central-zoo", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


def test_search_finds_zoos_animals_and_species(site: TestClient) -> None:
    text = " ".join(get_page(site, "/search?q=Dallae").text)
    assert "Dallae" in text and "No zoo matches." in text
    text = " ".join(get_page(site, "/search?q=Panthera").text)
    assert "Panthera" in text


def test_the_stylesheet_comes_from_the_package(site: TestClient) -> None:
    response = site.get("/site.css")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")
    assert "@media print" in response.text and "url(" not in response.text


def test_errors_are_pages_for_browsers_and_problems_for_api_clients(site: TestClient) -> None:
    for path in ("/zoos/no-such-zoo", "/no-such-page"):
        shown = site.get(path)
        assert shown.status_code == 404
        assert shown.headers["content-type"] == "text/html; charset=utf-8"
        assert "Page not found" in shown.text
        problem = site.get(path, headers={"Accept": "application/json"})
        assert problem.status_code == 404
        assert problem.headers["content-type"] == "application/problem+json"
    api = site.get("/api/v1/zoos/no-such-zoo")  # the API answers problem+json to anyone
    assert api.headers["content-type"] == "application/problem+json"
