"""Post-processing of the OpenAPI document: the text rules every input obeys, made explicit.

Request bodies refuse NUL and other control characters (tab, newline and carriage return are
allowed in body text) and bidirectional override and isolate controls; a body's names and
titles must also show something (app/core/text.py). The URL refuses every control character.
Each string in a request body or a path or query parameter that has no pattern, format or
enum of its own gets the matching pattern.

Operation ids are each route's `name=` (`operation_id`), short and stable, so generated
clients get readable names (`api.zoos.zoos_list`) instead of FastAPI's default
`list_zoos_api_v1_zoos_get`, which changes whenever a path or a function is renamed.
"""

import re
from collections.abc import Iterator
from typing import Any

from fastapi.routing import APIRoute

from app.core.text import BODY_TEXT_PATTERN, DISPLAY_TEXT_PATTERN, is_display_field

URL_TEXT_PATTERN = r"^[^\u0000-\u001f\u007f]*$"
METHODS = ("get", "put", "post", "patch", "delete")
# A schema marked `NAMED_SCHEMA: "Name"` becomes components.schemas.Name (name_shared_schemas).
NAMED_SCHEMA = "x-zwr-component"
OPERATION_ID = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")


def operation_id(route: APIRoute) -> str:
    """The app's `generate_unique_id_function`: a route's operation id is its `name=`, which
    must be snake_case (tests/test_openapi_contract.py keeps the ids unique and listed)."""
    if not OPERATION_ID.fullmatch(route.name):
        raise ValueError(f"route {route.path}: name {route.name!r} is not a snake_case id")
    return route.name


def _constrain(schema: dict[str, Any], pattern: str, display: str | None = None) -> None:
    """Gives strings `pattern`; with `display`, a body's names and titles get that one."""
    if (
        schema.get("type") == "string"
        and not {"pattern", "format", "enum", "const"} & schema.keys()
    ):
        schema["pattern"] = pattern
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in schema.get(key, []):
            _constrain(sub, pattern, display)
    if isinstance(schema.get("items"), dict):
        _constrain(schema["items"], pattern, display)
    for name, sub in schema.get("properties", {}).items():
        named = display if display is not None and is_display_field(name) else pattern
        _constrain(sub, named, display)


LICENSE = {"name": "MIT", "identifier": "MIT"}
# Relative to where the document is served from, so it works behind any host or proxy.
SERVERS = [{"url": "/", "description": "The server this document is served from."}]
API_PREFIX = "/api/"
API_KEY = "ApiKey"


def finish_document(document: dict[str, Any]) -> None:
    """What the app adds to FastAPI's document (app/main.py)."""
    document["info"]["license"] = LICENSE
    document["servers"] = SERVERS
    document_security(document)
    document_rate_limits(document)
    name_shared_schemas(document)
    document_text_rules(document)


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, item in document.get("paths", {}).items():
        for method in METHODS:
            if method in item:
                yield path, item[method]


def document_security(document: dict[str, Any]) -> None:
    """Every operation states its security. A route that needs a key has FastAPI's
    `[{"ApiKey": []}]`; every other API operation takes a key if one is sent (a bad one is a
    401, GuardedRoute): `[{}, {"ApiKey": []}]`, the empty requirement first (anonymous is the
    usual case). A requirement a route marks optional with `{}` gets it first too; the rest
    (health checks) need nothing: `[]`."""
    for path, operation in _operations(document):
        security = operation.get("security", [])
        required = [r for r in security if r]
        if security and {} not in security:
            continue  # a key is required
        if not required and path.startswith(API_PREFIX):
            required = [{API_KEY: []}]
        operation["security"] = [{}, *required] if required else []


RATE_LIMIT_HEADERS = {
    "RateLimit-Limit": "Requests the budget allows per window: writes per key, or anonymous "
    "reads per client address.",
    "RateLimit-Remaining": "Requests left in the current window.",
    "RateLimit-Reset": "Seconds until the window starts over.",
}


def document_rate_limits(document: dict[str, Any]) -> None:
    """Declares the RateLimit-* headers once and refers to them from every API answer that
    spends a budget: writes (per key) and anonymous reads (per address), and their 429s."""
    headers = document.setdefault("components", {}).setdefault("headers", {})
    for name, description in RATE_LIMIT_HEADERS.items():
        headers[name] = {"description": description, "schema": {"type": "integer", "minimum": 0}}
    refs = {name: {"$ref": f"#/components/headers/{name}"} for name in RATE_LIMIT_HEADERS}
    for path, operation in _operations(document):
        if not path.startswith(API_PREFIX):
            continue
        for status, response in operation.get("responses", {}).items():
            if status.startswith("2") or status == "429":
                response.setdefault("headers", {}).update(refs)


def name_shared_schemas(document: dict[str, Any]) -> None:
    """Replaces each schema marked `NAMED_SCHEMA: Name` (CountryCode) with a reference to
    components.schemas.Name, so the enum is stated once and generated clients get one type."""
    components = document.setdefault("components", {}).setdefault("schemas", {})
    named: dict[str, dict[str, Any]] = {}

    def visit(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                visit(item)
            return
        if not isinstance(node, dict):
            return
        name = node.pop(NAMED_SCHEMA, None)
        if name is not None:
            component = {"title": name, "type": node["type"], "enum": node["enum"]}
            if "description" in node:
                component["description"] = node["description"]
            if named.setdefault(name, component) != component or name in components:
                raise ValueError(f"two different schemas are named {name}")
            # The use keeps only the reference (its length limits and title are the enum's).
            node.clear()
            node["$ref"] = f"#/components/schemas/{name}"
            return
        for value in node.values():
            visit(value)

    visit(list(components.values()))
    visit(document.get("paths", {}))
    components.update(named)


def document_text_rules(document: dict[str, Any]) -> None:
    components = document.get("components", {}).get("schemas", {})
    bodies: set[str] = set()
    for item in document.get("paths", {}).values():
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            for parameter in operation.get("parameters", []):
                if parameter.get("in") in ("path", "query"):
                    _constrain(parameter.get("schema", {}), URL_TEXT_PATTERN)
            content = operation.get("requestBody", {}).get("content", {})
            ref = content.get("application/json", {}).get("schema", {}).get("$ref", "")
            if ref:
                bodies.add(ref.rsplit("/", 1)[-1])
    for name in bodies:
        _constrain(components[name], BODY_TEXT_PATTERN, DISPLAY_TEXT_PATTERN)
