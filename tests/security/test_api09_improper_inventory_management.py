"""OWASP API9:2023 Improper Inventory Management.

The inventory of what the service exposes: every served operation is documented, and the
benchmark routes exist only when asked for.
"""

from typing import Any

import fastapi.routing
from fastapi import FastAPI
from fastapi.testclient import TestClient


def _served_paths(app: FastAPI) -> set[tuple[str, str]]:
    iter_contexts = getattr(fastapi.routing, "iter_route_contexts", None)
    routes: Any = iter_contexts(app.routes) if iter_contexts is not None else app.routes
    found = set()
    for route in routes:
        if getattr(route, "include_in_schema", False):
            for method in getattr(route, "methods", ()):
                found.add((method.lower(), route.path))
    return found


def test_every_served_operation_is_documented(app: FastAPI) -> None:
    documented = {
        (method, path) for path, item in app.openapi()["paths"].items() for method in item
    }
    assert _served_paths(app) == documented


def test_benchmark_routes_are_off_unless_asked_for(anon_client: TestClient) -> None:
    assert anon_client.get("/bench/noop").status_code == 404
