"""Access: API keys, roles, zoo scopes, revocation and expiry (DESIGN.md, "Access").

The permission table below is the contract: every route under /api/v1 is in it, and each
protected route is checked anonymously (401), with every role below its minimum (403) and with
its minimum role (admitted). A route added without an entry here fails the suite.
"""

import hashlib
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import fastapi.routing
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import func
from sqlmodel import Session, select

from app.core.security import parse_key
from app.models import Animal, Enclosure, Gift, Species, WelfareIncident
from app.models.api_key import ApiKey, Role
from tests.api.test_errors import assert_problem
from tests.factories import (
    make_animal,
    make_enclosure,
    make_gift,
    make_key,
    make_species,
    make_zoo,
)

API = "/api/v1"
PUBLIC, REPORTER, INSPECTOR, ADMIN = "public", "reporter", "inspector", "admin"
# Lowest to highest; each role includes the ones before it.
ROLE_ORDER = [PUBLIC, REPORTER, INSPECTOR, ADMIN]
# Apart from the order: the zoo's representative may reply and nothing else, and no other
# role may reply for a zoo.
REPRESENTATIVE = "zoo_representative"
# Anyone, with or without a key, but with something to show for it (a body or a receipt):
# tested in tests/api/test_submissions.py.
ANYONE = "anyone"

