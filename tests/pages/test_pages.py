"""The pages for people, on the seed, through HTTP: the ranking, a zoo's page (Dallae first,
with the reason), search, the stylesheet, error pages for browsers and problem+json for API
clients, the headers every page carries (a CSP with nothing inline, an ETag), and no
resource from anywhere but the origin."""

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from itertools import pairwise

import html5lib
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.core import migrations
from app.core.config import Settings
from app.main import create_app
from app.models.api_key import Role
from app.pages import routes as pages_routes
from app.pages.render import POLICY
from app.seed.loader import load_seed
from tests.dbutil import create_database, drop_database
from tests.factories import make_key

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


@pytest.fixture(scope="module")
def site_url() -> Iterator[str]:
    url = create_database("pages_seed")
    migrations.upgrade(url)
    yield url
    drop_database(url)


@pytest.fixture(scope="module")
def site(site_url: str) -> Iterator[TestClient]:
    url = site_url
    app = create_app(Settings(database_url=url))
    load_seed(app.state.write_engine)
    with TestClient(app, headers=BROWSER) as client:
        yield client
    app.state.engine.dispose()
    app.state.write_engine.dispose()


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


def text_of(site: TestClient, path: str) -> str:
    return " ".join(" ".join(get_page(site, path).text).split())


def test_the_animal_page_shows_species_status_enclosure_flags_and_incidents(
    site: TestClient,
) -> None:
    text = text_of(site, "/animals/1")
    assert "Pan troglodytes (Chimpanzee) at Korea Central Zoo" in text
    assert "IUCN Red List: EN; CITES Appendix I" in text
    assert "Great Ape House" in text and "arrival" in text
    assert "Severity 5" in text and "trained to smoke" in text
    assert "Chimpanzee Dallae trained to smoke" in text  # the incident, in its timeline


def test_the_gift_page_shows_where_its_animals_are_now(site: TestClient) -> None:
    gifts = site.get("/api/v1/gifts", headers={"Accept": "application/json"}).json()["items"]
    bearing = next(g for g in gifts if g["recipient_zoo_id"])
    animals = site.get(
        f"/api/v1/gifts/{bearing['id']}/animals", headers={"Accept": "application/json"}
    ).json()["items"]
    text = text_of(site, f"/gifts/{bearing['id']}")
    assert bearing["donor_name"] in text
    for animal in animals:
        assert (animal["name"] or animal["identifier"]) in text


def test_the_incident_page_shows_its_trail_reports_and_no_private_field(
    site: TestClient,
) -> None:
    incident = site.get("/api/v1/incidents/1", headers={"Accept": "application/json"}).json()
    text = text_of(site, "/incidents/1")
    assert incident["title"] in text and "History" in text and "created" in text
    assert "The zoo has not replied." in text or "replies" in text


def test_the_form_files_a_pending_submission_without_javascript(site: TestClient) -> None:
    form = text_of(site, "/report?zoo=korea-central-zoo")
    assert "Dallae" in form  # the zoo's animals to choose from
    sent = {
        "zoo_id": "1",
        "animal_id": "1",
        "category": "human_interaction",
        "title": "Dallae given a cigarette again",
        "description": "A keeper lit it for her.",
        "observed_at": "2026-11-20T14:30",
        "reporter_name": "Ms Private Person",
        "reporter_contact": "private@example.org",
        "evidence_urls": "https://example.org/a\nhttps://example.org/b",
        "website": "",
    }
    received = site.post("/report", data=sent)
    assert received.status_code == 202, received.text
    receipt = re.search(r"<code>([^<]{20,})</code>", received.text)
    assert receipt is not None and "Ms Private Person" not in received.text
    numbered = re.search(r"Your report is number (\d+)", received.text)
    assert numbered is not None
    number = int(numbered.group(1))
    status = site.get(
        f"/api/v1/submissions/{number}",
        headers={"X-Receipt": receipt.group(1), "Accept": "application/json"},
    ).json()
    assert status["status"] == "pending"


