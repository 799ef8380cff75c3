"""/incidents: filters and sorting, ETag and If-Match, who may triage, every status
transition, and the audit trail."""

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.models.api_key import Role
from app.models.enums import IncidentStatus
from app.models.incident import TRANSITIONS
from tests.api.test_errors import assert_problem
from tests.api.test_reports import (
    INCIDENTS,
    bearer,
    get_incident,
    history,
    key_id,
    post_report,
    transition,
    walk,
)
from tests.factories import make_animal, make_enclosure, make_key, make_zoo

STATUSES = [s.value for s in IncidentStatus]
ALLOWED = {
    "reported": {"under_review", "confirmed", "dismissed"},
    "under_review": {"confirmed", "dismissed"},
    "confirmed": {"resolved"},
    "resolved": {"under_review"},
    "dismissed": {"under_review"},
}
# A legal path from `reported` to each status.
PATH_TO = {
    "reported": [],
    "under_review": ["under_review"],
    "confirmed": ["confirmed"],
    "resolved": ["confirmed", "resolved"],
    "dismissed": ["dismissed"],
}


def listed(client: TestClient, params: dict[str, Any] | list[tuple[str, Any]]) -> list[int]:
    response = client.get(INCIDENTS, params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    ids = [item["id"] for item in body["items"]]
    assert body["total"] == len(ids)
    return ids


# --- list: filters and sort ---------------------------------------------------------------


@pytest.fixture
def registry(client: TestClient, session: Session) -> dict[str, int]:
    """Four incidents in two zoos, with distinct subjects, categories, severities, times and
    statuses; returns their ids by name and the ids of the zoo, animal and enclosure."""
    zoo, other = make_zoo(session), make_zoo(session)
    animal = make_animal(session, zoo)
    enclosure = make_enclosure(session, zoo)

    smoking = post_report(
        client,
        zoo.id,
        animal_id=animal.id,
        category="human_interaction",
        severity=5,
        observed_at="2024-01-10T10:00:00Z",
    )["incident_id"]
    flooded = post_report(
        client,
        zoo.id,
        enclosure_id=enclosure.id,
        category="environment",
        severity=2,
        observed_at="2024-03-10T10:00:00Z",
    )["incident_id"]
    walk(client, flooded, ["confirmed"])
    # Seen from June 10 to July 10.
    hungry = post_report(
        client, zoo.id, category="nutrition", severity=3, observed_at="2024-06-10T10:00:00Z"
    )["incident_id"]
    post_report(
        client,
        zoo.id,
        incident_id=hungry,
        category="nutrition",
        severity=3,
        observed_at="2024-07-10T10:00:00Z",
    )
    walk(client, hungry, ["under_review", "dismissed"])
    elsewhere = post_report(
        client, other.id, category="health", severity=4, observed_at="2024-05-01T10:00:00Z"
    )["incident_id"]
    walk(client, elsewhere, ["under_review"])
    return {
        "smoking": smoking,
        "flooded": flooded,
        "hungry": hungry,
        "elsewhere": elsewhere,
        "zoo": zoo.id,
        "other": other.id,
        "animal": animal.id,
        "enclosure": enclosure.id,
    }


# (filters, where {zoo}/{other}/{animal}/{enclosure} name registry ids) -> incidents, any order
FILTERS: list[tuple[str, list[tuple[str, str]], set[str]]] = [
    ("zoo", [("zoo_id", "{zoo}")], {"smoking", "flooded", "hungry"}),
    ("other-zoo", [("zoo_id", "{other}")], {"elsewhere"}),
    ("animal", [("animal_id", "{animal}")], {"smoking"}),
    ("enclosure", [("enclosure_id", "{enclosure}")], {"flooded"}),
    ("one-status", [("zoo_id", "{zoo}"), ("status", "dismissed")], {"hungry"}),
    (
        "two-statuses",
        [("zoo_id", "{zoo}"), ("status", "reported"), ("status", "confirmed")],
        {"smoking", "flooded"},
    ),
    (
        "statuses-across-zoos",
        [("status", "under_review"), ("status", "dismissed")],
        {"hungry", "elsewhere"},
    ),
    ("category", [("category", "nutrition")], {"hungry"}),
    ("min-severity", [("zoo_id", "{zoo}"), ("min_severity", "3")], {"smoking", "hungry"}),
    ("min-severity-5", [("min_severity", "5")], {"smoking"}),
    (
        "observed-since",
        [("zoo_id", "{zoo}"), ("observed_since", "2024-03-01T00:00:00Z")],
        {"flooded", "hungry"},
    ),
    (
        "observed-since-counts-the-last-sighting",
        [("zoo_id", "{zoo}"), ("observed_since", "2024-07-01T00:00:00+00:00")],
        {"hungry"},
    ),
    (
        "observed-until",
        [("zoo_id", "{zoo}"), ("observed_until", "2024-02-01T00:00:00Z")],
        {"smoking"},
    ),
    (
        "window-inside-a-span",
        [
            ("zoo_id", "{zoo}"),
            ("observed_since", "2024-06-20T00:00:00Z"),
            ("observed_until", "2024-06-30T00:00:00Z"),
        ],
        {"hungry"},
    ),
    (
        "window-with-nothing",
        [
            ("observed_since", "2023-01-01T00:00:00Z"),
            ("observed_until", "2023-12-31T00:00:00Z"),
        ],
        set(),
    ),
    (
        "combined",
        [("zoo_id", "{zoo}"), ("category", "environment"), ("status", "confirmed")],
        {"flooded"},
    ),
]


@pytest.mark.parametrize(
    ("params", "expected"),
    [pytest.param(params, expected, id=name) for name, params, expected in FILTERS],
)
def test_list_filters(
    client: TestClient,
    registry: dict[str, int],
    params: list[tuple[str, str]],
    expected: set[str],
) -> None:
    names = {
        v: k for k, v in registry.items() if k in ("smoking", "flooded", "hungry", "elsewhere")
    }
    query = [(name, value.format(**registry)) for name, value in params]
    found = listed(client, query)
    assert {names[i] for i in found} == expected


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        (None, ["hungry", "flooded", "smoking"]),
        ("recent", ["hungry", "flooded", "smoking"]),
        ("severity", ["smoking", "hungry", "flooded"]),
    ],
)
def test_list_sort(
    client: TestClient, registry: dict[str, int], sort: str | None, expected: list[str]
) -> None:
    params: dict[str, Any] = {"zoo_id": registry["zoo"]} | ({"sort": sort} if sort else {})
    assert listed(client, params) == [registry[name] for name in expected]