# (METHOD, path template) -> the least role that may call it.
PERMISSIONS: dict[tuple[str, str], str] = {
    # zoos: reads public; writes and deletes admin
    ("GET", "/api/v1/zoos"): PUBLIC,
    ("POST", "/api/v1/zoos"): ADMIN,
    ("GET", "/api/v1/zoos/{zoo}"): PUBLIC,
    ("PATCH", "/api/v1/zoos/{zoo}"): ADMIN,
    ("DELETE", "/api/v1/zoos/{zoo}"): ADMIN,
    # species
    ("GET", "/api/v1/species"): PUBLIC,
    ("POST", "/api/v1/species"): INSPECTOR,
    ("GET", "/api/v1/species/{species_id}"): PUBLIC,
    ("PATCH", "/api/v1/species/{species_id}"): INSPECTOR,
    ("DELETE", "/api/v1/species/{species_id}"): ADMIN,
    # a species' dated listings: inspectors add, admins delete a mistaken one
    ("GET", "/api/v1/species/{species_id}/statuses"): PUBLIC,
    ("POST", "/api/v1/species/{species_id}/statuses"): INSPECTOR,
    ("DELETE", "/api/v1/species/{species_id}/statuses/{status_id}"): ADMIN,
    # countries: reads public; their CITES membership is recorded by admins
    ("GET", "/api/v1/countries"): PUBLIC,
    ("GET", "/api/v1/countries/{code}"): PUBLIC,
    ("PATCH", "/api/v1/countries/{code}"): ADMIN,
    # CITES trade records: public reads; admins import the Trade Database's files
    ("GET", "/api/v1/trade-records"): PUBLIC,
    ("POST", "/api/v1/trade-records/import"): ADMIN,
    # bulk import: inspectors for their zoos' rows (zoo rows need an admin, per file)
    ("POST", "/api/v1/imports/{kind}"): INSPECTOR,
    # the open-data export: the whole public registry, public
    ("GET", "/api/v1/export.zip"): PUBLIC,
    # enclosures
    ("GET", "/api/v1/enclosures"): PUBLIC,
    ("POST", "/api/v1/enclosures"): INSPECTOR,
    ("GET", "/api/v1/enclosures/{enclosure_id}"): PUBLIC,
    ("PATCH", "/api/v1/enclosures/{enclosure_id}"): INSPECTOR,
    ("DELETE", "/api/v1/enclosures/{enclosure_id}"): ADMIN,
    # gifts
    ("GET", "/api/v1/gifts"): PUBLIC,
    ("POST", "/api/v1/gifts"): INSPECTOR,
    ("GET", "/api/v1/gifts/{gift_id}"): PUBLIC,
    ("GET", "/api/v1/gifts/{gift_id}/animals"): PUBLIC,
    ("PATCH", "/api/v1/gifts/{gift_id}"): INSPECTOR,
    ("DELETE", "/api/v1/gifts/{gift_id}"): ADMIN,
    # animals
    ("GET", "/api/v1/animals"): PUBLIC,
    ("POST", "/api/v1/animals"): INSPECTOR,
    ("GET", "/api/v1/animals/{animal_id}"): PUBLIC,
    ("PATCH", "/api/v1/animals/{animal_id}"): INSPECTOR,
    ("DELETE", "/api/v1/animals/{animal_id}"): ADMIN,
    ("POST", "/api/v1/animals/{animal_id}/transfers"): INSPECTOR,
    ("GET", "/api/v1/animals/{animal_id}/movements"): PUBLIC,
    # reports: reporters submit; a report is readable (reporter details hidden)
    ("POST", "/api/v1/reports"): REPORTER,
    # the list shows a key what it may see: its own reports, or its zoos' (inspectors)
    ("GET", "/api/v1/reports"): REPORTER,
    ("GET", "/api/v1/reports/{report_id}"): PUBLIC,
    # incidents: reads public; triage is for inspectors
    ("GET", "/api/v1/incidents"): PUBLIC,
    ("GET", "/api/v1/incidents/{incident_id}"): PUBLIC,
    ("PATCH", "/api/v1/incidents/{incident_id}"): INSPECTOR,
    ("POST", "/api/v1/incidents/{incident_id}/transitions"): INSPECTOR,
    ("GET", "/api/v1/incidents/{incident_id}/history"): PUBLIC,
    ("GET", "/api/v1/incidents/{incident_id}/reports"): PUBLIC,
    # replies: the zoo's representative writes; anyone reads
    ("POST", "/api/v1/incidents/{incident_id}/replies"): REPRESENTATIVE,
    ("GET", "/api/v1/incidents/{incident_id}/replies"): PUBLIC,
    # public submissions: anyone submits and follows it by receipt; inspectors moderate
    ("POST", "/api/v1/submissions"): ANYONE,
    ("GET", "/api/v1/submissions/{submission_id}"): ANYONE,
    ("GET", "/api/v1/submissions"): INSPECTOR,
    ("POST", "/api/v1/submissions/{submission_id}/accept"): INSPECTOR,
    ("POST", "/api/v1/submissions/{submission_id}/reject"): INSPECTOR,
    # concerns: the flagged-welfare queries are public reads
    ("GET", "/api/v1/concerns"): PUBLIC,
    # the change feed: public, as the representations it carries are
    ("GET", "/api/v1/events"): PUBLIC,
    ("GET", "/api/v1/events/stream"): PUBLIC,
    ("GET", "/api/v1/concern-rules"): PUBLIC,
    ("GET", "/api/v1/zoos/{zoo}/concerns"): PUBLIC,
    ("GET", "/api/v1/zoos/{zoo}/concerns.csv"): PUBLIC,
    ("GET", "/api/v1/zoos/{zoo}/concerns/timeline"): PUBLIC,
    ("GET", "/api/v1/animals/{animal_id}/concerns"): PUBLIC,
    # keys: admin only, reads included
    ("GET", "/api/v1/keys"): ADMIN,
    ("POST", "/api/v1/keys"): ADMIN,
    ("GET", "/api/v1/keys/{key_id}"): ADMIN,
    ("POST", "/api/v1/keys/{key_id}/revoke"): ADMIN,
    # webhooks: inspectors and admins manage their subscriptions, reads included
    ("POST", "/api/v1/webhooks"): INSPECTOR,
    ("GET", "/api/v1/webhooks"): INSPECTOR,
    ("GET", "/api/v1/webhooks/{webhook_id}"): INSPECTOR,
    ("PATCH", "/api/v1/webhooks/{webhook_id}"): INSPECTOR,
    ("DELETE", "/api/v1/webhooks/{webhook_id}"): INSPECTOR,
    ("GET", "/api/v1/webhooks/{webhook_id}/deliveries"): INSPECTOR,
    ("POST", "/api/v1/webhooks/{webhook_id}/test"): INSPECTOR,
}

PROTECTED = sorted(op for op, role in PERMISSIONS.items() if role not in (PUBLIC, ANYONE))
# The live stream never ends, so it is called against a real server instead
# (tests/e2e/test_event_stream.py opens it with no key).
STREAMS = {("GET", "/api/v1/events/stream")}
PUBLIC_OPS = sorted(op for op, role in PERMISSIONS.items() if role == PUBLIC and op not in STREAMS)

