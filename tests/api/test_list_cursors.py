"""Cursor paging of the other long lists (black-box): animals, reports, the moderation queue
and the CITES trade records. Following `next` with `after` gives the rows of one whole
offset page, in every sort, through tied and missing sort values; a cursor of one list is not
taken by another. (The incident list, the first to have cursors, has its own tests.)"""

from datetime import date
from enum import StrEnum
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.services.animals import AnimalSort
from app.services.reports import ReportSort
from app.services.submissions import SubmissionSort
from tests.api.submission_helpers import SUBMISSIONS, set_submission_limit, submit
from tests.api.test_errors import assert_problem
from tests.api.test_reports import post_report
from tests.factories import make_animal, make_species, make_zoo
from tests.records.test_trade_records import CURRENT_HEADER, post_file

API = "/api/v1"
ROWS = 9


def get(client: TestClient, path: str, **params: Any) -> dict[str, Any]:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def followed(client: TestClient, path: str, limit: int, **params: Any) -> list[int]:
    """Every id, by following `next` from the first page."""
    page = get(client, path, limit=limit, **params)
    assert page["total"] is not None
    seen = [i["id"] for i in page["items"]]
    while page["next"] is not None:
        page = get(client, path, limit=limit, after=page["next"], **params)
        assert page["total"] is None
        seen += [i["id"] for i in page["items"]]
        assert len(seen) <= page["limit"] * 100, "the cursor went round"
    return seen


def check_every_sort(
    client: TestClient, path: str, sorts: list[str] | None, **params: Any
) -> list[int]:
    """Each sort followed by cursor at several page sizes is its whole offset page."""
    whole_ids: list[int] = []
    for sort in sorts or [None]:
        with_sort = params | ({"sort": sort} if sort else {})
        whole = [i["id"] for i in get(client, path, limit=500, **with_sort)["items"]]
        assert len(whole) == ROWS
        for limit in (1, 2, 4):
            assert followed(client, path, limit, **with_sort) == whole, (sort, limit)
        whole_ids = whole
    return whole_ids


def values(sort: type[StrEnum]) -> list[str]:
    return [s.value for s in sort]


def test_animals_by_cursor_in_every_sort_missing_values_included(
    anon_client: TestClient, session: Session
) -> None:
    zoo, species = make_zoo(session), make_species(session)
    for n in range(ROWS):
        # Names tie in threes, a third have no identifier and no birth date (NULL sorts last).
        make_animal(
            session,
            zoo,
            species,
            name=f"Animal {n % 3}",
            identifier=None if n % 3 == 0 else f"ID-{n}",
            birth_date=None if n % 3 == 1 else date(2010, n % 4 + 1, 1),
        )
    check_every_sort(anon_client, f"{API}/animals", values(AnimalSort), zoo_id=zoo.id)


def test_reports_by_cursor_in_every_sort(client: TestClient, session: Session) -> None:
    zoo = make_zoo(session)
    animal = make_animal(session, zoo, make_species(session))
    for n in range(ROWS):
        post_report(
            client,
            zoo.id,
            animal_id=animal.id,
            severity=n % 2 + 1,
            observed_at=f"2024-0{n % 3 + 1}-15T12:00:00Z",
            title=f"Report {n}",
        )
    check_every_sort(client, f"{API}/reports", values(ReportSort), zoo_id=zoo.id)


def test_the_moderation_queue_by_cursor_in_every_sort(
    app: FastAPI, client: TestClient, anon_client: TestClient, session: Session
) -> None:
    set_submission_limit(app, "1000/hour")
    zoo = make_zoo(session)
    for n in range(ROWS):
        submit(anon_client, zoo.id, observed_at=f"2024-0{n % 3 + 1}-20T10:00:00Z")
    check_every_sort(client, SUBMISSIONS, values(SubmissionSort), zoo_id=zoo.id)


def test_trade_records_by_cursor_through_ties_of_year_and_taxon(client: TestClient) -> None:
    # Rows n and n + 6 differ only in the term, which is not sorted on: the id breaks the tie.
    rows = [
        f"{2020 + n % 2},II,Panthera cursorii {n % 3},,,,,KP,{('RU', 'CN', 'DE')[n % 3]},,,"
        f"{n + 1},{'live' if n < 6 else 'skins'},,Z,C"
        for n in range(ROWS)
    ]
    imported = post_file(client, "\n".join([CURRENT_HEADER, *rows]))
    assert imported.status_code == 200, imported.text
    # Other tests' records may be there too: page the importer's alone.
    ids = check_every_sort(client, f"{API}/trade-records", None, importer="KP")
    assert len(set(ids)) == ROWS


@pytest.mark.parametrize("path", ["/animals", "/reports", "/trade-records", "/submissions"])
def test_a_cursor_not_made_here_or_beside_an_offset_is_a_422(client: TestClient, path: str) -> None:
    assert_problem(client.get(f"{API}{path}", params={"after": "%%%"}), 422, ["query", "after"])
    assert_problem(client.get(f"{API}{path}", params={"after": "x" * 513}), 422, ["query", "after"])
    incidents = get(client, f"{API}/incidents", limit=1)
    if incidents["next"] is not None:
        # The incident list's cursor names its own sort, which this list does not have.
        foreign = client.get(f"{API}{path}", params={"after": incidents["next"]})
        assert_problem(foreign, 422, ["query", "after"])
    both = client.get(f"{API}{path}", params={"after": "eyJ4Il0", "offset": 1})
    assert both.status_code == 422


def test_a_deep_animal_page_by_cursor_counts_only_when_asked(
    anon_client: TestClient, session: Session
) -> None:
    zoo, species = make_zoo(session), make_species(session)
    for _ in range(ROWS):
        make_animal(session, zoo, species)
    first = get(anon_client, f"{API}/animals", zoo_id=zoo.id, limit=4)
    assert first["total"] == ROWS
    second = get(anon_client, f"{API}/animals", zoo_id=zoo.id, limit=4, after=first["next"])
    assert second["total"] is None
    counted = get(
        anon_client, f"{API}/animals", zoo_id=zoo.id, limit=4, after=first["next"], count="true"
    )
    assert counted["total"] == ROWS and counted["items"] == second["items"]