@pytest.mark.parametrize(
    ("params", "location"),
    [
        ({"status": "closed"}, ["query", "status", 0]),
        ({"min_severity": 0}, ["query", "min_severity"]),
        ({"min_severity": 6}, ["query", "min_severity"]),
        ({"sort": "loudest"}, ["query", "sort"]),
        ({"observed_since": "last tuesday"}, ["query", "observed_since"]),
    ],
)
def test_list_rejects_bad_filters(
    anon_client: TestClient, params: dict[str, Any], location: list[str | int]
) -> None:
    assert_problem(anon_client.get(INCIDENTS, params=params), 422, location)


@pytest.mark.parametrize("name", ["observed_since", "observed_until"])
def test_list_rejects_a_naive_time(app: FastAPI, name: str) -> None:
    with TestClient(app, raise_server_exceptions=False) as anonymous:
        response = anonymous.get(INCIDENTS, params={name: "2024-01-01T00:00:00"})
    assert_problem(response, 422, ["query", name])


# --- ETag and If-Match --------------------------------------------------------------------


def test_get_returns_an_etag(anon_client: TestClient, client: TestClient, session: Session) -> None:
    incident_id = post_report(client, make_zoo(session).id)["incident_id"]
    response = anon_client.get(f"{INCIDENTS}/{incident_id}")
    assert response.status_code == 200
    assert response.json()["id"] == incident_id
    assert response.headers["etag"].startswith('"')


