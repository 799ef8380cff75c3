"""OWASP API5:2023 Broken Function Level Authorization: administrative functions (issuing,
listing and revoking keys) stay within the caller's scope.

Finding 1: a zoo-scoped admin escaped its scope through /keys (issuing an unscoped admin
key, revoking unscoped keys, listing every key). A scoped key manages only keys limited to
some of its own zoos; keys beyond that answer 404, as if they did not exist.
"""

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.core.errors import Forbidden, NotFound
from app.models.api_key import ApiKey, ApiKeyCreate, Role
from app.services import api_keys as api_key_service
from app.services.access import may_manage_key
from tests.api.test_access import bearer, key_row
from tests.api.test_errors import assert_problem
from tests.factories import make_key, make_zoo

API = "/api/v1"


class World:
    """Zoos A, B, C; an admin limited to A and B; keys of every kind of scope."""

    def __init__(self, session: Session) -> None:
        self.a, self.b, self.c = make_zoo(session), make_zoo(session), make_zoo(session)
        self.token = make_key(session, Role.admin, zoos=[self.a.slug, self.b.slug])
        self.headers = bearer(self.token)
        self.actor = key_row(session, self.token)
        keys = {
            "unscoped": None,
            "a": [self.a.slug],
            "ab": [self.a.slug, self.b.slug],
            "ac": [self.a.slug, self.c.slug],
            "c": [self.c.slug],
            "none": [],
        }
        self.keys = {
            label: key_row(session, make_key(session, Role.inspector, zoos=zoos))
            for label, zoos in keys.items()
        }
        self.inside = {"a", "ab", "none"}


@pytest.fixture
def world(session: Session) -> World:
    return World(session)


def test_scoped_admin_cannot_issue_an_unscoped_key(
    anon_client: TestClient, session: Session, world: World
) -> None:
    before = len(session.exec(select(ApiKey)).all())
    response = anon_client.post(
        f"{API}/keys", json={"name": "x", "role": "admin"}, headers=world.headers
    )
    assert_problem(response, 403)
    assert "zoos" in response.json()["detail"]
    assert len(session.exec(select(ApiKey)).all()) == before


def test_scoped_admin_cannot_issue_a_key_for_another_zoo(
    anon_client: TestClient, world: World
) -> None:
    for zoos in ([world.c.slug], [world.a.slug, world.c.slug]):
        body = {"name": "x", "role": "inspector", "zoos": zoos}
        assert_problem(anon_client.post(f"{API}/keys", json=body, headers=world.headers), 403)


def test_scoped_admin_issues_keys_within_its_zoos(anon_client: TestClient, world: World) -> None:
    for zoos, expected in (
        ([world.a.slug], [world.a.id]),
        ([str(world.b.id), world.a.slug], sorted([world.a.id, world.b.id])),
    ):
        body = {"name": "x", "role": "admin", "zoos": zoos}
        response = anon_client.post(f"{API}/keys", json=body, headers=world.headers)
        assert response.status_code == 201, response.text
        assert response.json()["zoo_ids"] == expected


def test_scoped_admin_lists_only_keys_within_its_zoos(
    anon_client: TestClient, world: World
) -> None:
    response = anon_client.get(f"{API}/keys", params={"limit": 500}, headers=world.headers)
    assert response.status_code == 200, response.text
    page = response.json()
    listed = {k["id"] for k in page["items"]}
    expected = {world.keys[label].id for label in world.inside} | {world.actor.id}
    assert listed == expected
    assert page["total"] == len(expected)
    # Paging keeps the total and walks the same set.
    walked: list[int] = []
    for offset in range(0, len(expected) + 1, 2):
        part = anon_client.get(
            f"{API}/keys", params={"limit": 2, "offset": offset}, headers=world.headers
        ).json()
        assert part["total"] == len(expected)
        walked += [k["id"] for k in part["items"]]
    assert walked == sorted(expected, reverse=True)


def test_unscoped_admin_still_lists_every_key(client: TestClient, world: World) -> None:
    listed = {k["id"] for k in client.get(f"{API}/keys", params={"limit": 500}).json()["items"]}
    assert {k.id for k in world.keys.values()} <= listed


def test_scoped_admin_cannot_see_or_revoke_keys_beyond_its_zoos(
    anon_client: TestClient, session: Session, world: World
) -> None:
    for label, key in world.keys.items():
        if label in world.inside:
            continue
        got = anon_client.get(f"{API}/keys/{key.id}", headers=world.headers)
        assert_problem(got, 404)
        assert got.json()["detail"] == f"No API key with id {key.id}."  # as for a missing key
        assert_problem(anon_client.post(f"{API}/keys/{key.id}/revoke", headers=world.headers), 404)
        session.refresh(key)
        assert key.revoked_at is None, label


def test_scoped_admin_revokes_keys_within_its_zoos(
    anon_client: TestClient, session: Session, world: World
) -> None:
    key = world.keys["a"]
    assert anon_client.get(f"{API}/keys/{key.id}", headers=world.headers).status_code == 200
    revoked = anon_client.post(f"{API}/keys/{key.id}/revoke", headers=world.headers)
    assert revoked.status_code == 200, revoked.text
    session.refresh(key)
    assert key.revoked_at is not None


def _key(zoo_ids: list[int] | None) -> ApiKey:
    return ApiKey(name="k", role=Role.admin, zoo_ids=zoo_ids, prefix="p", secret_hash="h")


@pytest.mark.parametrize(
    ("actor", "target", "allowed"),
    [
        (None, None, True),
        (None, [1], True),
        ([1, 2], None, False),
        ([1, 2], [1], True),
        ([1, 2], [2, 1], True),
        ([1, 2], [], True),
        ([1, 2], [1, 3], False),
        ([1], [2], False),
        ([], [], True),
        ([], [1], False),
    ],
)
def test_may_manage_key(actor: list[int] | None, target: list[int] | None, allowed: bool) -> None:
    assert may_manage_key(_key(actor), target) is allowed


def test_the_sql_filter_agrees_with_the_rule(session: Session, world: World) -> None:
    everyone = session.exec(select(ApiKey)).all()
    for actor_zoos in (
        [world.a.id],
        [world.a.id, world.b.id],
        [world.c.id],
        [world.a.id, world.b.id, world.c.id],
        [],
    ):
        actor = _key(actor_zoos)
        listed, total = api_key_service.list_keys(
            session=session, actor=actor, include_revoked=True, limit=500, offset=0
        )
        expected = {k.id for k in everyone if may_manage_key(actor, k.zoo_ids)}
        assert {k.id for k in listed} == expected, actor_zoos
        assert total == len(expected)


def test_service_refuses_scoped_issuing_and_hides_keys(session: Session, world: World) -> None:
    with pytest.raises(Forbidden):
        api_key_service.create(
            session=session, key_in=ApiKeyCreate(name="x", role=Role.admin), actor=world.actor
        )
    outside = world.keys["unscoped"]
    with pytest.raises(NotFound):
        api_key_service.get(session=session, key_id=outside.id, actor=world.actor)  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        api_key_service.revoke(session=session, key=outside, actor=world.actor)
    # The operator (no actor) is not limited.
    assert api_key_service.get(session=session, key_id=outside.id, actor=None) is outside  # type: ignore[arg-type]
