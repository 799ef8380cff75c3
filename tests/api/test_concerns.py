"""The concern endpoints: a zoo's list (filters, paging, CSV), the ranking of zoos, one
animal's concerns, the published rules, and the seeded registry's list."""

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.core import migrations
from app.core.config import Settings
from app.core.db import make_engine
from app.main import create_app
from app.models import Animal, Enclosure, Species, WelfareIncident, Zoo
from app.seed.loader import load_seed
from tests.api.test_errors import assert_problem
from tests.api.test_reports import post_report, walk
from tests.dbutil import create_database, drop_database, share_session
from tests.factories import make_animal, make_enclosure, make_gift, make_species, make_zoo

API = "/api/v1"
TODAY = datetime.now(UTC).date()
RULE_PAIRS = {
    ("severe_open_incident", "animal"),
    ("severe_open_incident", "enclosure"),
    ("confirmed_incident", "animal"),
    ("confirmed_incident", "enclosure"),
    ("repeated_incidents", "animal"),
    ("human_imposed_behaviour", "animal"),
    ("social_isolation", "animal"),
    ("climate_mismatch", "animal"),
    ("undocumented_trade", "animal"),
    ("unmatched_trade", "animal"),
    ("non_party_transfer", "animal"),
    ("overcrowded", "enclosure"),
    ("undersized", "enclosure"),
    ("inspection_overdue", "enclosure"),
}


@dataclass
class Scene:
    zoo: Zoo  # KP: a smoking chimpanzee, an overcrowded pen and a parrot in the cold
    other: Zoo  # RU: one enclosure never inspected
    calm: Zoo  # KP: nothing to worry about
    house: Enclosure
    pen: Enclosure
    smoker: Animal
    parrot: Animal
    quiet: Animal
    smoking: int  # the open incident about the smoker
    resolved: int  # a resolved incident about the quiet animal


@pytest.fixture
def scene(client: TestClient, session: Session) -> Scene:
    zoo = make_zoo(session, country_code="KP")
    other = make_zoo(session, country_code="RU")
    calm = make_zoo(session, country_code="KP")

    house = make_enclosure(
        session, zoo, name="Ape House", climate="controlled", last_inspected_on=TODAY
    )
    pen = make_enclosure(session, zoo, name="Pen", capacity=2, last_inspected_on=TODAY)
    smoker = make_animal(session, zoo, enclosure_id=house.id, name="Dallae")
    quiet = make_animal(session, zoo, enclosure_id=pen.id, name="Quiet")
    tropical = make_species(session, common_name="Parrot", climate_zones=["tropical"])
    parrot = make_animal(session, zoo, tropical, enclosure_id=pen.id, name="Polly")
    make_animal(session, zoo, enclosure_id=pen.id, status="deceased")
    make_enclosure(session, other, name="Shed", last_inspected_on=None)
    calm_pen = make_enclosure(session, calm, last_inspected_on=TODAY)
    make_animal(session, calm, enclosure_id=calm_pen.id)

    smoking = post_report(
        client,
        zoo.id,
        animal_id=smoker.id,
        category="human_interaction",
        severity=5,
        title="Dallae made to smoke for visitors",
    )["incident_id"]
    resolved = post_report(client, zoo.id, animal_id=quiet.id, category="health", severity=5)[
        "incident_id"
    ]
    walk(client, resolved, ["confirmed", "resolved"])
    # the pen holds quiet + parrot (+ a deceased animal): 2 of 2; one more makes it 3 of 2
    make_animal(session, zoo, enclosure_id=pen.id, name="Third")
    return Scene(zoo, other, calm, house, pen, smoker, parrot, quiet, smoking, resolved)