def test_patch_honours_if_match(client: TestClient, session: Session) -> None:
    zoo = make_zoo(session)
    incident_id = post_report(client, zoo.id, severity=3)["incident_id"]
    stale = client.get(f"{INCIDENTS}/{incident_id}").headers["etag"]
    post_report(client, zoo.id, incident_id=incident_id, severity=3)  # moves the version on
    current = client.get(f"{INCIDENTS}/{incident_id}").headers["etag"]
    assert current != stale

    refused = client.patch(
        f"{INCIDENTS}/{incident_id}", json={"severity": 5}, headers={"If-Match": stale}
    )
    assert_problem(refused, 412)
    assert get_incident(client, incident_id)["severity"] == 3

    accepted = client.patch(
        f"{INCIDENTS}/{incident_id}", json={"severity": 5}, headers={"If-Match": current}
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["severity"] == 5
    new_tag = accepted.headers["etag"]
    assert new_tag not in (stale, current)
    assert client.get(f"{INCIDENTS}/{incident_id}").headers["etag"] == new_tag

    # The tag it replaced is stale now, for PATCH and transitions alike.
    again = client.patch(
        f"{INCIDENTS}/{incident_id}", json={"title": "Renamed"}, headers={"If-Match": current}
    )
    assert_problem(again, 412)
    moved = client.post(
        f"{INCIDENTS}/{incident_id}/transitions",
        json={"to": "confirmed"},
        headers={"If-Match": current},
    )
    assert_problem(moved, 412)
    assert get_incident(client, incident_id)["status"] == "reported"


# --- who may triage ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [("PATCH", "", {"severity": 5}), ("POST", "/transitions", {"to": "confirmed"})],
    ids=["patch", "transition"],
)
def test_triage_needs_an_inspector(
    anon_client: TestClient, session: Session, method: str, suffix: str, body: dict[str, Any]
) -> None:
    zoo = make_zoo(session)
    reporter = make_key(session, Role.reporter)
    incident_id = post_report(anon_client, zoo.id, token=reporter, severity=3)["incident_id"]
    url = f"{INCIDENTS}/{incident_id}{suffix}"
    foreign_inspector = make_key(session, Role.inspector, zoos=[make_zoo(session).slug])

    assert_problem(anon_client.request(method, url, json=body), 401)
    assert_problem(anon_client.request(method, url, json=body, headers=bearer(reporter)), 403)
    assert_problem(
        anon_client.request(method, url, json=body, headers=bearer(foreign_inspector)), 403
    )
    untouched = get_incident(anon_client, incident_id)
    assert (untouched["severity"], untouched["status"], untouched["version"]) == (
        3,
        "reported",
        1,
    )

    inspector = make_key(session, Role.inspector, zoos=[zoo.slug])
    response = anon_client.request(method, url, json=body, headers=bearer(inspector))
    assert response.status_code == 200, response.text


# --- transitions --------------------------------------------------------------------------


def test_transition_table_matches_the_design() -> None:
    assert {k.value: {s.value for s in v} for k, v in TRANSITIONS.items()} == ALLOWED


@pytest.mark.parametrize("target", STATUSES)
@pytest.mark.parametrize("start", STATUSES)
def test_every_transition(client: TestClient, session: Session, start: str, target: str) -> None:
    incident_id = post_report(client, make_zoo(session).id)["incident_id"]
    walk(client, incident_id, PATH_TO[start])
    fetched = client.get(f"{INCIDENTS}/{incident_id}")
    before, before_tag = fetched.json(), fetched.headers["etag"]
    assert before["status"] == start

    response = transition(client, incident_id, target, note=f"{start} to {target}")

    if target in ALLOWED[start]:
        assert response.status_code == 200, response.text
        assert response.json()["status"] == target
        assert response.json()["version"] == before["version"] + 1
        assert response.headers["etag"] != before_tag
        assert client.get(f"{INCIDENTS}/{incident_id}").headers["etag"] == response.headers["etag"]
        assert get_incident(client, incident_id)["status"] == target
        last = history(client, incident_id)[-1]
        assert (last["kind"], last["from_status"], last["to_status"], last["note"]) == (
            "status_changed",
            start,
            target,
            f"{start} to {target}",
        )
    else:
        detail = assert_problem(response, 409)["detail"]
        for allowed in ALLOWED[start]:
            assert allowed in detail, detail
        assert get_incident(client, incident_id) == before


def test_transition_to_an_unknown_status_is_422(client: TestClient, session: Session) -> None:
    incident_id = post_report(client, make_zoo(session).id)["incident_id"]
    assert_problem(transition(client, incident_id, "closed"), 422, ["body", "to"])


# --- history ------------------------------------------------------------------------------


