"""Repeated concern-list requests, and one animal's concerns, answered before routing
(app/concerns/fastpath.py): the same answer as the route's, only while the list is unchanged,
and never for what the route refuses."""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.concerns import ConcernReadModel
from app.core.rendered import Kept, Rendered
from app.models import Zoo
from tests.factories import make_animal, make_enclosure, make_species, make_zoo


@pytest.fixture
def zoo(session: Session) -> Zoo:
    zoo = make_zoo(session)
    species = make_species(session, social_structure="group", min_group_size=3)
    pen = make_enclosure(session, zoo, capacity=1, last_inspected_on=datetime.now(UTC).date())
    make_animal(session, zoo, species, enclosure_id=pen.id)  # alone: social_isolation
    return zoo


@pytest.fixture
def routed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The refs of the requests that reached the route (the fast path answers the others)."""
    calls: list[str] = []
    original: Callable[..., Any] = ConcernReadModel.zoo_list

    async def spy(self: ConcernReadModel, ref: str, *args: Any, **kwargs: Any) -> Rendered:
        calls.append(ref)
        return await original(self, ref, *args, **kwargs)  # type: ignore[no-any-return]

    monkeypatch.setattr(ConcernReadModel, "zoo_list", spy)
    return calls


def file_severe_report(client: TestClient, zoo: Zoo, animal_id: int) -> None:
    report = {
        "zoo_id": zoo.id,
        "animal_id": animal_id,
        "category": "health",
        "severity": 5,
        "title": "Open wound",
        "observed_at": datetime.now(UTC).isoformat(),
    }
    assert client.post("/api/v1/reports", json=report).status_code == 201


def test_a_repeat_gets_the_same_answer_without_routing(
    anon_client: TestClient, zoo: Zoo, routed: list[str]
) -> None:
    url = f"/api/v1/zoos/{zoo.slug}/concerns?limit=5"
    first = anon_client.get(url)
    second = anon_client.get(url)
    assert first.status_code == second.status_code == 200
    assert routed == [zoo.slug]
    assert second.content == first.content
    assert second.headers["etag"] == first.headers["etag"]
    assert second.headers["content-type"] == first.headers["content-type"] == "application/json"
    assert second.headers["x-request-id"] != first.headers["x-request-id"]
    metrics = anon_client.get("/metrics").text
    assert 'route="/api/v1/zoos/{zoo}/concerns",status="200"} 2.0' in metrics


def test_a_repeat_with_the_tag_gets_304(
    anon_client: TestClient, zoo: Zoo, routed: list[str]
) -> None:
    url = f"/api/v1/zoos/{zoo.id}/concerns"
    tag = anon_client.get(url).headers["etag"]
    again = anon_client.get(url, headers={"If-None-Match": tag})
    assert again.status_code == 304
    assert again.headers["etag"] == tag
    assert routed == [str(zoo.id)]


def test_a_write_sends_the_repeat_back_to_the_route(
    client: TestClient, zoo: Zoo, routed: list[str]
) -> None:
    url = f"/api/v1/zoos/{zoo.slug}/concerns"
    before = client.get(url)
    assert [f["rule"] for f in before.json()["items"][0]["flags"]] == ["social_isolation"]
    file_severe_report(client, zoo, before.json()["items"][0]["subject_id"])

    after = client.get(url)
    assert routed == [zoo.slug, zoo.slug]
    assert after.headers["etag"] != before.headers["etag"]
    rules = {f["rule"] for f in after.json()["items"][0]["flags"]}
    assert rules == {"social_isolation", "severe_open_incident"}


def test_each_spelling_of_a_request_is_its_own_entry(
    anon_client: TestClient, zoo: Zoo, routed: list[str]
) -> None:
    base = f"/api/v1/zoos/{zoo.slug}/concerns"
    as_json = anon_client.get(base)
    as_csv = anon_client.get(base, headers={"Accept": "text/csv"})
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in as_csv.headers["content-disposition"]
    again_csv = anon_client.get(base, headers={"Accept": "text/csv"})
    again_json = anon_client.get(base)
    assert again_csv.content == as_csv.content
    assert again_csv.headers["content-disposition"] == as_csv.headers["content-disposition"]
    assert again_json.content == as_json.content
    assert routed == [zoo.slug, zoo.slug]


def test_refused_requests_are_never_remembered(
    anon_client: TestClient, zoo: Zoo, routed: list[str]
) -> None:
    bad = f"/api/v1/zoos/{zoo.slug}/concerns?limit=0"
    for _ in range(2):
        response = anon_client.get(bad)
        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
    long_tag = anon_client.get(
        f"/api/v1/zoos/{zoo.slug}/concerns", headers={"If-None-Match": "x" * 1001}
    )
    assert long_tag.status_code == 422


def served_until_deleted(client: TestClient, url: str, resource: str) -> None:
    """`url` answers 200, and 404 once `resource` is deleted."""
    assert client.get(url).status_code == 200
    assert client.delete(resource).status_code == 204
    gone = client.get(url)
    assert gone.status_code == 404
    assert gone.headers["content-type"] == "application/problem+json"


def test_a_deleted_zoo_is_404_even_after_its_list_was_served(
    client: TestClient, session: Session, routed: list[str]
) -> None:
    empty = make_zoo(session)
    served_until_deleted(
        client, f"/api/v1/zoos/{empty.slug}/concerns", f"/api/v1/zoos/{empty.slug}"
    )
    assert routed == [empty.slug, empty.slug]


@pytest.fixture
def animal_routed(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The ids of the animals whose concerns the route answered (the fast path the others)."""
    calls: list[int] = []
    original: Callable[..., Any] = ConcernReadModel.animal_answer

    async def spy(
        self: ConcernReadModel, session: Session, animal: Any, *args: Any, **kwargs: Any
    ) -> Rendered:
        calls.append(animal.id)
        return await original(self, session, animal, *args, **kwargs)  # type: ignore[no-any-return]

    monkeypatch.setattr(ConcernReadModel, "animal_answer", spy)
    return calls