def test_a_form_in_error_comes_back_with_every_message(site: TestClient) -> None:
    shown = site.post(
        "/report",
        data={
            "zoo_id": "1",
            "category": "nonsense",
            "title": "",
            "observed_at": "2099-01-01T00:00",
        },
    )
    assert shown.status_code == 422
    text = " ".join(" ".join(outline(shown.text).text).split())
    assert "There is a problem" in text
    assert "observed_at is in the future" in text and "category" in text and "title" in text
    trapped = site.post(
        "/report",
        data={
            "zoo_id": "1",
            "category": "other",
            "title": "x",
            "observed_at": "2026-01-01T00:00",
            "website": "http://spam.example",
        },
    )
    assert trapped.status_code == 422


def test_the_zoo_page_charts_are_inline_svg_with_text_alternatives(site: TestClient) -> None:
    html = site.get("/zoos/korea-central-zoo").text
    charts = re.findall(r'<svg viewBox="[^"]+" role="img" aria-labelledby="([a-z-]+)-title', html)
    assert charts == ["timeline", "by-category", "by-severity", "by-origin"]
    for chart in charts:
        assert f'<title id="{chart}-title">' in html and f'<desc id="{chart}-desc">' in html
    assert html.count("<details>") == 4  # each also as a table
    text = " ".join(" ".join(outline(html).text).split())
    assert "Incidents by category 1 in all; the most: human interaction (1)" in text
    assert "Animals by origin 9 in all; the most: diplomatic gift (8)" in text


def test_a_long_concern_list_comes_in_pages(
    site: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pages_routes, "CONCERNS_PER_PAGE", 5)
    first = site.get("/zoos/korea-central-zoo").text
    assert first.count('<li class="concern">') == 5 and "Page 1 of 3." in first
    assert 'href="/zoos/korea-central-zoo?page=2#concerns" rel="next"' in first
    last = site.get("/zoos/korea-central-zoo?page=3").text
    assert last.count('<li class="concern">') == 3 and 'rel="prev"' in last
    assert '<ol class="concerns" start="11">' in last


def test_a_kept_zoo_page_gives_way_to_a_write(site: TestClient) -> None:
    engine = site.app.state.write_engine  # type: ignore[attr-defined]  # the app under test
    with Session(engine) as session:
        token = make_key(session, Role.admin)
    before = site.get("/zoos/korea-central-zoo")
    assert site.get("/zoos/korea-central-zoo").headers["etag"] == before.headers["etag"]
    renamed = site.patch(
        "/api/v1/animals/1",
        json={"name": "Dallae the renamed"},
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
    )
    assert renamed.status_code == 200, renamed.text
    after = site.get("/zoos/korea-central-zoo")
    assert after.headers["etag"] != before.headers["etag"]
    assert "Dallae the renamed" in after.text
    site.patch(
        "/api/v1/animals/1",
        json={"name": "Dallae"},
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
    )


