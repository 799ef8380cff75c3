"""Finding 7: a time whose offset puts it outside years 1-9999 in UTC overflowed in the UTC
conversion (a 500). Every datetime a request gives is converted to UTC when validated, and one
that cannot be is a 422."""

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlmodel import Session

from app.models.base import InputSchema, UTCInput, in_utc
from tests.api.test_errors import assert_problem
from tests.api.test_reports import REPORTS, report_body
from tests.factories import make_zoo

API = "/api/v1"
LATEST = "9999-12-31T23:59:59-14:00"  # 10000-01-01T13:59:59Z
EARLIEST = "0001-01-01T00:00:00+14:00"  # 0000-12-31T10:00:00Z


def test_observed_since_beyond_year_9999_in_utc_is_422(anon_client: TestClient) -> None:
    response = anon_client.get(f"{API}/incidents", params={"observed_since": LATEST})
    assert_problem(response, 422, ["query", "observed_since"])


def test_observed_until_before_year_1_in_utc_is_422(anon_client: TestClient) -> None:
    response = anon_client.get(f"{API}/incidents", params={"observed_until": EARLIEST})
    assert_problem(response, 422, ["query", "observed_until"])


def test_the_extremes_that_fit_in_utc_are_answered(anon_client: TestClient) -> None:
    params = {"observed_since": "0001-01-01T00:00:00Z", "observed_until": "9999-12-31T23:59:59Z"}
    assert anon_client.get(f"{API}/incidents", params=params).status_code == 200


def test_report_observed_before_year_1_in_utc_is_422(client: TestClient, session: Session) -> None:
    zoo = make_zoo(session)
    response = client.post(REPORTS, json=report_body(zoo.id, observed_at=EARLIEST))
    body = assert_problem(response, 422, ["body", "observed_at"])
    assert "UTC" in body["errors"][0]["message"]


def test_report_observed_at_is_stored_in_utc(client: TestClient, session: Session) -> None:
    zoo = make_zoo(session)
    response = client.post(
        REPORTS, json=report_body(zoo.id, observed_at="0001-01-01T10:00:00+09:00")
    )
    assert response.status_code == 201, response.text
    assert response.json()["observed_at"].startswith("0001-01-01T01:00:00")


class _Window(InputSchema):
    starts_at: datetime
    ends_at: UTCInput | None = None


@pytest.mark.parametrize("field", ["starts_at", "ends_at"])
def test_every_body_datetime_is_refused_when_not_representable_in_utc(field: str) -> None:
    body = {"starts_at": "2020-01-01T00:00:00Z", field: LATEST}
    with pytest.raises(ValidationError) as caught:
        _Window.model_validate(body)
    assert [e["loc"] for e in caught.value.errors()] == [(field,)]


def test_body_datetimes_come_out_in_utc() -> None:
    window = _Window.model_validate({"starts_at": "2020-01-01T09:00:00+09:00"})
    assert window.starts_at == datetime(2020, 1, 1, tzinfo=UTC)
    assert window.starts_at.utcoffset().total_seconds() == 0  # type: ignore[union-attr]


def test_in_utc() -> None:
    assert in_utc(None) is None
    naive = datetime(2020, 1, 1)
    assert in_utc(naive) is naive
    with pytest.raises(ValueError, match="UTC"):
        in_utc(datetime.fromisoformat(EARLIEST))


def test_dates_have_no_zone_and_the_extremes_are_answered(anon_client: TestClient) -> None:
    params = {"delivered_from": "0001-01-01", "delivered_until": "9999-12-31"}
    assert anon_client.get(f"{API}/gifts", params=params).status_code == 200
