from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.factories import make_zoo


def test_get_zoo_by_slug_and_id(client: TestClient, session: Session) -> None:
    zoo = make_zoo(session, slug="korea-central-zoo", name="Korea Central Zoo")
    by_slug = client.get("/api/v1/zoos/korea-central-zoo")
    by_id = client.get(f"/api/v1/zoos/{zoo.id}")
    assert by_slug.status_code == by_id.status_code == 200
    assert by_slug.json() == by_id.json()