def animal_of(client: TestClient, zoo: Zoo) -> int:
    return int(client.get(f"/api/v1/zoos/{zoo.slug}/concerns").json()["items"][0]["subject_id"])


def test_an_animals_concerns_are_answered_again_without_routing(
    anon_client: TestClient, zoo: Zoo, animal_routed: list[int]
) -> None:
    animal = animal_of(anon_client, zoo)
    url = f"/api/v1/animals/{animal}/concerns"
    first, second = anon_client.get(url), anon_client.get(url)
    assert first.status_code == second.status_code == 200
    assert animal_routed == [animal]
    assert second.content == first.content
    assert [f["rule"] for f in first.json()["flags"]] == ["social_isolation"]
    assert second.headers["etag"] == first.headers["etag"]
    assert second.headers["content-type"] == "application/json"
    again = anon_client.get(url, headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    assert animal_routed == [animal]
    metrics = anon_client.get("/metrics").text
    assert 'route="/api/v1/animals/{animal_id}/concerns",status="200"} 2.0' in metrics
    # Anything but the bare path goes the whole way: here, to the refusal of a parameter.
    assert anon_client.get(url + "?x=1").status_code == 422


def test_an_animals_change_or_a_report_sends_its_concerns_back_to_the_route(
    client: TestClient, zoo: Zoo, animal_routed: list[int]
) -> None:
    animal = animal_of(client, zoo)
    url = f"/api/v1/animals/{animal}/concerns"
    before = client.get(url)
    renamed = client.patch(f"/api/v1/animals/{animal}", json={"name": "Renamed"})
    assert renamed.status_code == 200, renamed.text
    after_rename = client.get(url)
    assert after_rename.json()["name"] == "Renamed"
    assert after_rename.headers["etag"] != before.headers["etag"]
    file_severe_report(client, zoo, animal)
    after_report = client.get(url)
    assert {f["rule"] for f in after_report.json()["flags"]} == {
        "social_isolation",
        "severe_open_incident",
    }
    assert animal_routed == [animal, animal, animal]


def test_a_deleted_animal_is_404_even_after_its_concerns_were_served(
    client: TestClient, zoo: Zoo, animal_routed: list[int]
) -> None:
    animal = animal_of(client, zoo)
    served_until_deleted(client, f"/api/v1/animals/{animal}/concerns", f"/api/v1/animals/{animal}")
    assert animal_routed == [animal]  # the 404 is the loader's, before the route


def test_a_kept_list_costs_its_compressed_size_and_comes_back_whole(
    app: FastAPI, anon_client: TestClient, session: Session
) -> None:
    zoo = make_zoo(session)
    species = make_species(session, social_structure="group", min_group_size=3)
    for n in range(40):  # forty lone animals: forty flagged items, a body of some size
        pen = make_enclosure(session, zoo, capacity=1, last_inspected_on=datetime.now(UTC).date())
        make_animal(session, zoo, species, enclosure_id=pen.id, name=f"Lone {n}")
    cache = app.state.concerns.cache
    before = cache.size
    url = f"/api/v1/zoos/{zoo.slug}/concerns"
    first = anon_client.get(url)
    assert first.status_code == 200 and len(first.json()["items"]) == 40
    # The body and its alias are kept in far less than the body's own bytes.
    assert 0 < cache.size - before < len(first.content) / 3
    assert Kept.of(Rendered(first.content, "application/json", "t")).opened().body == first.content
    assert anon_client.get(url).content == first.content
