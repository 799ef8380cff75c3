"""Evidence levels on every flag (reported, corroborated, confirmed), explained in the reason,
filtered by min_evidence in the list and its CSV; and whether the zoo replied, and when."""

import csv
import io
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session

from app.models import Zoo
from app.models.api_key import Role
from tests.api.submission_helpers import SUBMISSIONS, submit
from tests.api.test_reports import INCIDENTS, bearer, post_report
from tests.factories import make_animal, make_enclosure, make_key, make_species, make_zoo

API = "/api/v1"


def flags_of(client: TestClient, zoo: Zoo, **params: Any) -> dict[str, dict[str, Any]]:
    """The zoo's flags by rule (one animal and one enclosure in these scenes)."""
    response = client.get(f"{API}/zoos/{zoo.id}/concerns", params=params)
    assert response.status_code == 200, response.text
    return {f["rule"]: f for i in response.json()["items"] for f in i["flags"]}


def scene(session: Session) -> tuple[Zoo, int]:
    zoo = make_zoo(session)
    animal = make_animal(session, zoo, make_species(session))
    assert animal.id is not None
    return zoo, animal.id


def test_one_report_is_reported_and_a_second_source_corroborates(
    client: TestClient, session: Session
) -> None:
    zoo, animal_id = scene(session)
    reporter, other = (make_key(session, Role.reporter) for _ in range(2))
    incident = post_report(client, zoo.id, reporter, animal_id=animal_id, severity=5)
    flag = flags_of(client, zoo)["severe_open_incident"]
    assert flag["evidence"] == "reported"
    assert flag["reason"].endswith("(one report, not yet reviewed)")
    # The same key again is still one source.
    post_report(client, zoo.id, reporter, animal_id=animal_id, incident_id=incident["incident_id"])
    assert flags_of(client, zoo)["severe_open_incident"]["evidence"] == "reported"
    post_report(client, zoo.id, other, animal_id=animal_id, incident_id=incident["incident_id"])
    flag = flags_of(client, zoo)["severe_open_incident"]
    assert flag["evidence"] == "corroborated"
    assert flag["reason"].endswith("(reported by 2 independent sources)")


def test_accepted_submissions_are_each_a_source(
    client: TestClient, anon_client: TestClient, session: Session
) -> None:
    zoo, animal_id = scene(session)
    first, second = (submit(anon_client, zoo.id, animal_id=animal_id) for _ in range(2))
    accepted = client.post(f"{SUBMISSIONS}/{first['id']}/accept", json={"severity": 5})
    assert accepted.status_code == 201, accepted.text
    assert flags_of(client, zoo)["severe_open_incident"]["evidence"] == "reported"
    into = {"severity": 5, "incident_id": accepted.json()["incident_id"]}
    assert client.post(f"{SUBMISSIONS}/{second['id']}/accept", json=into).status_code == 201
    # Both filed with the same moderator's key, yet two witnesses.
    assert flags_of(client, zoo)["severe_open_incident"]["evidence"] == "corroborated"


def test_a_confirmed_incident_and_the_records_are_confirmed(
    client: TestClient, session: Session
) -> None:
    zoo, animal_id = scene(session)
    make_enclosure(session, zoo, last_inspected_on=None)
    incident = post_report(client, zoo.id, animal_id=animal_id, severity=5)["incident_id"]
    flags = flags_of(client, zoo)
    assert flags["inspection_overdue"]["evidence"] == "confirmed"
    assert flags["inspection_overdue"]["reason"] == "never inspected"  # no words for a record
    for to in ("under_review", "confirmed"):
        moved = client.post(f"{INCIDENTS}/{incident}/transitions", json={"to": to})
        assert moved.status_code == 200, moved.text
    flags = flags_of(client, zoo)
    assert flags["confirmed_incident"]["evidence"] == "confirmed"
    assert flags["confirmed_incident"]["reason"].endswith("(confirmed by an inspector)")


def test_min_evidence_filters_the_list_and_its_csv(client: TestClient, session: Session) -> None:
    zoo, animal_id = scene(session)
    make_enclosure(session, zoo, last_inspected_on=None)
    post_report(client, zoo.id, animal_id=animal_id, severity=5, category="health")
    assert set(flags_of(client, zoo)) == {"severe_open_incident", "inspection_overdue"}
    assert set(flags_of(client, zoo, min_evidence="reported")) == {
        "severe_open_incident",
        "inspection_overdue",
    }
    for level in ("corroborated", "confirmed"):
        assert set(flags_of(client, zoo, min_evidence=level)) == {"inspection_overdue"}
        page = client.get(f"{API}/zoos/{zoo.id}/concerns", params={"min_evidence": level})
        assert page.json()["total"] == 1  # the animal's one flag is filtered out, and it too
    whole = client.get(f"{API}/zoos/{zoo.id}/concerns.csv", params={"min_evidence": "confirmed"})
    rows = list(csv.DictReader(io.StringIO(whole.text)))
    assert [(r["rule"], r["evidence"]) for r in rows] == [("inspection_overdue", "confirmed")]
    everything = client.get(f"{API}/zoos/{zoo.id}/concerns.csv").text
    levels = {r["rule"]: r["evidence"] for r in csv.DictReader(io.StringIO(everything))}
    assert levels == {"severe_open_incident": "reported", "inspection_overdue": "confirmed"}
    refused = client.get(f"{API}/zoos/{zoo.id}/concerns", params={"min_evidence": "rumour"})
    assert refused.status_code == 422


def test_a_flag_says_when_the_zoo_replied(
    client: TestClient, anon_client: TestClient, session: Session
) -> None:
    zoo, animal_id = scene(session)
    incident = post_report(client, zoo.id, animal_id=animal_id, severity=5)["incident_id"]
    assert flags_of(client, zoo)["severe_open_incident"]["zoo_replied_at"] is None
    rep = bearer(make_key(session, Role.zoo_representative, zoos=[zoo.slug]))
    reply = anon_client.post(
        f"{INCIDENTS}/{incident}/replies", json={"body": "A vet saw her."}, headers=rep
    )
    assert reply.status_code == 201, reply.text
    flag = flags_of(client, zoo)["severe_open_incident"]
    assert flag["zoo_replied_at"] is not None
    assert flag["zoo_replied_at"][:19] == reply.json()["created_at"][:19]
    assert f"the zoo replied on {reply.json()['created_at'][:10]}" in flag["reason"]