def get_list(client: TestClient, ref: Any, params: Any = None) -> dict[str, Any]:
    response = client.get(f"{API}/zoos/{ref}/concerns", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    for item in body["items"]:
        assert item["score"] == sum(f["severity"] for f in item["flags"])
        assert item["max_severity"] == max(f["severity"] for f in item["flags"])
    return body


def subjects(body: dict[str, Any]) -> list[tuple[str, int]]:
    return [(i["subject_type"], i["subject_id"]) for i in body["items"]]


def animal(a: Animal) -> tuple[str, int]:
    assert a.id is not None
    return ("animal", a.id)


def enclosure(e: Enclosure) -> tuple[str, int]:
    assert e.id is not None
    return ("enclosure", e.id)


# --- GET /zoos/{zoo}/concerns ----------------------------------------------------------------


def test_zoo_list_by_id_and_by_slug(anon_client: TestClient, scene: Scene) -> None:
    by_id = get_list(anon_client, scene.zoo.id)
    by_slug = get_list(anon_client, scene.zoo.slug)
    assert by_id == by_slug
    assert {k: by_id[k] for k in ("total", "limit", "offset")} == {
        "total": 3,
        "limit": 50,
        "offset": 0,
    }
    assert subjects(by_id) == [animal(scene.smoker), enclosure(scene.pen), animal(scene.parrot)]

    smoker, pen, parrot = by_id["items"]
    assert smoker["name"] == "Dallae"
    assert smoker["zoo_id"] == scene.zoo.id
    assert smoker["enclosure"] == {"id": scene.house.id, "name": "Ape House"}
    assert (smoker["score"], smoker["max_severity"]) == (10, 5)
    assert [f["rule"] for f in smoker["flags"]] == [
        "human_imposed_behaviour",
        "severe_open_incident",
    ]
    for flag in smoker["flags"]:
        assert flag["severity"] == 5
        assert flag["incident_ids"] == [scene.smoking]
        assert f"#{scene.smoking}" in flag["reason"]
        assert "Dallae made to smoke" in flag["reason"]
        assert flag["evidence"] == "reported"
        assert flag["reason"].endswith("(one report, not yet reviewed)")

    assert pen["name"] == "Pen"
    assert pen["species"] is None and pen["enclosure"] is None
    assert pen["flags"] == [
        {
            "rule": "overcrowded",
            "severity": 3,
            "reason": "3 individuals in an enclosure for 2",
            "incident_ids": [],
            "evidence": "confirmed",  # the registry's own records
            "zoo_replied_at": None,
        }
    ]
    assert parrot["species"]["common_name"] == "Parrot"
    assert [f["rule"] for f in parrot["flags"]] == ["climate_mismatch"]
    assert parrot["score"] == 2


def test_zoo_list_of_a_calm_zoo_is_empty(anon_client: TestClient, scene: Scene) -> None:
    body = get_list(anon_client, scene.calm.slug)
    assert body == {"items": [], "total": 0, "limit": 50, "offset": 0}


@pytest.mark.parametrize(
    ("min_severity", "expected"),
    [
        (1, ["smoker", "pen", "parrot"]),
        (3, ["smoker", "pen"]),
        (4, ["smoker"]),
        (5, ["smoker"]),
    ],
)
def test_zoo_list_min_severity(
    anon_client: TestClient, scene: Scene, min_severity: int, expected: list[str]
) -> None:
    body = get_list(anon_client, scene.zoo.id, {"min_severity": min_severity})
    names = {"smoker": animal(scene.smoker), "pen": enclosure(scene.pen)}
    names["parrot"] = animal(scene.parrot)
    assert subjects(body) == [names[n] for n in expected]
    assert body["total"] == len(expected)
    assert all(f["severity"] >= min_severity for i in body["items"] for f in i["flags"])


@pytest.mark.parametrize("min_severity", [0, 6, "high"])
def test_zoo_list_min_severity_out_of_range(
    anon_client: TestClient, scene: Scene, min_severity: Any
) -> None:
    response = anon_client.get(
        f"{API}/zoos/{scene.zoo.id}/concerns", params={"min_severity": min_severity}
    )
    assert_problem(response, 422)


def test_zoo_list_rule_filter_is_repeatable(anon_client: TestClient, scene: Scene) -> None:
    body = get_list(
        anon_client,
        scene.zoo.slug,
        [("rule", "overcrowded"), ("rule", "climate_mismatch")],
    )
    assert subjects(body) == [enclosure(scene.pen), animal(scene.parrot)]
    assert {f["rule"] for i in body["items"] for f in i["flags"]} == {
        "overcrowded",
        "climate_mismatch",
    }

    only = get_list(anon_client, scene.zoo.slug, {"rule": "severe_open_incident"})
    assert subjects(only) == [animal(scene.smoker)]
    (item,) = only["items"]
    assert [f["rule"] for f in item["flags"]] == ["severe_open_incident"]
    assert item["score"] == 5

    none = get_list(anon_client, scene.zoo.slug, {"rule": "undersized"})
    assert none["items"] == [] and none["total"] == 0


def test_zoo_list_unknown_rule_is_422(anon_client: TestClient, scene: Scene) -> None:
    response = anon_client.get(
        f"{API}/zoos/{scene.zoo.id}/concerns",
        params=[("rule", "overcrowded"), ("rule", "too_cute")],
    )
    body = assert_problem(response, 422)
    assert any("rule" in error["location"] for error in body["errors"])


def test_zoo_list_subject_type(anon_client: TestClient, scene: Scene) -> None:
    enclosures = get_list(anon_client, scene.zoo.id, {"subject_type": "enclosure"})
    assert subjects(enclosures) == [enclosure(scene.pen)]
    animals = get_list(anon_client, scene.zoo.id, {"subject_type": "animal"})
    assert subjects(animals) == [animal(scene.smoker), animal(scene.parrot)]
    both = get_list(anon_client, scene.zoo.id, {"subject_type": "animal", "min_severity": 3})
    assert subjects(both) == [animal(scene.smoker)]

    response = anon_client.get(
        f"{API}/zoos/{scene.zoo.id}/concerns", params={"subject_type": "keeper"}
    )
    assert_problem(response, 422)


def test_zoo_list_pagination(anon_client: TestClient, scene: Scene) -> None:
    everything = get_list(anon_client, scene.zoo.id)["items"]
    page = get_list(anon_client, scene.zoo.id, {"limit": 1, "offset": 1})
    assert page == {"items": everything[1:2], "total": 3, "limit": 1, "offset": 1}
    tail = get_list(anon_client, scene.zoo.id, {"limit": 2, "offset": 2})
    assert tail["items"] == everything[2:] and tail["total"] == 3
    beyond = get_list(anon_client, scene.zoo.id, {"offset": 10})
    assert beyond["items"] == [] and beyond["total"] == 3
    maximum = get_list(anon_client, scene.zoo.id, {"limit": 500})
    assert maximum["items"] == everything

    for params in ({"limit": 501}, {"limit": 0}, {"offset": -1}):
        response = anon_client.get(f"{API}/zoos/{scene.zoo.id}/concerns", params=params)
        assert_problem(response, 422)


@pytest.mark.parametrize("ref", ["no-such-zoo", "2147483000", "99999999999"])
def test_zoo_list_unknown_zoo_is_404(anon_client: TestClient, scene: Scene, ref: str) -> None:
    response = anon_client.get(f"{API}/zoos/{ref}/concerns")
    assert_problem(response, 404)
    as_csv = anon_client.get(f"{API}/zoos/{ref}/concerns", params={"format": "csv"})
    assert_problem(as_csv, 404)


# --- CSV -------------------------------------------------------------------------------------


def read_csv(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment")
    filename = disposition.split("filename=")[1].strip('"')
    assert filename.endswith(".csv")
    reader = csv.DictReader(io.StringIO(response.text))
    assert reader.fieldnames is not None
    for column in ("subject_type", "subject_id", "rule", "severity", "reason", "incident_ids"):
        assert column in reader.fieldnames
    return list(reader)


def flag_rows(body: dict[str, Any]) -> set[tuple[str, int, str, int, str, tuple[int, ...]]]:
    return {
        (
            item["subject_type"],
            item["subject_id"],
            flag["rule"],
            flag["severity"],
            flag["reason"],
            tuple(flag["incident_ids"]),
        )
        for item in body["items"]
        for flag in item["flags"]
    }


def csv_flag_rows(
    rows: list[dict[str, str]],
) -> set[tuple[str, int, str, int, str, tuple[int, ...]]]:
    return {
        (
            row["subject_type"],
            int(row["subject_id"]),
            row["rule"],
            int(row["severity"]),
            row["reason"],
            tuple(int(i) for i in row["incident_ids"].replace(",", " ").split()),
        )
        for row in rows
    }


@pytest.mark.parametrize("how", ["format", "accept"])
def test_zoo_list_as_csv_holds_the_same_flags(
    anon_client: TestClient, scene: Scene, how: str
) -> None:
    url = f"{API}/zoos/{scene.zoo.slug}/concerns"
    if how == "format":
        response = anon_client.get(url, params={"format": "csv"})
    else:
        response = anon_client.get(url, headers={"Accept": "text/csv"})
    rows = read_csv(response)
    assert scene.zoo.slug in response.headers["content-disposition"]

    body = get_list(anon_client, scene.zoo.slug)
    expected = flag_rows(body)
    assert len(rows) == len(expected) == 4  # one row per flag
    assert csv_flag_rows(rows) == expected
    # the rows follow the list's order
    order = list(dict.fromkeys((r["subject_type"], int(r["subject_id"])) for r in rows))
    assert order == subjects(body)
    smoking = [r for r in rows if r["rule"] == "human_imposed_behaviour"]
    assert len(smoking) == 1 and smoking[0]["incident_ids"].split() == [str(scene.smoking)]


def test_zoo_list_as_csv_honours_filters_and_paging(anon_client: TestClient, scene: Scene) -> None:
    url = f"{API}/zoos/{scene.zoo.id}/concerns"
    rows = read_csv(anon_client.get(url, params={"format": "csv", "subject_type": "enclosure"}))
    assert [(r["rule"], r["reason"]) for r in rows] == [
        ("overcrowded", "3 individuals in an enclosure for 2")
    ]
    page = read_csv(anon_client.get(url, params={"format": "csv", "limit": 1}))
    assert {r["subject_id"] for r in page} == {str(scene.smoker.id)}
    assert len(page) == 2


def test_zoo_list_as_csv_of_a_calm_zoo_has_only_a_header(
    anon_client: TestClient, scene: Scene
) -> None:
    response = anon_client.get(f"{API}/zoos/{scene.calm.id}/concerns", params={"format": "csv"})
    assert read_csv(response) == []
    assert response.text.strip() != ""


def test_zoo_list_format_json_wins_over_accept(anon_client: TestClient, scene: Scene) -> None:
    response = anon_client.get(
        f"{API}/zoos/{scene.zoo.id}/concerns",
        params={"format": "json"},
        headers={"Accept": "text/csv"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["total"] == 3
    bad = anon_client.get(f"{API}/zoos/{scene.zoo.id}/concerns", params={"format": "xml"})
    assert_problem(bad, 422)


def test_the_csv_operation_answers_the_same_rows_whatever_the_accept(
    anon_client: TestClient, scene: Scene
) -> None:
    url = f"{API}/zoos/{scene.zoo.slug}/concerns"
    expected = read_csv(anon_client.get(url, params={"format": "csv"}))
    for accept in (None, "application/json", "*/*"):
        headers = {"Accept": accept} if accept else {}
        response = anon_client.get(f"{url}.csv", headers=headers)
        assert read_csv(response) == expected
        assert scene.zoo.slug in response.headers["content-disposition"]
    filtered = read_csv(anon_client.get(f"{url}.csv", params={"subject_type": "enclosure"}))
    assert [r["rule"] for r in filtered] == ["overcrowded"]
    page = read_csv(anon_client.get(f"{url}.csv", params={"limit": 1}))
    assert {r["subject_id"] for r in page} == {str(scene.smoker.id)}
    # format is the other operation's parameter: refused here, like any unknown one.
    assert_problem(anon_client.get(f"{url}.csv", params={"format": "json"}), 422)
    assert_problem(anon_client.get(f"{API}/zoos/no-such-zoo/concerns.csv"), 404)


def test_the_csv_operation_keeps_the_etag_rules_and_the_json_list_apart(
    anon_client: TestClient, scene: Scene
) -> None:
    url = f"{API}/zoos/{scene.zoo.id}/concerns"
    first = anon_client.get(f"{url}.csv")
    tag = first.headers["etag"]
    again = anon_client.get(f"{url}.csv", headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.headers["etag"] == tag
    # The same raw query on /concerns is still the JSON list, and its own ETag, every time
    # (the fast path answers repeated /concerns requests; the CSV must not be among them).
    for _ in range(2):
        as_json = anon_client.get(url)
        assert as_json.headers["content-type"].startswith("application/json")
        assert as_json.json()["total"] == 3
        assert as_json.headers["etag"] != tag


# --- the list follows writes made through the API ----------------------------------------


def test_zoo_list_follows_writes_through_the_api(
    client: TestClient, session: Session, scene: Scene
) -> None:
    zoo = scene.zoo.id
    assert len(get_list(client, zoo)["items"]) == 3

    # a bigger pen: no longer overcrowded
    response = client.patch(f"{API}/enclosures/{scene.pen.id}", json={"capacity": 3})
    assert response.status_code == 200, response.text
    assert subjects(get_list(client, zoo)) == [animal(scene.smoker), animal(scene.parrot)]

    # the smoking incident dismissed: the smoker drops out
    walk(client, scene.smoking, ["dismissed"])
    assert subjects(get_list(client, zoo)) == [animal(scene.parrot)]

    # the parrot's species now lives in temperate climates too
    parrot_species = session.get(Species, scene.parrot.species_id)
    assert parrot_species is not None
    response = client.patch(
        f"{API}/species/{parrot_species.id}", json={"climate_zones": ["tropical", "temperate"]}
    )
    assert response.status_code == 200, response.text
    assert get_list(client, zoo)["items"] == []

    # a new report brings a new flag
    incident = post_report(client, zoo, enclosure_id=scene.pen.id, category="health", severity=4)
    body = get_list(client, zoo)
    assert subjects(body) == [enclosure(scene.pen)]
    assert body["items"][0]["flags"][0]["incident_ids"] == [incident["incident_id"]]


def test_zoo_list_follows_animal_status_and_gift_permits(
    client: TestClient, session: Session, scene: Scene
) -> None:
    listed = make_species(session, cites_appendix="I")
    gift = make_gift(session)
    traded = make_animal(
        session,
        scene.zoo,
        listed,
        enclosure_id=scene.house.id,
        origin="diplomatic_gift",
        gift_id=gift.id,
    )
    body = get_list(client, scene.zoo.id, {"rule": "undocumented_trade"})
    assert subjects(body) == [animal(traded)]

    response = client.patch(f"{API}/gifts/{gift.id}", json={"cites_permit_ref": "RU-1"})
    assert response.status_code == 200, response.text
    assert get_list(client, scene.zoo.id, {"rule": "undocumented_trade"})["items"] == []

    response = client.patch(f"{API}/animals/{scene.smoker.id}", json={"status": "deceased"})
    assert response.status_code == 200, response.text
    assert animal(scene.smoker) not in subjects(get_list(client, scene.zoo.id))


def test_a_new_zoo_never_gets_a_deleted_zoos_list(client: TestClient) -> None:
    def create_zoo(slug: str) -> int:
        response = client.post(
            f"{API}/zoos", json={"slug": slug, "name": slug.title(), "country_code": "KP"}
        )
        assert response.status_code == 201, response.text
        return response.json()["id"]

    def create_enclosure(zoo_id: int, name: str, inspected: str | None) -> int:
        response = client.post(
            f"{API}/enclosures",
            json={
                "zoo_id": zoo_id,
                "name": name,
                "kind": "outdoor",
                "area_m2": 100,
                "capacity": 5,
                "climate": "temperate",
                "last_inspected_on": inspected,
            },
        )
        assert response.status_code == 201, response.text
        return response.json()["id"]

    old = create_zoo("short-lived-zoo")
    old_pen = create_enclosure(old, "Old Pen", None)
    assert subjects(get_list(client, old)) == [("enclosure", old_pen)]
    assert client.delete(f"{API}/enclosures/{old_pen}").status_code == 204
    assert client.delete(f"{API}/zoos/{old}").status_code == 204

    new = create_zoo("new-zoo")
    create_enclosure(new, "New Pen", TODAY.isoformat())
    assert get_list(client, new)["items"] == []


# --- GET /concerns ---------------------------------------------------------------------------


def ranked(client: TestClient, params: Any = None) -> dict[str, Any]:
    response = client.get(f"{API}/concerns", params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    scores = [(i["total_score"], i["max_severity"]) for i in body["items"]]
    assert scores == sorted(scores, reverse=True)
    return body


def test_ranking_orders_zoos_and_counts_correctly(anon_client: TestClient, scene: Scene) -> None:
    body = ranked(anon_client, {"limit": 500})
    by_id = {i["zoo"]["id"]: i for i in body["items"]}
    assert body["total"] == len(body["items"])
    order = [i["zoo"]["id"] for i in body["items"]]
    assert order.index(scene.zoo.id) < order.index(scene.other.id)
    if scene.calm.id in by_id:  # a zoo with no flags, if listed at all, comes last
        assert order.index(scene.calm.id) > order.index(scene.other.id)
        assert by_id[scene.calm.id]["total_score"] == 0

    assert by_id[scene.zoo.id].pop("evaluated_at") is not None
    assert by_id[scene.zoo.id] == {
        "zoo": {
            "id": scene.zoo.id,
            "slug": scene.zoo.slug,
            "name": scene.zoo.name,
            "country_code": "KP",
        },
        "flagged_animals": 2,  # the smoker and the parrot
        "flagged_enclosures": 1,  # the pen
        "total_score": 15,  # 5 + 5 + 3 + 2
        "max_severity": 5,
        "open_incidents": 1,  # the resolved one does not count
    }
    other = by_id[scene.other.id]
    assert (
        other["flagged_animals"],
        other["flagged_enclosures"],
        other["total_score"],
        other["max_severity"],
        other["open_incidents"],
    ) == (0, 1, 2, 2, 0)


def test_ranking_matches_the_zoo_lists(anon_client: TestClient, scene: Scene) -> None:
    by_id = {i["zoo"]["id"]: i for i in ranked(anon_client, {"limit": 500})["items"]}
    for zoo in (scene.zoo, scene.other):
        items = get_list(anon_client, zoo.id, {"limit": 500})["items"]
        summary = by_id[zoo.id]
        assert summary["total_score"] == sum(i["score"] for i in items)
        assert summary["max_severity"] == max(i["max_severity"] for i in items)
        assert summary["flagged_animals"] == sum(i["subject_type"] == "animal" for i in items)
        assert summary["flagged_enclosures"] == sum(i["subject_type"] == "enclosure" for i in items)


def test_ranking_a_higher_total_score_comes_first(
    anon_client: TestClient, session: Session, scene: Scene
) -> None:
    # overtake the scene's zoo (15) by one: three enclosures never inspected (2 each) and
    # two open severe incidents about them (5 each)
    rival = make_zoo(session, country_code="KP")
    sheds = [make_enclosure(session, rival, last_inspected_on=None) for _ in range(3)]
    for shed in sheds[:2]:
        add_open_incident(session, rival, shed, severity=5)
    order = [i["zoo"]["id"] for i in ranked(anon_client, {"limit": 500})["items"]]
    assert order.index(rival.id) < order.index(scene.zoo.id) < order.index(scene.other.id)


def add_open_incident(session: Session, zoo: Zoo, shed: Enclosure, severity: int) -> int:
    """An open incident about an enclosure, inserted directly (before the first list read)."""
    observed = datetime.now(UTC) - timedelta(days=1)
    incident = WelfareIncident(
        zoo_id=zoo.id,
        enclosure_id=shed.id,
        category="environment",
        severity=severity,
        status="reported",
        title="Roof collapsed",
        first_observed_at=observed,
        last_observed_at=observed,
        report_count=1,
    )
    session.add(incident)
    session.commit()
    assert incident.id is not None
    return incident.id


@pytest.mark.parametrize("code", ["RU", "ru"])
def test_ranking_country_filter(anon_client: TestClient, scene: Scene, code: str) -> None:
    body = ranked(anon_client, {"country_code": code, "limit": 500})
    ids = [i["zoo"]["id"] for i in body["items"]]
    assert scene.other.id in ids
    assert scene.zoo.id not in ids
    assert all(i["zoo"]["country_code"] == "RU" for i in body["items"])
    assert body["total"] == len(ids)

    kp = ranked(anon_client, {"country_code": "KP", "limit": 500})
    assert scene.zoo.id in [i["zoo"]["id"] for i in kp["items"]]
    assert_problem(anon_client.get(f"{API}/concerns", params={"country_code": "KPX"}), 422)


def test_ranking_pagination(anon_client: TestClient, scene: Scene) -> None:
    everything = ranked(anon_client, {"limit": 500})
    first = ranked(anon_client, {"limit": 1})
    assert first["items"] == everything["items"][:1]
    assert (first["total"], first["limit"], first["offset"]) == (everything["total"], 1, 0)
    second = ranked(anon_client, {"limit": 1, "offset": 1})
    assert second["items"] == everything["items"][1:2]
    assert_problem(anon_client.get(f"{API}/concerns", params={"limit": 501}), 422)


# --- GET /animals/{id}/concerns --------------------------------------------------------------


def test_animal_concerns_of_a_flagged_animal(anon_client: TestClient, scene: Scene) -> None:
    response = anon_client.get(f"{API}/animals/{scene.smoker.id}/concerns")
    assert response.status_code == 200, response.text
    item = response.json()
    assert item["subject_type"] == "animal"
    assert item["subject_id"] == scene.smoker.id
    assert item["name"] == "Dallae"
    assert (item["score"], item["max_severity"]) == (10, 5)
    assert {f["rule"] for f in item["flags"]} == {
        "human_imposed_behaviour",
        "severe_open_incident",
    }
    assert all(f["incident_ids"] == [scene.smoking] for f in item["flags"])
    # the same as its entry in the zoo's list
    listed = get_list(anon_client, scene.zoo.id)["items"][0]
    assert item == listed


def test_animal_concerns_of_an_unflagged_animal(anon_client: TestClient, scene: Scene) -> None:
    response = anon_client.get(f"{API}/animals/{scene.quiet.id}/concerns")
    assert response.status_code == 200, response.text
    item = response.json()
    assert item["subject_id"] == scene.quiet.id
    assert item["name"] == "Quiet"
    assert item["score"] == 0
    assert item["max_severity"] == 0
    assert item["flags"] == []
    assert item["enclosure"] == {"id": scene.pen.id, "name": "Pen"}


def test_animal_concerns_leave_out_enclosure_flags(anon_client: TestClient, scene: Scene) -> None:
    response = anon_client.get(f"{API}/animals/{scene.parrot.id}/concerns")
    assert response.status_code == 200, response.text
    assert [f["rule"] for f in response.json()["flags"]] == ["climate_mismatch"]


@pytest.mark.parametrize("animal_id", ["2147483000", "0", "abc"])
def test_animal_concerns_of_an_unknown_animal(
    anon_client: TestClient, scene: Scene, animal_id: str
) -> None:
    response = anon_client.get(f"{API}/animals/{animal_id}/concerns")
    assert_problem(response, 404 if animal_id == "2147483000" else 422)


# --- GET /concern-rules ----------------------------------------------------------------------


def rules_by_pair(client: TestClient) -> dict[tuple[str, str], dict[str, Any]]:
    response = client.get(f"{API}/concern-rules")
    assert response.status_code == 200, response.text
    rules = response.json()
    pairs = {(r["id"], r["subject"]): r for r in rules}
    assert len(pairs) == len(rules)
    return pairs


def test_concern_rules_lists_every_rule(anon_client: TestClient, settings: Settings) -> None:
    rules = rules_by_pair(anon_client)
    assert set(rules) == RULE_PAIRS
    for rule in rules.values():
        assert rule["description"].strip()
        assert isinstance(rule["thresholds"], dict)
    assert settings.concern_severe_min_severity == 4
    for subject in ("animal", "enclosure"):
        assert rules[("severe_open_incident", subject)]["thresholds"]["min_severity"] == 4
    repeated = rules[("repeated_incidents", "animal")]["thresholds"]
    assert repeated["min_count"] == settings.concern_repeated_min_count == 3
    assert repeated["window_days"] == settings.concern_repeated_window_days == 365
    overdue = rules[("inspection_overdue", "enclosure")]["thresholds"]
    assert overdue["max_age_days"] == settings.concern_inspection_max_age_days == 365
    human = rules[("human_imposed_behaviour", "animal")]["thresholds"]
    assert human["min_flag_severity"] == settings.concern_human_interaction_min_flag == 4
    crowded = rules[("overcrowded", "enclosure")]["thresholds"]
    assert crowded["severe_ratio"] == settings.concern_overcrowded_severe_ratio == 1.5


@pytest.fixture
def strict_client(settings: Settings, session: Session) -> Iterator[TestClient]:
    """A client for an app whose thresholds differ from the defaults."""
    strict = settings.model_copy(
        update={
            "concern_severe_min_severity": 3,
            "concern_repeated_min_count": 5,
            "concern_repeated_window_days": 30,
            "concern_inspection_max_age_days": 30,
            "concern_human_interaction_min_flag": 2,
        }
    )
    app = create_app(strict)
    share_session(app, session)
    with TestClient(app) as client:
        yield client
    app.state.engine.dispose()
    app.state.write_engine.dispose()


def test_concern_rules_thresholds_come_from_settings(strict_client: TestClient) -> None:
    rules = rules_by_pair(strict_client)
    assert rules[("severe_open_incident", "animal")]["thresholds"]["min_severity"] == 3
    assert rules[("severe_open_incident", "enclosure")]["thresholds"]["min_severity"] == 3
    repeated = rules[("repeated_incidents", "animal")]["thresholds"]
    assert (repeated["min_count"], repeated["window_days"]) == (5, 30)
    assert rules[("inspection_overdue", "enclosure")]["thresholds"]["max_age_days"] == 30
    human = rules[("human_imposed_behaviour", "animal")]["thresholds"]
    assert human["min_flag_severity"] == 2


def test_the_lists_apply_the_settings_thresholds(
    strict_client: TestClient, anon_client: TestClient, session: Session
) -> None:
    zoo = make_zoo(session)
    yard = make_enclosure(session, zoo, last_inspected_on=TODAY - timedelta(days=40))
    add_open_incident(session, zoo, yard, severity=3)

    default = get_list(anon_client, zoo.id)
    assert default["items"] == []
    strict = get_list(strict_client, zoo.id)
    (item,) = strict["items"]
    assert {f["rule"] for f in item["flags"]} == {"severe_open_incident", "inspection_overdue"}
    overdue = next(f for f in item["flags"] if f["rule"] == "inspection_overdue")
    assert "more than 30 days ago" in overdue["reason"]


# --- the seeded registry ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def seeded_client() -> Iterator[TestClient]:
    url = create_database("concerns-seed")
    try:
        migrations.upgrade(url)
        engine = make_engine(Settings(database_url=url))
        try:
            load_seed(engine)
        finally:
            engine.dispose()
        app = create_app(Settings(database_url=url))
        try:
            with TestClient(app) as client:
                yield client
        finally:
            app.state.engine.dispose()
            app.state.write_engine.dispose()
    finally:
        drop_database(url)


def test_seeded_korea_central_zoo_list(seeded_client: TestClient) -> None:
    client = seeded_client
    zoo = client.get(f"{API}/zoos/korea-central-zoo").json()
    body = get_list(client, "korea-central-zoo", {"limit": 500})
    items = body["items"]
    assert body["total"] == len(items)

    # Dallae comes first, for the smoking incident
    dallae = items[0]
    assert dallae["subject_type"] == "animal" and dallae["name"] == "Dallae"
    incidents = client.get(f"{API}/incidents", params={"animal_id": dallae["subject_id"]}).json()[
        "items"
    ]
    assert len(incidents) == 1
    smoking = incidents[0]["id"]
    flags = {f["rule"]: f for f in dallae["flags"]}
    for rule in ("human_imposed_behaviour", "confirmed_incident", "severe_open_incident"):
        assert flags[rule]["incident_ids"] == [smoking], rule
        assert f"#{smoking}" in flags[rule]["reason"]
        assert "Dallae" in flags[rule]["reason"] or "smoke" in flags[rule]["reason"]
        assert flags[rule]["severity"] == 5

    # the November 2024 gift: its CITES-listed animals arrived with no permit on record
    gifts = client.get(f"{API}/gifts", params={"q": "November 2024"}).json()["items"]
    assert len(gifts) == 1
    brought = client.get(f"{API}/gifts/{gifts[0]['id']}/animals", params={"limit": 500})
    by_subject = {(i["subject_type"], i["subject_id"]): i for i in items}
    trade_flagged = set()
    for gifted in brought.json()["items"]:
        species = client.get(f"{API}/species/{gifted['species_id']}").json()
        item = by_subject.get(("animal", gifted["id"]))
        rules = {f["rule"] for f in item["flags"]} if item else set()
        if species["cites_appendix"]:
            assert "undocumented_trade" in rules, species["common_name"]
            trade_flagged.add(species["common_name"])
        else:
            assert "undocumented_trade" not in rules, species["common_name"]
    assert trade_flagged == {"African lion", "Brown bear", "White cockatoo"}

    enclosures = {i["name"]: i for i in items if i["subject_type"] == "enclosure"}
    pond = {f["rule"]: f for f in enclosures["Duck Pond"]["flags"]}
    assert pond["overcrowded"]["reason"] == "40 individuals in an enclosure for 30"
    bears = {f["rule"]: f for f in enclosures["Bear Enclosure"]["flags"]}
    assert bears["undersized"]["reason"] == (
        "250 m\u00b2 for animals that need 300 m\u00b2 between them"
    )
    assert all(i["zoo_id"] == zoo["id"] for i in items)


def test_seeded_ranking_puts_korea_central_zoo_first(seeded_client: TestClient) -> None:
    body = ranked(seeded_client)
    assert body["items"][0]["zoo"]["slug"] == "korea-central-zoo"
    assert body["items"][0]["open_incidents"] == 1
    # Every zoo is ranked, those with no flags last with a score of 0.
    moscow = next(i for i in body["items"] if i["zoo"]["slug"] == "moscow-zoo")
    assert moscow["total_score"] == 0 and body["items"][-1]["total_score"] == 0