# Path values that name nothing: a protected route must still answer 401/403, not 404.
MISSING_PATH_VALUES = {
    "zoo": "no-such-zoo",
    "species_id": "2147483647",
    "enclosure_id": "2147483647",
    "gift_id": "2147483647",
    "animal_id": "2147483647",
    "key_id": "2147483647",
    "report_id": "2147483647",
    "incident_id": "2147483647",
    "submission_id": "2147483647",
    "webhook_id": "2147483647",
    "status_id": "2147483647",
    "code": "XX",
    "kind": "animals",
}


def op_id(op: tuple[str, str]) -> str:
    return f"{op[0]} {op[1].removeprefix(API)}"


def api_operations(app: FastAPI) -> set[tuple[str, str]]:
    """(METHOD, path) for every APIRoute under /api/v1, looking inside included routers.

    FastAPI releases that include routers lazily keep them as one entry in `app.routes`;
    `fastapi.routing.iter_route_contexts` flattens those. Older releases list APIRoutes directly.
    """
    iter_contexts = getattr(fastapi.routing, "iter_route_contexts", None)
    routes: Any = iter_contexts(app.routes) if iter_contexts is not None else app.routes
    found: set[tuple[str, str]] = set()
    for route in routes:
        original = getattr(route, "original_route", route)
        if not isinstance(original, APIRoute) or not route.path.startswith(API):
            continue
        for method in route.methods:
            found.add((method, route.path))
    return found


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def key_row(session: Session, token: str) -> ApiKey:
    parts = parse_key(token)
    assert parts is not None
    return session.exec(select(ApiKey).where(ApiKey.prefix == parts.prefix)).one()


def call(
    client: TestClient, method: str, path: str, token: str | None = None, json: Any = None
) -> Response:
    """Sends a request; writes carry a JSON body (empty unless given) since only auth matters."""
    headers = bearer(token) if token else {}
    if json is None and method in ("POST", "PATCH", "PUT"):
        json = {}
    return client.request(method, path, headers=headers, json=json)


def assert_unauthorized(response: Response) -> None:
    assert_problem(response, 401)
    assert response.headers.get("www-authenticate") == "Bearer"


def assert_admitted(response: Response) -> None:
    assert response.status_code not in (401, 403), response.text


def roles_refused(minimal: str) -> list[Role]:
    """The roles below `minimal`, and the representative (which may only reply); for the
    reply route, every other role."""
    if minimal == REPRESENTATIVE:
        return [Role.reporter, Role.inspector, Role.admin]
    return [Role(r) for r in ROLE_ORDER[1 : ROLE_ORDER.index(minimal)]] + [Role.zoo_representative]


def roles_from(minimal: str) -> list[Role]:
    if minimal == REPRESENTATIVE:
        return [Role.zoo_representative]
    return [Role(r) for r in ROLE_ORDER[max(1, ROLE_ORDER.index(minimal)) :]]


@pytest.fixture
def path_values(session: Session, client: TestClient) -> dict[str, str]:
    """Real rows for every path parameter the API has."""
    zoo = make_zoo(session)
    species = make_species(session)
    enclosure = make_enclosure(session, zoo)
    gift = make_gift(session, recipient_zoo_id=zoo.id)
    animal = make_animal(session, zoo, species, enclosure_id=enclosure.id)
    other_key = key_row(session, make_key(session, Role.reporter))
    report = client.post(
        f"{API}/reports",
        json={
            "zoo_id": zoo.id,
            "animal_id": animal.id,
            "category": "health",
            "severity": 2,
            "title": "Limping",
            "observed_at": "2024-11-20T10:00:00Z",
        },
    )
    assert report.status_code == 201, report.text
    submission = client.post(
        f"{API}/submissions",
        json={
            "zoo_id": zoo.id,
            "category": "health",
            "severity": 2,
            "title": "Limping again",
            "observed_at": "2024-11-21T10:00:00Z",
        },
    )
    assert submission.status_code == 202, submission.text
    # A public address for the subscription's host name, with no DNS asked.
    client.app.state.webhooks.resolver = lambda host, port: ["93.184.216.34"]  # type: ignore[attr-defined]
    webhook = client.post(f"{API}/webhooks", json={"url": "https://hooks.example.org/in"})
    assert webhook.status_code == 201, webhook.text
    listing = client.post(
        f"{API}/species/{species.id}/statuses",
        json={"kind": "cites", "value": "II", "valid_from": "1977-02-04"},
    )
    assert listing.status_code == 201, listing.text
    return {
        "zoo": zoo.slug,
        "species_id": str(species.id),
        "enclosure_id": str(enclosure.id),
        "gift_id": str(gift.id),
        "animal_id": str(animal.id),
        "key_id": str(other_key.id),
        "report_id": str(report.json()["id"]),
        "incident_id": str(report.json()["incident_id"]),
        "submission_id": str(submission.json()["id"]),
        "webhook_id": str(webhook.json()["id"]),
        "status_id": str(listing.json()["id"]),
        "code": "RU",
        "kind": "animals",
    }