def test_history_lists_every_change_in_order(anon_client: TestClient, session: Session) -> None:
    zoo = make_zoo(session)
    first_reporter = make_key(session, Role.reporter)
    second_reporter = make_key(session, Role.reporter)
    inspector = make_key(session, Role.inspector, zoos=[zoo.slug])
    actors = {
        "first": key_id(session, first_reporter),
        "second": key_id(session, second_reporter),
        "inspector": key_id(session, inspector),
    }

    def as_inspector(method: str, suffix: str, body: dict[str, Any]) -> None:
        url = f"{INCIDENTS}/{incident_id}{suffix}"
        response = anon_client.request(method, url, json=body, headers=bearer(inspector))
        assert response.status_code == 200, response.text

    first = post_report(anon_client, zoo.id, token=first_reporter, severity=3, title="Smoking")
    incident_id = first["incident_id"]
    second = post_report(
        anon_client, zoo.id, token=second_reporter, incident_id=incident_id, severity=4
    )
    as_inspector("PATCH", "", {"severity": 5})
    as_inspector("PATCH", "", {"title": "Dallae made to smoke"})
    as_inspector("POST", "/transitions", {"to": "under_review", "note": "Asking the zoo"})
    as_inspector("POST", "/transitions", {"to": "confirmed", "note": "Seen by AP"})

    # The zoo's inspector sees the acting keys (anonymous readers see roles only: see
    # tests/security/test_finding_10_history_actor_keys.py).
    response = anon_client.get(f"{INCIDENTS}/{incident_id}/history", headers=bearer(inspector))
    assert response.status_code == 200, response.text
    events = response.json()["items"]
    assert response.json()["total"] == len(events) == 7
    roles = ["reporter", "reporter", "reporter"] + ["inspector"] * 4
    assert [e["actor_role"] for e in events] == roles
    assert all(event["incident_id"] == incident_id for event in events)
    summary = [
        (
            e["kind"],
            e["actor_key_id"],
            e["from_status"],
            e["to_status"],
            e["from_severity"],
            e["to_severity"],
            e["report_id"],
        )
        for e in events
    ]
    assert summary == [
        ("created", actors["first"], None, "reported", None, 3, None),
        ("report_added", actors["first"], None, None, None, None, first["id"]),
        ("report_added", actors["second"], None, None, 3, 4, second["id"]),
        ("severity_changed", actors["inspector"], None, None, 4, 5, None),
        ("title_changed", actors["inspector"], None, None, None, None, None),
        ("status_changed", actors["inspector"], "reported", "under_review", None, None, None),
        ("status_changed", actors["inspector"], "under_review", "confirmed", None, None, None),
    ]
    notes = [e["note"] for e in events]
    assert notes[4] is not None and "Smoking" in notes[4], "the old title is kept"
    assert notes[5:] == ["Asking the zoo", "Seen by AP"]
    times = [e["at"] for e in events]
    assert times == sorted(times)

    incident = get_incident(anon_client, incident_id)
    assert (incident["severity"], incident["title"], incident["status"]) == (
        5,
        "Dallae made to smoke",
        "confirmed",
    )


def test_patch_with_no_change_writes_no_event(client: TestClient, session: Session) -> None:
    incident_id = post_report(client, make_zoo(session).id, severity=3, title="Same")["incident_id"]
    before = get_incident(client, incident_id)
    response = client.patch(f"{INCIDENTS}/{incident_id}", json={"title": "Same"})
    assert response.status_code == 200, response.text
    assert response.json()["version"] == before["version"]
    assert [e["kind"] for e in history(client, incident_id)] == ["created", "report_added"]


def test_pinning_the_current_severity_is_recorded(client: TestClient, session: Session) -> None:
    incident_id = post_report(client, make_zoo(session).id, severity=3)["incident_id"]
    before = get_incident(client, incident_id)
    response = client.patch(f"{INCIDENTS}/{incident_id}", json={"severity": 3})
    assert response.status_code == 200, response.text
    after = get_incident(client, incident_id)
    assert after["severity_set_by_inspector"] is True
    # The incident changed (new reports no longer raise its severity), so it has an event and a
    # new version; otherwise an If-Match taken before still matches after.
    assert after["version"] == before["version"] + 1
    last = history(client, incident_id)[-1]
    assert (last["kind"], last["from_severity"], last["to_severity"]) == ("severity_changed", 3, 3)

    # Pinning it again changes nothing, so it is no new event.
    again = client.patch(f"{INCIDENTS}/{incident_id}", json={"severity": 3})
    assert again.status_code == 200, again.text
    assert again.json()["version"] == after["version"]
    assert len(history(client, incident_id)) == 3


def test_history_of_a_missing_incident_is_404(anon_client: TestClient) -> None:
    assert_problem(anon_client.get(f"{INCIDENTS}/2000000000/history"), 404)
