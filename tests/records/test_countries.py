"""Countries: every ISO code, current and former, as migration 0017 wrote them, with since
when each is a Party to CITES and the source that says so; admins record the rest."""

from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session

from app.models.api_key import Role
from tests.api.test_errors import assert_problem
from tests.api.test_reports import bearer
from tests.factories import make_key, make_zoo

API = "/api/v1/countries"
SOURCE = "https://cites.org/eng/disc/parties/chronolo.php"


def listed(client: TestClient, **params: Any) -> dict[str, Any]:
    response = client.get(API, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def codes(page: dict[str, Any]) -> list[str]:
    return [c["code"] for c in page["items"]]


def test_every_country_by_code(anon_client: TestClient) -> None:
    first = listed(anon_client, limit=500)
    assert first["total"] > 249  # every current country, and the former codes
    assert codes(first) == sorted(codes(first))
    assert {"KP", "RU", "SU", "YU", "DD"} <= set(codes(first))
    page = listed(anon_client, limit=2, offset=1)
    assert codes(page) == codes(first)[1:3] and page["total"] == first["total"]


def test_the_russian_federation_a_party_since_1976(anon_client: TestClient) -> None:
    ru = anon_client.get(f"{API}/RU").json()
    assert ru["name"] == "Russian Federation"
    assert ru["cites_party_since"] == "1976-12-08"
    assert ru["source_url"] == SOURCE and ru["former"] is False


def test_the_dprk_is_not_a_party(anon_client: TestClient) -> None:
    kp = anon_client.get(f"{API}/KP").json()
    assert kp["name"] == "Korea, Democratic People's Republic of"
    assert kp["cites_party_since"] is None
    assert kp["source_url"] == SOURCE  # a source says so: not merely not recorded


def test_the_ussr_is_a_former_code(anon_client: TestClient) -> None:
    su = anon_client.get(f"{API}/su").json()  # either case
    assert su["code"] == "SU" and su["former"] is True
    assert su["cites_party_since"] == "1976-12-08"
    current = {c["code"] for c in listed(anon_client, former=False, limit=500)["items"]}
    former = {c["code"] for c in listed(anon_client, former=True, limit=500)["items"]}
    assert "SU" in former and "RU" in current and not current & former
    # A former code assigned again today is the current country's only.
    assert "BY" in current and "BY" not in former


def test_filters(anon_client: TestClient) -> None:
    parties = listed(anon_client, party=True, limit=500)["items"]
    assert {"RU", "SU", "US", "CH", "GB", "CN", "JP"} <= {c["code"] for c in parties}
    assert all(c["cites_party_since"] for c in parties)
    # Not a Party: a source says so. A country not recorded (France, here) matches neither.
    assert codes(listed(anon_client, party=False, limit=500)) == ["KP"]
    fr = anon_client.get(f"{API}/FR").json()
    assert fr["cites_party_since"] is None and fr["source_url"] is None
    assert "FR" not in {c["code"] for c in parties}

    assert "KP" in codes(listed(anon_client, q="korea"))  # part of the name, any case
    assert "KR" in codes(listed(anon_client, q="KOREA"))
    assert codes(listed(anon_client, q="ru", party=True)) == ["RU"]  # the code; Peru is no party
    assert codes(listed(anon_client, q="soviet", former=True)) == ["SU"]
    assert listed(anon_client, q="atlantis")["items"] == []


def test_an_admin_records_a_membership(client: TestClient) -> None:
    # Test values, not France's record.
    body = {"cites_party_since": "1990-01-01", "source_url": "https://cites.org/eng/"}
    patched = client.patch(f"{API}/fr", json=body)
    assert patched.status_code == 200, patched.text
    shown = client.get(f"{API}/FR").json()
    assert shown == patched.json()
    assert (shown["cites_party_since"], shown["source_url"]) == (
        body["cites_party_since"],
        body["source_url"],
    )
    assert "FR" in codes(listed(client, party=True, limit=500))
    # Null: not a Party, as the source (kept) says.
    cleared = client.patch(f"{API}/FR", json={"cites_party_since": None})
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["cites_party_since"] is None
    assert cleared.json()["source_url"] == body["source_url"]
    assert "FR" in codes(listed(client, party=False))


def test_only_an_admin_records_one(anon_client: TestClient, session: Session) -> None:
    body = {"cites_party_since": None}
    assert_problem(anon_client.patch(f"{API}/RU", json=body), 401)
    for role in (Role.reporter, Role.inspector):
        headers = bearer(make_key(session, role))
        assert_problem(anon_client.patch(f"{API}/RU", json=body, headers=headers), 403)
    # A scoped admin acts for its zoos only; a country belongs to none.
    scoped = bearer(make_key(session, Role.admin, zoos=[make_zoo(session).slug]))
    assert_problem(anon_client.patch(f"{API}/RU", json=body, headers=scoped), 403)
    assert anon_client.get(f"{API}/RU").json()["cites_party_since"] == "1976-12-08"


def test_unknown_codes_are_404(client: TestClient) -> None:
    for path in (f"{API}/XX", f"{API}/zz"):
        assert_problem(client.get(path), 404)
        assert_problem(client.patch(path, json={"cites_party_since": None}), 404)
    for bad in ("RUS", "R1", "R"):
        assert_problem(client.get(f"{API}/{bad}"), 422)


def test_bad_dates_and_sources_are_422(client: TestClient) -> None:
    for body, field in (
        ({"cites_party_since": "1976-13-01"}, "cites_party_since"),
        ({"cites_party_since": "1974-12-31"}, "cites_party_since"),  # before the Convention
        ({"cites_party_since": "2999-01-01"}, "cites_party_since"),  # in the future
        ({"cites_party_since": 1976}, "cites_party_since"),
        ({"source_url": "ftp://cites.org/"}, "source_url"),
        ({"name": "Russia"}, "name"),  # names are ISO's, not the API's
    ):
        assert_problem(client.patch(f"{API}/RU", json=body), 422, ["body", field])
    assert client.get(f"{API}/RU").json()["cites_party_since"] == "1976-12-08"
    assert_problem(client.get(API, params={"party": "maybe"}), 422)