@pytest.fixture
def role_keys(session: Session) -> dict[Role, str]:
    """One unscoped key per role; the representative's is limited to a zoo, as it must be."""
    keys = {role: make_key(session, role) for role in Role if role != Role.zoo_representative}
    keys[Role.zoo_representative] = make_key(
        session, Role.zoo_representative, zoos=[make_zoo(session).slug]
    )
    return keys


# --- the table matches the app --------------------------------------------------------------


def test_permission_table_covers_every_route(app: FastAPI) -> None:
    routes = api_operations(app)
    assert routes, "no APIRoute under /api/v1 was found"
    missing = sorted(routes - PERMISSIONS.keys())
    stale = sorted(PERMISSIONS.keys() - routes)
    assert not missing, f"routes with no entry in PERMISSIONS: {missing}"
    assert not stale, f"PERMISSIONS names routes the app does not have: {stale}"


def test_permission_table_follows_the_stated_rules() -> None:
    """GETs are public except /keys, the report list and the moderation queue (a submission
    by its receipt); zoo, country and trade-record writes, deletes and /keys are admin; replies the
    representative's; anyone may submit."""
    for (method, path), role in PERMISSIONS.items():
        assert role in (*ROLE_ORDER, REPRESENTATIVE, ANYONE)
        if path.startswith(f"{API}/keys"):
            assert role == ADMIN, path
        elif path.startswith(f"{API}/webhooks"):
            assert role == INSPECTOR, path  # each key its own subscriptions; admins all
        elif (method, path) == ("GET", f"{API}/reports"):
            assert role == REPORTER
        elif path.startswith(f"{API}/submissions"):
            anyone = (method, path) in {
                ("POST", f"{API}/submissions"),
                ("GET", f"{API}/submissions/{{submission_id}}"),
            }
            assert role == (ANYONE if anyone else INSPECTOR), (method, path)
        elif path.endswith("/replies"):
            assert role == (PUBLIC if method == "GET" else REPRESENTATIVE), (method, path)
        elif method == "GET":
            assert role == PUBLIC, path
        elif method == "DELETE" or path.startswith(
            (f"{API}/zoos", f"{API}/countries", f"{API}/trade-records")
        ):
            assert role == ADMIN, (method, path)
        else:
            assert role in (REPORTER, INSPECTOR), (method, path)


def test_openapi_declares_auth_errors_for_protected_routes(anon_client: TestClient) -> None:
    paths = anon_client.get("/openapi.json").json()["paths"]
    for method, path in PROTECTED:
        responses = paths[path][method.lower()]["responses"]
        assert {"401", "403"} <= responses.keys(), (method, path, sorted(responses))


# --- deny by default ------------------------------------------------------------------------


@pytest.mark.parametrize("op", PROTECTED, ids=op_id)
def test_protected_route_without_key_is_401(
    op: tuple[str, str], anon_client: TestClient, path_values: dict[str, str]
) -> None:
    method, template = op
    for values in (path_values, MISSING_PATH_VALUES):
        assert_unauthorized(call(anon_client, method, template.format(**values)))


@pytest.mark.parametrize("op", PROTECTED, ids=op_id)
def test_protected_route_refuses_lower_roles(
    op: tuple[str, str],
    anon_client: TestClient,
    path_values: dict[str, str],
    role_keys: dict[Role, str],
) -> None:
    method, template = op
    lower = roles_refused(PERMISSIONS[op])
    assert lower
    for role in lower:
        for values in (path_values, MISSING_PATH_VALUES):
            response = call(anon_client, method, template.format(**values), role_keys[role])
            assert_problem(response, 403)
            assert "www-authenticate" not in response.headers


@pytest.mark.parametrize("op", PROTECTED, ids=op_id)
def test_protected_route_admits_its_role_and_above(
    op: tuple[str, str],
    anon_client: TestClient,
    path_values: dict[str, str],
    role_keys: dict[Role, str],
) -> None:
    method, template = op
    admitted = roles_from(PERMISSIONS[op])
    assert admitted[0] == Role(PERMISSIONS[op])
    for role in admitted:
        response = call(anon_client, method, template.format(**path_values), role_keys[role])
        assert_admitted(response)