def test_a_kept_zoo_page_is_compared_once_old_and_shows_what_moves_no_version(
    site: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The zoo's notes and a new gift move no concern_version: a page older than PAGE_TTL_S
    (here at once) is compared with them, kept while they stand, rendered again when not."""
    monkeypatch.setattr(pages_routes, "PAGE_TTL_S", 0.0)
    rendered: list[str] = []
    render_page = pages_routes._zoo_page

    def counted(*args: object) -> pages_routes.CachedPage:
        rendered.append("page")
        return render_page(*args)  # type: ignore[arg-type]  # the route's own arguments

    monkeypatch.setattr(pages_routes, "_zoo_page", counted)
    engine = site.app.state.write_engine  # type: ignore[attr-defined]  # the app under test
    with Session(engine) as session:
        token = make_key(session, Role.admin)
    admin = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    zoo = site.get("/api/v1/zoos/korea-central-zoo", headers=admin).json()
    first = site.get("/zoos/korea-central-zoo")
    again = site.get("/zoos/korea-central-zoo")
    assert again.headers["etag"] == first.headers["etag"] and len(rendered) <= 1
    kept = len(rendered)

    noted = site.patch(
        f"/api/v1/zoos/{zoo['id']}",
        json={"notes": "Visited in May: pens unchanged."},
        headers=admin,
    )
    assert noted.status_code == 200, noted.text
    page = site.get("/zoos/korea-central-zoo")
    assert "Visited in May: pens unchanged." in page.text and len(rendered) == kept + 1
    gift = {
        "title": "A pair of cranes for the page test",
        "donor_name": "A donor",
        "donor_country": "CN",
        "recipient_name": "A recipient",
        "recipient_country": "KP",
        "recipient_zoo_id": zoo["id"],
    }
    created = site.post("/api/v1/gifts", json=gift, headers=admin)
    assert created.status_code == 201, created.text
    page = site.get("/zoos/korea-central-zoo")
    assert "A pair of cranes for the page test" in page.text and len(rendered) == kept + 2
    assert site.get("/zoos/korea-central-zoo").headers["etag"] == page.headers["etag"]
    assert len(rendered) == kept + 2
    assert site.delete(f"/api/v1/gifts/{created.json()['id']}", headers=admin).status_code == 204
    assert "A pair of cranes" not in site.get("/zoos/korea-central-zoo").text
    site.patch(f"/api/v1/zoos/{zoo['id']}", json={"notes": zoo["notes"]}, headers=admin)


def test_too_many_reports_from_one_address_is_a_page_saying_when_to_retry(
    site: TestClient, site_url: str
) -> None:
    app = create_app(Settings(database_url=site_url, submission_rate_limit="1/hour"))
    sent = {"zoo_id": "1", "category": "other", "title": "x", "observed_at": "2026-01-01T00:00"}
    with TestClient(app, headers=BROWSER) as client:
        assert client.post("/report", data=sent).status_code == 202
        refused = client.post("/report", data=sent)
    app.state.engine.dispose()
    app.state.write_engine.dispose()
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "text/html; charset=utf-8"
    assert int(refused.headers["retry-after"]) > 0
    assert "Too many requests" in refused.text


PAGES = [
    "/",
    "/zoos/korea-central-zoo",
    "/animals/1",
    "/gifts/1",
    "/incidents/1",
    "/report?zoo=korea-central-zoo",
    "/search?q=Dallae",
    "/no-such-page",
]


@pytest.mark.parametrize("path", PAGES)
def test_each_page_parses_without_an_error_and_names_each_id_once(
    site: TestClient, path: str
) -> None:
    html = site.get(path).text
    html5lib.HTMLParser(strict=True).parse(html)  # raises on any parse error
    ids = re.findall(r'\sid="([^"]+)"', html)
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


def test_no_page_shows_a_reporters_name_or_contact(site: TestClient) -> None:
    engine = site.app.state.write_engine  # type: ignore[attr-defined]  # the app under test
    with Session(engine) as session:
        token = make_key(session, Role.admin)
    filed = site.post(
        "/api/v1/reports",
        json={
            "zoo_id": 1,
            "animal_id": 1,
            "incident_id": 1,
            "category": "human_interaction",
            "severity": 4,
            "title": "Seen again",
            "observed_at": "2026-11-01T10:00:00Z",
            "reporter_name": "Named Witness",
            "reporter_contact": "witness@private.example",
        },
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
    )
    assert filed.status_code == 201, filed.text
    for path in ("/incidents/1", "/animals/1", "/zoos/korea-central-zoo", "/"):
        html = site.get(path).text
        assert "Named Witness" not in html and "witness@private.example" not in html, path
        assert "Wong Maye-E (public photograph)" not in html, path  # the seed's reporter
    assert "Seen again" in site.get("/incidents/1").text


def test_a_kept_zoo_page_takes_a_fraction_of_its_size_and_is_sent_whole(site: TestClient) -> None:
    """Pages are kept compressed, so the cache holds a registry's worth of zoos; the kept
    page sent again is the page as rendered."""
    cache = site.app.state.page_cache  # type: ignore[attr-defined]  # the app under test
    first = site.get("/zoos/korea-central-zoo")
    assert first.status_code == 200
    kept = site.get("/zoos/korea-central-zoo")
    assert kept.content == first.content and kept.headers["etag"] == first.headers["etag"]
    packed = [v for k, (v, _) in cache._data.items() if k[0] == "zoo"]
    assert packed and all(len(page.packed) * 4 < len(first.content) for page in packed)
