"""The ranking's rendered pages: sent again (or a 304) while no zoo's figures changed, and a
new page after any write that changes what it shows: a flag raised or cleared, a zoo renamed,
added or deleted."""

from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.factories import make_enclosure, make_zoo

RANKING = "/api/v1/concerns"
PARAMS = {"limit": 500}


def by_zoo(response: Any) -> dict[int, dict[str, Any]]:
    assert response.status_code == 200, response.text
    return {item["zoo"]["id"]: item for item in response.json()["items"]}


def test_an_unchanged_ranking_is_the_same_page_and_a_304(
    anon_client: TestClient, session: Session
) -> None:
    zoo = make_zoo(session)
    make_enclosure(session, zoo, last_inspected_on=None)
    session.commit()
    first = anon_client.get(RANKING, params=PARAMS)
    again = anon_client.get(RANKING, params=PARAMS)
    assert first.status_code == again.status_code == 200
    assert again.content == first.content
    assert again.headers["ETag"] == first.headers["ETag"]

    tag = first.headers["ETag"]
    unchanged = anon_client.get(RANKING, params=PARAMS, headers={"If-None-Match": tag})
    assert unchanged.status_code == 304
    assert unchanged.headers["ETag"] == tag
    other_page = anon_client.get(RANKING, params={"limit": 1}, headers={"If-None-Match": tag})
    assert other_page.status_code == 200  # another rendering, another tag


def test_every_write_the_ranking_shows_changes_the_page(
    client: TestClient, session: Session
) -> None:
    zoo = make_zoo(session, country_code="KP")
    shed = make_enclosure(session, zoo, last_inspected_on=None)
    session.commit()
    first = client.get(RANKING, params=PARAMS)
    assert by_zoo(first)[zoo.id]["total_score"] > 0
    tags = {first.headers["ETag"]}

    # a flag cleared: the shed inspected today
    inspected = client.patch(
        f"/api/v1/enclosures/{shed.id}",
        json={"last_inspected_on": datetime.now(UTC).date().isoformat()},
    )
    assert inspected.status_code == 200, inspected.text
    cleared = client.get(RANKING, params=PARAMS)
    assert by_zoo(cleared)[zoo.id]["total_score"] < by_zoo(first)[zoo.id]["total_score"]
    tags.add(cleared.headers["ETag"])
    stale = client.get(RANKING, params=PARAMS, headers={"If-None-Match": first.headers["ETag"]})
    assert stale.status_code == 200

    # renamed: the ranking shows the name
    renamed = client.patch(f"/api/v1/zoos/{zoo.id}", json={"name": "Renamed Zoo"})
    assert renamed.status_code == 200, renamed.text
    after_rename = client.get(RANKING, params=PARAMS)
    assert by_zoo(after_rename)[zoo.id]["zoo"]["name"] == "Renamed Zoo"
    tags.add(after_rename.headers["ETag"])

    # a zoo added (no flags, score 0), then deleted
    added = client.post(
        "/api/v1/zoos", json={"name": "New Zoo", "slug": "new-zoo", "country_code": "FR"}
    )
    assert added.status_code == 201, added.text
    new_id = added.json()["id"]
    with_new = client.get(RANKING, params=PARAMS)
    assert by_zoo(with_new)[new_id]["total_score"] == 0
    assert with_new.json()["total"] == after_rename.json()["total"] + 1
    tags.add(with_new.headers["ETag"])
    assert client.delete(f"/api/v1/zoos/{new_id}").status_code == 204
    without = client.get(RANKING, params=PARAMS)
    assert new_id not in by_zoo(without)
    assert without.content == after_rename.content
    assert len(tags) == 4