@pytest.mark.parametrize("op", PUBLIC_OPS, ids=op_id)
def test_public_route_needs_no_key(
    op: tuple[str, str], anon_client: TestClient, path_values: dict[str, str]
) -> None:
    method, template = op
    response = call(anon_client, method, template.format(**path_values))
    assert response.status_code == 200, response.text


# --- zoo scopes -----------------------------------------------------------------------------


class Scoped:
    """Two zoos and an inspector limited to the first."""

    def __init__(self, session: Session) -> None:
        self.zoo_a = make_zoo(session)
        self.zoo_b = make_zoo(session)
        self.species = make_species(session)
        self.token = make_key(session, Role.inspector, zoos=[self.zoo_a.slug])
        self.headers = bearer(self.token)


@pytest.fixture
def scoped(session: Session) -> Scoped:
    return Scoped(session)


def enclosure_body(zoo_id: int, name: str) -> dict[str, Any]:
    return {
        "zoo_id": zoo_id,
        "name": name,
        "kind": "indoor",
        "area_m2": 120,
        "capacity": 4,
        "climate": "controlled",
    }


def gift_body(**overrides: Any) -> dict[str, Any]:
    return {
        "title": "Gift of 70 animals",
        "donor_name": "Vladimir Putin",
        "donor_country": "RU",
        "recipient_name": "Kim Jong Un",
        "recipient_country": "KP",
    } | overrides


def test_scoped_key_records_its_zoo(session: Session, scoped: Scoped) -> None:
    assert key_row(session, scoped.token).zoo_ids == [scoped.zoo_a.id]


