"""`q` is answered from an index on both databases (SQLite: FTS5 trigram tables kept by
triggers; PostgreSQL: pg_trgm), and the index follows every write."""

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from app.models import Animal
from app.services.search import text_search
from tests.factories import make_animal, make_zoo

API = "/api/v1"


def ids(client: TestClient, path: str, params: Any) -> list[int]:
    response = client.get(f"{API}/{path}", params=params)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def test_the_index_follows_renames_and_deletes(
    client: TestClient, anon_client: TestClient, session: Session
) -> None:
    zoo = make_zoo(session)
    animal = make_animal(session, zoo, name="Wojtek")
    query = {"zoo_id": zoo.id}
    assert ids(anon_client, "animals", query | {"q": "wojt"}) == [animal.id]
    renamed = client.patch(f"{API}/animals/{animal.id}", json={"name": "Misha"})
    assert renamed.status_code == 200, renamed.text
    assert ids(anon_client, "animals", query | {"q": "wojt"}) == []
    assert ids(anon_client, "animals", query | {"q": "MISH"}) == [animal.id]
    assert client.delete(f"{API}/animals/{animal.id}").status_code == 204
    assert ids(anon_client, "animals", query | {"q": "misha"}) == []


# FTS5 query syntax in q is text to find, not syntax; "wo" is too short to index and scans.
@pytest.mark.parametrize(
    ("q", "found"),
    [('"', 0), ('a"b', 0), ('"wo"', 0), ("{name}", 0), ("NEAR(a b)", 0), ("a*", 0), ("wo", 1)],
)
def test_query_syntax_in_q_is_literal_text(
    anon_client: TestClient, session: Session, q: str, found: int
) -> None:
    zoo = make_zoo(session)
    make_animal(session, zoo, name="Wojtek")
    assert len(ids(anon_client, "animals", {"zoo_id": zoo.id, "q": q})) == found


def test_quoted_text_is_found_as_written(anon_client: TestClient, session: Session) -> None:
    zoo = make_zoo(session)
    quoted = make_animal(session, zoo, name='"Big" Ted')
    make_animal(session, zoo, name="Big Ted")
    assert ids(anon_client, "animals", {"zoo_id": zoo.id, "q": '"big"'}) == [quoted.id]


def compiled(dialect: Any, q: str) -> str:
    return str(select(Animal.id).where(text_search(Animal, q, "name")).compile(dialect=dialect))


def test_sqlite_asks_the_fulltext_table_and_postgresql_the_trigram_index() -> None:
    assert "animal_fts MATCH" in compiled(sqlite.dialect(), "wojtek")
    assert "LIKE" not in compiled(sqlite.dialect(), "wojtek")
    assert "LIKE" in compiled(sqlite.dialect(), "wo")  # shorter than a trigram: a scan
    assert "lower(animal.name) LIKE" in compiled(postgresql.dialect(), "wojtek")


def test_the_database_plans_an_index_lookup(session: Session) -> None:
    statement = select(Animal.id).where(text_search(Animal, "wojtek", "name"))
    sql = str(statement.compile(session.get_bind(), compile_kwargs={"literal_binds": True}))
    if session.get_bind().dialect.name == "sqlite":
        plan = " ".join(str(r[-1]) for r in session.execute(text(f"EXPLAIN QUERY PLAN {sql}")))
        assert "VIRTUAL TABLE INDEX" in plan and "animal_fts" in plan, plan
    else:
        session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = " ".join(r[0] for r in session.execute(text(f"EXPLAIN {sql}")))
        assert "ix_animal_name_trgm" in plan, plan
