"""The concern-list cache counts what it really holds, and junk query parameters make no
entries: before the fix, each new junk parameter was cached under the raw query string but
counted as 256 bytes (1,000 requests with 60 KB query strings grew the process by 58 MB while
the cache counted 0.26 MB)."""

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.factories import make_zoo


def test_unknown_query_parameters_are_refused_and_cache_nothing(
    app: FastAPI, anon_client: TestClient, session: Session
) -> None:
    zoo = make_zoo(session)
    cache = app.state.concern_cache
    before = cache.size
    for n in range(20):
        response = anon_client.get(f"/api/v1/zoos/{zoo.slug}/concerns?junk{n}={'x' * 2000}")
        assert response.status_code == 422
        assert response.json()["errors"][0]["location"] == ["query", f"junk{n}"]
    assert cache.size == before


def test_every_entry_counts_its_key_and_body(
    app: FastAPI, anon_client: TestClient, session: Session
) -> None:
    zoo = make_zoo(session)
    cache = app.state.concern_cache
    before = cache.size
    accepts = [f"application/json;q=0.{n}, " + "x" * 900 for n in range(1, 30)]
    for accept in accepts:
        response = anon_client.get(f"/api/v1/zoos/{zoo.slug}/concerns", headers={"Accept": accept})
        assert response.status_code == 200
    # One rendered body shared by every alias, each alias keyed by its raw Accept header.
    assert cache.size - before >= sum(len(a) for a in accepts)
    # And repeats are answered from the cache without growing it.
    grown = cache.size
    for accept in accepts[:5]:
        assert (
            anon_client.get(
                f"/api/v1/zoos/{zoo.slug}/concerns", headers={"Accept": accept}
            ).status_code
            == 200
        )
    assert cache.size == grown


def test_the_cache_stays_within_its_budget(
    app: FastAPI, anon_client: TestClient, session: Session
) -> None:
    zoo = make_zoo(session)
    cache = app.state.concern_cache
    cache.max_bytes = 20_000
    for n in range(60):
        accept = f"application/json;q=0.{n % 9 + 1}, " + "y" * (500 + n)
        anon_client.get(f"/api/v1/zoos/{zoo.slug}/concerns", headers={"Accept": accept})
        assert cache.size <= cache.max_bytes