def test_scoped_inspector_manages_enclosures_in_its_zoo(
    anon_client: TestClient, scoped: Scoped
) -> None:
    created = anon_client.post(
        f"{API}/enclosures",
        json=enclosure_body(scoped.zoo_a.id, "Ape House"),
        headers=scoped.headers,
    )
    assert created.status_code == 201, created.text
    assert created.json()["zoo_id"] == scoped.zoo_a.id
    patched = anon_client.patch(
        f"{API}/enclosures/{created.json()['id']}", json={"capacity": 6}, headers=scoped.headers
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["capacity"] == 6


def test_scoped_inspector_cannot_touch_enclosures_elsewhere(
    anon_client: TestClient, session: Session, scoped: Scoped
) -> None:
    response = anon_client.post(
        f"{API}/enclosures",
        json=enclosure_body(scoped.zoo_b.id, "Bear Pit"),
        headers=scoped.headers,
    )
    assert_problem(response, 403)
    assert session.exec(select(Enclosure).where(Enclosure.zoo_id == scoped.zoo_b.id)).all() == []

    theirs = make_enclosure(session, scoped.zoo_b, capacity=3)
    response = anon_client.patch(
        f"{API}/enclosures/{theirs.id}", json={"capacity": 30}, headers=scoped.headers
    )
    assert_problem(response, 403)
    session.refresh(theirs)
    assert theirs.capacity == 3


def test_scoped_inspector_manages_animals_in_its_zoo(
    anon_client: TestClient, scoped: Scoped
) -> None:
    body = {"zoo_id": scoped.zoo_a.id, "species_id": scoped.species.id, "name": "Dallae"}
    created = anon_client.post(f"{API}/animals", json=body, headers=scoped.headers)
    assert created.status_code == 201, created.text
    patched = anon_client.patch(
        f"{API}/animals/{created.json()['id']}", json={"name": "Dallae II"}, headers=scoped.headers
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["name"] == "Dallae II"


def test_scoped_inspector_cannot_touch_animals_elsewhere(
    anon_client: TestClient, session: Session, scoped: Scoped
) -> None:
    body = {"zoo_id": scoped.zoo_b.id, "species_id": scoped.species.id, "name": "Stray"}
    assert_problem(anon_client.post(f"{API}/animals", json=body, headers=scoped.headers), 403)
    assert session.exec(select(Animal).where(Animal.zoo_id == scoped.zoo_b.id)).all() == []

    theirs = make_animal(session, scoped.zoo_b, scoped.species, name="Theirs")
    response = anon_client.patch(
        f"{API}/animals/{theirs.id}", json={"name": "Ours now"}, headers=scoped.headers
    )
    assert_problem(response, 403)
    session.refresh(theirs)
    assert theirs.name == "Theirs"


def test_scoped_inspector_cannot_move_an_animal_out_of_its_zoo(
    anon_client: TestClient, session: Session, scoped: Scoped
) -> None:
    ours = make_animal(session, scoped.zoo_a, scoped.species)
    response = anon_client.patch(
        f"{API}/animals/{ours.id}", json={"zoo_id": scoped.zoo_b.id}, headers=scoped.headers
    )
    assert_problem(response, 403)
    session.refresh(ours)
    assert ours.zoo_id == scoped.zoo_a.id


def test_scoped_inspector_cannot_pull_an_animal_into_its_zoo(
    anon_client: TestClient, session: Session, scoped: Scoped
) -> None:
    theirs = make_animal(session, scoped.zoo_b, scoped.species)
    response = anon_client.patch(
        f"{API}/animals/{theirs.id}", json={"zoo_id": scoped.zoo_a.id}, headers=scoped.headers
    )
    assert_problem(response, 403)
    session.refresh(theirs)
    assert theirs.zoo_id == scoped.zoo_b.id


def test_scoped_inspector_cannot_create_species(
    anon_client: TestClient, session: Session, scoped: Scoped
) -> None:
    body = {"scientific_name": "Ursus arctos", "common_name": "Brown bear", "taxon_class": "mammal"}
    assert_problem(anon_client.post(f"{API}/species", json=body, headers=scoped.headers), 403)
    assert (
        session.exec(select(Species).where(Species.scientific_name == "Ursus arctos")).first()
        is None
    )


def test_scoped_inspector_gifts(anon_client: TestClient, session: Session, scoped: Scoped) -> None:
    ours = anon_client.post(
        f"{API}/gifts", json=gift_body(recipient_zoo_id=scoped.zoo_a.id), headers=scoped.headers
    )
    assert ours.status_code == 201, ours.text
    for body in (gift_body(recipient_zoo_id=scoped.zoo_b.id), gift_body(title="No zoo")):
        assert_problem(anon_client.post(f"{API}/gifts", json=body, headers=scoped.headers), 403)
    assert [g.id for g in session.exec(select(Gift)).all()] == [ours.json()["id"]]


def test_scoped_admin_is_held_to_its_zoo(anon_client: TestClient, session: Session) -> None:
    zoo_a, zoo_b = make_zoo(session, name="A"), make_zoo(session, name="B")
    headers = bearer(make_key(session, Role.admin, zoos=[zoo_a.slug]))
    ours = anon_client.patch(f"{API}/zoos/{zoo_a.slug}", json={"city": "Here"}, headers=headers)
    assert ours.status_code == 200, ours.text
    theirs = anon_client.patch(f"{API}/zoos/{zoo_b.slug}", json={"city": "X"}, headers=headers)
    assert_problem(theirs, 403)
    assert_problem(anon_client.delete(f"{API}/zoos/{zoo_b.slug}", headers=headers), 403)
    new_zoo = {"slug": "scoped-new-zoo", "name": "New", "country_code": "KP"}
    assert_problem(anon_client.post(f"{API}/zoos", json=new_zoo, headers=headers), 403)
    assert anon_client.get(f"{API}/zoos/{zoo_b.slug}").status_code == 200
    assert anon_client.get(f"{API}/zoos/scoped-new-zoo").status_code == 404


def test_unscoped_inspector_may_act_on_any_zoo(anon_client: TestClient, session: Session) -> None:
    token = make_key(session, Role.inspector)
    zoo_b = make_zoo(session)
    response = anon_client.post(
        f"{API}/enclosures", json=enclosure_body(zoo_b.id, "Aviary"), headers=bearer(token)
    )
    assert response.status_code == 201, response.text


# --- revoked, expired and bad keys ----------------------------------------------------------


def test_revoked_key_is_refused(client: TestClient, session: Session) -> None:
    token = make_key(session, Role.inspector)
    species = make_species(session)
    path = f"{API}/species/{species.id}"
    assert (
        client.patch(path, json={"common_name": "Before"}, headers=bearer(token)).status_code == 200
    )

    key_id = key_row(session, token).id
    revoked = client.post(f"{API}/keys/{key_id}/revoke")
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["revoked_at"] is not None

    response = client.patch(path, json={"common_name": "After"}, headers=bearer(token))
    assert_unauthorized(response)
    session.refresh(species)
    assert species.common_name == "Before"
    assert_problem(client.post(f"{API}/keys/{key_id}/revoke"), 409)


def test_a_key_revoked_after_reporting_reports_no_more(
    client: TestClient, session: Session
) -> None:
    """A report about a new incident takes its key from the key cache and the write checks
    revocation: a key that reported a moment ago is refused at once after its revocation, and
    the refused report writes nothing. A wrong secret for a cached key is refused too."""
    zoo = make_zoo(session)
    token = make_key(session, Role.reporter)
    body = {
        "zoo_id": zoo.id,
        "category": "health",
        "severity": 2,
        "title": "Limping",
        "observed_at": "2024-01-01T00:00:00Z",
    }
    for _ in range(2):  # the second one from the cache
        assert client.post(f"{API}/reports", json=body, headers=bearer(token)).status_code == 201
    forged = token[: -len(token.rsplit("_", 1)[1])] + "x" * len(token.rsplit("_", 1)[1])
    assert_unauthorized(client.post(f"{API}/reports", json=body, headers=bearer(forged)))
    incidents = select(func.count()).select_from(WelfareIncident)
    before = session.exec(incidents).one()

    key_id = key_row(session, token).id
    assert client.post(f"{API}/keys/{key_id}/revoke").status_code == 200

    response = client.post(f"{API}/reports", json=body, headers=bearer(token))
    assert_unauthorized(response)
    assert "revoked" in response.json()["detail"]
    assert session.exec(incidents).one() == before


def test_revoked_keys_are_listed_only_on_request(client: TestClient, session: Session) -> None:
    token = make_key(session, Role.reporter)
    key_id = key_row(session, token).id
    assert client.post(f"{API}/keys/{key_id}/revoke").status_code == 200
    listed = [k["id"] for k in client.get(f"{API}/keys").json()["items"]]
    assert key_id not in listed
    everything = client.get(f"{API}/keys", params={"include_revoked": True}).json()["items"]
    assert key_id in [k["id"] for k in everything]


def test_expired_key_is_refused(anon_client: TestClient, session: Session) -> None:
    token = make_key(session, Role.admin, expires_at=datetime.now(UTC) - timedelta(seconds=1))
    body = {"slug": "late-zoo", "name": "Late", "country_code": "KP"}
    assert_unauthorized(anon_client.post(f"{API}/zoos", json=body, headers=bearer(token)))
    assert anon_client.get(f"{API}/zoos/late-zoo").status_code == 404


def test_key_expiring_later_is_accepted(anon_client: TestClient, session: Session) -> None:
    token = make_key(session, Role.admin, expires_at=datetime.now(UTC) + timedelta(days=1))
    body = {"slug": "on-time-zoo", "name": "On time", "country_code": "KP"}
    response = anon_client.post(f"{API}/zoos", json=body, headers=bearer(token))
    assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer garbage",
        "Bearer zwr_",
        "Bearer zwr__",
        "Bearer zwr_0123456789ab_",
        "Bearer zwr_short_secret",
        "Bearer zwr_0123456789ab_no-such-secret",
        "Bearer xyz_0123456789ab_secret",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "zwr_0123456789ab_secret",
        "Bearer zwr_ÿÿÿÿÿÿÿÿÿÿÿÿ_secret",
    ],
    ids=repr,
)
def test_unknown_or_malformed_token_is_401(
    anon_client: TestClient, session: Session, authorization: str
) -> None:
    species = make_species(session)
    response = anon_client.patch(
        f"{API}/species/{species.id}",
        json={"common_name": "Changed"},
        # latin-1: HTTP header bytes, so non-ASCII and control bytes reach the server as sent
        headers={"Authorization": authorization.encode("latin-1")},
    )
    assert_unauthorized(response)


