"""Limits on input: body size (413), control characters and lengths (422), write rate (429),
and what an unexpected error looks like (500) (DESIGN.md, "Errors and bad input")."""

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from sqlmodel import Session, select

from app.core.config import Settings
from app.main import create_app
from app.models import Enclosure, Species, Zoo
from app.models.api_key import Role
from tests.api.test_errors import assert_problem, row_counts
from tests.dbutil import share_session
from tests.factories import make_animal, make_enclosure, make_key, make_species, make_zoo

API = "/api/v1"
MIB = 1024 * 1024
LIST_PATHS = ["/zoos", "/species", "/enclosures", "/gifts", "/animals", "/incidents", "/keys"]
CONTROL_CHARS = ["\x00", "\x07", "\x1b", "\x7f"]
THIS_YEAR = datetime.now(UTC).year


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def padded_json(body: dict[str, Any], size: int) -> bytes:
    """The body as JSON, padded with insignificant whitespace to exactly `size` bytes."""
    raw = json.dumps(body).encode()
    assert raw.endswith(b"}") and len(raw) <= size
    return raw[:-1] + b" " * (size - len(raw)) + b"}"


def chunks(data: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def zoo_body(slug: str, **overrides: Any) -> dict[str, Any]:
    return {"slug": slug, "name": "Limits Zoo", "country_code": "KP"} | overrides


def assert_no_control_chars_echoed(response: Response) -> None:
    """The explanation never repeats the offending characters (pydantic echoes input)."""
    body = response.json()
    texts = [body["detail"], *(error["message"] for error in body.get("errors") or [])]
    for text in texts:
        assert not any(ch in text for ch in CONTROL_CHARS), text


def assert_url_refused(response: Response) -> None:
    """A 422 problem for a URL carrying control characters (refused before routing)."""
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == 422
    assert body["type"] and body["title"] and body["detail"]
    assert isinstance(body.get("errors"), list)
    assert_no_control_chars_echoed(response)


# --- body size ------------------------------------------------------------------------------


def test_default_body_limit_is_one_mib(settings: Settings) -> None:
    assert settings.max_body_bytes == MIB


def test_body_at_the_limit_is_accepted(client: TestClient) -> None:
    body = padded_json(zoo_body("exactly-one-mib"), MIB)
    assert len(body) == MIB
    response = client.post(
        f"{API}/zoos", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 201, response.text[:500]


def test_body_over_the_limit_with_content_length_is_413(
    client: TestClient, session: Session
) -> None:
    before = row_counts(session)
    body = padded_json(zoo_body("too-big"), MIB + 1)
    response = client.post(
        f"{API}/zoos", content=body, headers={"content-type": "application/json"}
    )
    assert response.request.headers["content-length"] == str(MIB + 1)
    assert_problem(response, 413)
    assert row_counts(session) == before
    assert client.get(f"{API}/zoos/too-big").status_code == 404


def test_chunked_body_over_the_limit_is_413(client: TestClient, session: Session) -> None:
    before = row_counts(session)
    body = padded_json(zoo_body("too-big-chunked"), MIB + 1)
    response = client.post(
        f"{API}/zoos", content=chunks(body), headers={"content-type": "application/json"}
    )
    # A generator body goes out chunked, declaring no length: the server must count.
    assert "content-length" not in response.request.headers
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert_problem(response, 413)
    assert row_counts(session) == before
    assert client.get(f"{API}/zoos/too-big-chunked").status_code == 404


def test_chunked_body_under_the_limit_is_accepted(client: TestClient) -> None:
    body = padded_json(zoo_body("chunked-fine"), 200 * 1024)
    response = client.post(
        f"{API}/zoos", content=chunks(body), headers={"content-type": "application/json"}
    )
    assert response.status_code == 201, response.text[:500]


def test_oversized_patch_is_413_and_changes_nothing(client: TestClient, session: Session) -> None:
    zoo = make_zoo(session, name="Unchanged")
    body = padded_json({"name": "Changed"}, MIB + 10)
    response = client.patch(
        f"{API}/zoos/{zoo.id}", content=body, headers={"content-type": "application/json"}
    )
    assert_problem(response, 413)
    session.refresh(zoo)
    assert zoo.name == "Unchanged"


# --- control characters ---------------------------------------------------------------------


def _zoo(session: Session) -> tuple[str, dict[str, Any], str]:
    return "/zoos", zoo_body("ctl-zoo"), "name"


def _zoo_patch(session: Session) -> tuple[str, dict[str, Any], str]:
    return f"/zoos/{make_zoo(session).slug}", {"notes": "ok"}, "notes"


def _species(session: Session) -> tuple[str, dict[str, Any], str]:
    body = {"scientific_name": "Pan troglodytes", "common_name": "Chimp", "taxon_class": "mammal"}
    return "/species", body, "common_name"


def _enclosure(session: Session) -> tuple[str, dict[str, Any], str]:
    body = {
        "zoo_id": make_zoo(session).id,
        "name": "Ape House",
        "kind": "indoor",
        "area_m2": 120,
        "capacity": 4,
        "climate": "controlled",
    }
    return "/enclosures", body, "name"


def _gift(session: Session) -> tuple[str, dict[str, Any], str]:
    body = {
        "title": "Gift",
        "donor_name": "Vladimir Putin",
        "donor_country": "RU",
        "recipient_name": "Kim Jong Un",
        "recipient_country": "KP",
    }
    return "/gifts", body, "donor_name"


def _animal(session: Session) -> tuple[str, dict[str, Any], str]:
    body = {"zoo_id": make_zoo(session).id, "species_id": make_species(session).id, "name": "x"}
    return "/animals", body, "name"


def _animal_patch(session: Session) -> tuple[str, dict[str, Any], str]:
    return f"/animals/{make_animal(session).id}", {"identifier": "A-1"}, "identifier"


def _key(session: Session) -> tuple[str, dict[str, Any], str]:
    return "/keys", {"name": "Key", "role": "reporter"}, "name"


def _report(session: Session) -> tuple[str, dict[str, Any], str]:
    body = {
        "zoo_id": make_zoo(session).id,
        "category": "human_interaction",
        "severity": 5,
        "title": "Made to smoke",
        "observed_at": "2016-10-19T10:00:00Z",
    }
    return "/reports", body, "title"


WRITES: dict[str, Callable[[Session], tuple[str, dict[str, Any], str]]] = {
    "zoo": _zoo,
    "zoo-patch": _zoo_patch,
    "species": _species,
    "enclosure": _enclosure,
    "gift": _gift,
    "animal": _animal,
    "animal-patch": _animal_patch,
    "key": _key,
    "report": _report,
}


@pytest.mark.parametrize("char", CONTROL_CHARS, ids=repr)
@pytest.mark.parametrize("write", WRITES)
def test_control_character_in_a_string_field_is_422(
    client: TestClient, session: Session, write: str, char: str
) -> None:
    path, body, field = WRITES[write](session)
    method = "PATCH" if write.endswith("-patch") else "POST"
    # The control body is accepted: only the character makes the difference.
    before = row_counts(session)
    body[field] = f"bad{char}value"
    response = client.request(method, f"{API}{path}", json=body)
    assert_problem(response, 422, ["body", field])
    assert_no_control_chars_echoed(response)
    assert row_counts(session) == before


@pytest.mark.parametrize("write", WRITES)
def test_write_bodies_used_for_control_characters_are_valid(
    client: TestClient, session: Session, write: str
) -> None:
    path, body, _ = WRITES[write](session)
    method = "PATCH" if write.endswith("-patch") else "POST"
    response = client.request(method, f"{API}{path}", json=body)
    assert response.status_code in (200, 201), response.text


def test_tab_and_newline_are_allowed_in_text(client: TestClient) -> None:
    response = client.post(f"{API}/zoos", json=zoo_body("tabbed", notes="line one\n\tline two"))
    assert response.status_code == 201, response.text
    assert response.json()["notes"] == "line one\n\tline two"


def test_control_character_in_a_list_of_strings_is_422(
    client: TestClient, session: Session
) -> None:
    """`zoos` of a new key is a list of slugs: each element is text like any other."""
    zoo = make_zoo(session)
    before = client.get(f"{API}/keys", params={"limit": 500}).json()["total"]
    body = {"name": "Scoped", "role": "inspector", "zoos": [zoo.slug, "bad\x00slug"]}
    response = client.post(f"{API}/keys", json=body)
    assert response.status_code == 422, response.text
    assert_problem(response, 422)
    assert_no_control_chars_echoed(response)
    assert client.get(f"{API}/keys", params={"limit": 500}).json()["total"] == before


def test_control_character_in_a_json_key_is_422(client: TestClient) -> None:
    response = client.post(f"{API}/zoos", json=zoo_body("ctl-key") | {"na\x00me": "x"})
    assert_problem(response, 422)
    assert_no_control_chars_echoed(response)


@pytest.mark.parametrize("char", ["%00", "%07", "%1B", "%7F"])
@pytest.mark.parametrize("path", LIST_PATHS)
def test_control_character_in_a_query_parameter_is_422(
    client: TestClient, path: str, char: str
) -> None:
    assert_url_refused(client.get(f"{API}{path}?q=a{char}b"))


def test_nul_in_a_query_parameter_on_zoos_is_422(client: TestClient) -> None:
    assert_url_refused(client.get(f"{API}/zoos?q=%00"))
    assert_url_refused(client.get(f"{API}/zoos?country_code=K%00"))
    assert client.get(f"{API}/zoos?q=%25").status_code == 200  # a literal % is fine


@pytest.mark.parametrize("path", ["/zoos/a%00b", "/zoos/korea%07zoo", "/gifts/1%00"])
def test_control_character_in_the_path_is_422(client: TestClient, path: str) -> None:
    assert_url_refused(client.get(f"{API}{path}"))


def test_control_character_in_a_write_url_is_422(client: TestClient, session: Session) -> None:
    zoo = make_zoo(session, name="Kept")
    response = client.patch(f"{API}/zoos/{zoo.slug}%00", json={"name": "Changed"})
    assert_url_refused(response)
    session.refresh(zoo)
    assert zoo.name == "Kept"


# --- ranges and lengths ---------------------------------------------------------------------


@pytest.mark.parametrize("path", LIST_PATHS)
def test_limit_over_500_is_422(client: TestClient, path: str) -> None:
    assert_problem(client.get(f"{API}{path}", params={"limit": 501}), 422, ["query", "limit"])


@pytest.mark.parametrize(
    ("field", "limit"), [("name", 200), ("city", 120), ("notes", 5000), ("slug", 80)]
)
def test_string_over_its_max_length_is_422(
    client: TestClient, session: Session, field: str, limit: int
) -> None:
    at_limit = "a" * limit
    over = "a" * (limit + 1)
    ok = client.post(f"{API}/zoos", json=zoo_body(f"len-{field}") | {field: at_limit})
    assert ok.status_code == 201, ok.text
    before = row_counts(session)
    too_long = client.post(f"{API}/zoos", json=zoo_body(f"len2-{field}") | {field: over})
    assert_problem(too_long, 422, ["body", field])
    assert row_counts(session) == before


def test_query_string_over_its_max_length_is_422(client: TestClient) -> None:
    assert client.get(f"{API}/zoos", params={"q": "a" * 100}).status_code == 200
    assert_problem(client.get(f"{API}/zoos", params={"q": "a" * 101}), 422, ["query", "q"])


@pytest.mark.parametrize("area", [0, -1, 0.0])
def test_enclosure_area_must_be_positive(client: TestClient, session: Session, area: float) -> None:
    zoo = make_zoo(session)
    body = {
        "zoo_id": zoo.id,
        "name": "Zero",
        "kind": "indoor",
        "area_m2": area,
        "capacity": 1,
        "climate": "controlled",
    }
    assert_problem(client.post(f"{API}/enclosures", json=body), 422, ["body", "area_m2"])
    assert session.exec(select(Enclosure).where(Enclosure.zoo_id == zoo.id)).all() == []
    enclosure = make_enclosure(session, zoo, area_m2=50.0)
    patch = client.patch(f"{API}/enclosures/{enclosure.id}", json={"area_m2": area})
    assert_problem(patch, 422, ["body", "area_m2"])
    session.refresh(enclosure)
    assert enclosure.area_m2 == 50.0


@pytest.mark.parametrize("count", [0, -3])
def test_animal_count_must_be_positive(client: TestClient, session: Session, count: int) -> None:
    zoo, species = make_zoo(session), make_species(session)
    body = {"zoo_id": zoo.id, "species_id": species.id, "count": count}
    assert_problem(client.post(f"{API}/animals", json=body), 422, ["body", "count"])
    animal = make_animal(session, zoo, species, count=40)
    assert_problem(
        client.patch(f"{API}/animals/{animal.id}", json={"count": count}), 422, ["body", "count"]
    )
    session.refresh(animal)
    assert animal.count == 40


def test_opened_year_in_the_future_is_422(client: TestClient, session: Session) -> None:
    future = zoo_body("future-zoo", opened_year=THIS_YEAR + 1)
    assert_problem(client.post(f"{API}/zoos", json=future), 422, ["body", "opened_year"])
    assert session.exec(select(Zoo).where(Zoo.slug == "future-zoo")).first() is None

    current = client.post(f"{API}/zoos", json=zoo_body("current-zoo", opened_year=THIS_YEAR))
    assert current.status_code == 201, current.text
    patch = client.patch(f"{API}/zoos/current-zoo", json={"opened_year": THIS_YEAR + 1})
    assert_problem(patch, 422, ["body", "opened_year"])
    assert client.get(f"{API}/zoos/current-zoo").json()["opened_year"] == THIS_YEAR


# --- write rate limit -----------------------------------------------------------------------


@pytest.fixture
def limited_app(settings: Settings, session: Session) -> Iterator[FastAPI]:
    app = create_app(settings.model_copy(update={"write_rate_limit": "3/minute"}))
    share_session(app, session)
    yield app
    app.state.engine.dispose()


def species_body(n: int) -> dict[str, Any]:
    return {
        "scientific_name": f"Ratelimitus specius{n}",
        "common_name": f"Limited {n}",
        "taxon_class": "bird",
    }


def test_fourth_write_in_the_window_is_429(limited_app: FastAPI, session: Session) -> None:
    key_a, key_b = make_key(session, Role.admin), make_key(session, Role.admin)
    species = make_species(session)
    with TestClient(limited_app) as client:
        # Every write method counts against the same budget.
        writes = [
            client.post(f"{API}/species", json=species_body(1), headers=bearer(key_a)),
            client.patch(
                f"{API}/species/{species.id}", json={"common_name": "P"}, headers=bearer(key_a)
            ),
            client.post(f"{API}/species", json=species_body(2), headers=bearer(key_a)),
        ]
        assert [w.status_code for w in writes] == [201, 200, 201], [w.text for w in writes]

        refused = client.post(f"{API}/species", json=species_body(3), headers=bearer(key_a))
        assert_problem(refused, 429)
        retry_after = refused.headers["retry-after"]
        assert retry_after.isdigit(), retry_after
        assert 0 < int(retry_after) <= 60
        missing = select(Species).where(Species.scientific_name == "Ratelimitus specius3")
        assert session.exec(missing).first() is None

        deleted = client.delete(f"{API}/species/{species.id}", headers=bearer(key_a))
        assert_problem(deleted, 429)

        # Another key has its own budget; reads are not counted.
        other = client.post(f"{API}/species", json=species_body(4), headers=bearer(key_b))
        assert other.status_code == 201, other.text
        assert client.get(f"{API}/keys", headers=bearer(key_a)).status_code == 200
        assert client.get(f"{API}/species", headers=bearer(key_a)).status_code == 200


def test_limited_app_uses_its_own_rate(limited_app: FastAPI) -> None:
    assert limited_app.state.settings.write_rate_limit == "3/minute"


def test_openapi_declares_429_for_writes(limited_app: FastAPI) -> None:
    with TestClient(limited_app) as client:
        paths = client.get("/openapi.json").json()["paths"]
    writes = [
        (path, method, op)
        for path, ops in paths.items()
        for method, op in ops.items()
        if method in ("post", "patch", "delete", "put")
    ]
    assert writes
    for path, method, op in writes:
        assert {"413", "429"} <= op["responses"].keys(), (method, path)


# --- unexpected errors ----------------------------------------------------------------------


def _raise_sync() -> None:
    raise RuntimeError("connection string postgresql://admin:hunter2@db")


async def _raise_async() -> None:
    raise KeyError("hunter2")


@pytest.mark.parametrize("raiser", [_raise_sync, _raise_async], ids=["sync", "async"])
def test_unhandled_exception_is_a_500_problem_without_a_trace(
    settings: Settings, raiser: Callable[[], Any]
) -> None:
    app = create_app(settings)
    app.add_api_route("/boom", raiser, methods=["GET"], name="boom_get")
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            response = client.get("/boom")
    finally:
        app.state.engine.dispose()
    body = assert_problem(response, 500)
    assert body["instance"] == "/boom"
    for leak in ("hunter2", "Traceback", "RuntimeError", "KeyError", "File ", ".py"):
        assert leak not in response.text, leak