def test_wrong_secret_for_a_real_prefix_is_401(anon_client: TestClient, session: Session) -> None:
    token = make_key(session, Role.admin)
    prefix = token.split("_")[1]
    for forged in (f"zwr_{prefix}_wrong-secret", token + "x", token[:-1]):
        response = anon_client.get(f"{API}/keys", headers=bearer(forged))
        assert_unauthorized(response)
    assert anon_client.get(f"{API}/keys", headers=bearer(token)).status_code == 200


# --- the secret is shown once and stored only as a hash ------------------------------------


def test_created_key_is_shown_once_and_stored_as_hash(client: TestClient, session: Session) -> None:
    response = client.post(f"{API}/keys", json={"name": "Field inspector", "role": "inspector"})
    assert response.status_code == 201, response.text
    created = response.json()
    token = created["key"]
    assert token.startswith("zwr_")
    assert re.fullmatch(r"zwr_[0-9a-f]{12}_[A-Za-z0-9_-]{20,}", token), token
    assert "secret_hash" not in created
    assert response.headers["location"] == f"{API}/keys/{created['id']}"
    assert "no-store" in response.headers.get("cache-control", "")

    parts = parse_key(token)
    assert parts is not None
    assert created["prefix"] == parts.prefix

    listing = client.get(f"{API}/keys")
    single = client.get(f"{API}/keys/{created['id']}")
    assert listing.status_code == single.status_code == 200
    assert created["id"] in [k["id"] for k in listing.json()["items"]]
    for shown in (listing, single):
        assert token not in shown.text
        assert parts.secret not in shown.text
        assert "secret_hash" not in shown.text
        assert '"key"' not in shown.text
    assert single.json()["prefix"] == parts.prefix

    row = session.get(ApiKey, created["id"])
    assert row is not None
    assert row.secret_hash != token
    assert row.secret_hash != parts.secret
    assert parts.secret not in row.secret_hash
    assert row.secret_hash == hashlib.sha256(parts.secret.encode()).hexdigest()
    assert row.secret_hash not in listing.text
    assert row.secret_hash not in single.text

    # The key it printed works, in the role it was given.
    species = make_species(session)
    patched = client.patch(
        f"{API}/species/{species.id}", json={"common_name": "x"}, headers=bearer(token)
    )
    assert patched.status_code == 200, patched.text
    assert_problem(client.get(f"{API}/keys", headers=bearer(token)), 403)


def test_scoped_key_created_through_the_api(client: TestClient, session: Session) -> None:
    zoo = make_zoo(session)
    response = client.post(
        f"{API}/keys", json={"name": "Scoped", "role": "inspector", "zoos": [zoo.slug]}
    )
    assert response.status_code == 201, response.text
    assert response.json()["zoo_ids"] == [zoo.id]
    unknown = client.post(
        f"{API}/keys", json={"name": "Nowhere", "role": "inspector", "zoos": ["atlantis"]}
    )
    assert_problem(unknown, 404)


def test_keys_with_the_same_name_get_distinct_secrets(client: TestClient) -> None:
    body = {"name": "Twin", "role": "reporter"}
    first, second = client.post(f"{API}/keys", json=body), client.post(f"{API}/keys", json=body)
    assert first.status_code == second.status_code == 201
    assert first.json()["key"] != second.json()["key"]
    assert first.json()["prefix"] != second.json()["prefix"]


# --- bookkeeping ----------------------------------------------------------------------------


def test_last_used_at_is_set_when_the_key_is_used(
    app: FastAPI, client: TestClient, session: Session
) -> None:
    """Uses are noted in memory and written off the request path: here, by a flush."""
    token = make_key(session, Role.inspector)
    key_id = key_row(session, token).id
    assert client.get(f"{API}/keys/{key_id}").json()["last_used_at"] is None

    before = datetime.now(UTC)
    species = make_species(session)
    response = client.patch(
        f"{API}/species/{species.id}", json={"common_name": "Used"}, headers=bearer(token)
    )
    assert response.status_code == 200, response.text
    assert app.state.key_uses.flush(app.state.write_sessions) >= 1

    shown = client.get(f"{API}/keys/{key_id}").json()["last_used_at"]
    assert shown is not None
    used_at = datetime.fromisoformat(shown.replace("Z", "+00:00"))
    assert used_at.tzinfo is not None
    assert before - timedelta(seconds=5) <= used_at <= datetime.now(UTC) + timedelta(seconds=5)
    row = session.get(ApiKey, key_id)
    assert row is not None
    assert row.last_used_at is not None


def test_refused_key_is_not_marked_used(anon_client: TestClient, session: Session) -> None:
    token = make_key(session, Role.inspector, expires_at=datetime.now(UTC) - timedelta(days=1))
    species = make_species(session)
    response = anon_client.patch(
        f"{API}/species/{species.id}", json={"common_name": "x"}, headers=bearer(token)
    )
    assert_unauthorized(response)
    row = key_row(session, token)
    assert row.id not in anon_client.app.state.key_uses.pending()  # type: ignore[attr-defined]
    session.refresh(row)
    assert row.last_used_at is None
