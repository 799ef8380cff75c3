"""The OpenAPI contract: openapi.json at the repository root is what the app serves, and the
document is good enough to work from (summaries, descriptions, examples, problem responses,
security on writes)."""

import difflib
import json
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from app.core.config import Settings
from app.core.errors import Problem
from app.main import create_app

COMMITTED = Path(__file__).resolve().parents[1] / "openapi.json"
REGENERATE = "run `.venv/bin/zoo-registry openapi` and review the diff (git diff openapi.json)"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
WRITE_METHODS = frozenset({"post", "put", "patch", "delete"})
PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_REF = "#/components/schemas/Problem"
# The one write anyone may make without a key: a public submission (a key, if sent, is
# checked like anywhere else).
ANONYMOUS_WRITES = frozenset({("post", "/api/v1/submissions")})

Document = dict[str, Any]


@pytest.fixture(scope="module")
def document() -> Iterator[Document]:
    """The document the app serves (built as `zoo-registry openapi` builds it)."""
    app = create_app(Settings(database_url="sqlite://"))
    try:
        yield app.openapi()
    finally:
        app.state.engine.dispose()
        app.state.write_engine.dispose()


def operations(document: Document) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                yield method, path, item[method]


def name(method: str, path: str, operation: dict[str, Any]) -> str:
    return f"{method.upper()} {path} ({operation.get('operationId', '?')})"


def resolve(document: Document, node: dict[str, Any]) -> dict[str, Any]:
    """Follows local `$ref`s (#/components/...) until a node without one."""
    seen: set[str] = set()
    while "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/"), f"only local references are expected: {ref}"
        assert ref not in seen, f"reference cycle at {ref}"
        seen.add(ref)
        target: Any = document
        for part in ref[2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def body_examples(document: Document, media: dict[str, Any]) -> list[Any]:
    """Every example given for a request body: on the media type or on its (resolved) schema."""
    found: list[Any] = []
    if "example" in media:
        found.append(media["example"])
    for example in (media.get("examples") or {}).values():
        example = resolve(document, example)
        if "value" in example:
            found.append(example["value"])
    schema = resolve(document, media.get("schema") or {})
    if "example" in schema:
        found.append(schema["example"])
    found.extend(schema.get("examples") or [])
    return found


def request_body(document: Document, method: str, path: str) -> list[Any]:
    operation = document["paths"][path][method]
    media = operation["requestBody"]["content"]["application/json"]
    return body_examples(document, media)


# --- the contract ---------------------------------------------------------------------------


def test_committed_document_is_what_the_app_serves(document: Document) -> None:
    committed = json.loads(COMMITTED.read_text(encoding="utf-8"))
    if committed == document:
        return
    served = json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True).splitlines()
    stored = json.dumps(committed, indent=2, ensure_ascii=False, sort_keys=True).splitlines()
    diff = list(
        difflib.unified_diff(stored, served, "openapi.json", "the app's schema", lineterm="", n=2)
    )
    shown = "\n".join(diff[:80]) + ("\n..." if len(diff) > 80 else "")
    pytest.fail(f"openapi.json is out of date with the app: {REGENERATE}.\n{shown}")


# --- document quality -----------------------------------------------------------------------


def test_info_has_a_title_and_a_description(document: Document) -> None:
    assert document["info"].get("title", "").strip()
    assert document["info"].get("description", "").strip()


def test_every_tag_used_is_declared_with_a_description(document: Document) -> None:
    declared = {tag["name"]: tag.get("description", "") for tag in document.get("tags", [])}
    used = {tag for _, _, op in operations(document) for tag in op.get("tags", [])}
    undeclared = sorted(tag for tag in used if tag not in declared)
    undescribed = sorted(tag for tag in used if tag in declared and not declared[tag].strip())
    assert undeclared == [], f"tags used by operations but not declared: {undeclared}"
    assert undescribed == [], f"declared tags without a description: {undescribed}"
    untagged = [name(m, p, op) for m, p, op in operations(document) if not op.get("tags")]
    assert untagged == [], f"operations without a tag: {untagged}"


def test_every_operation_has_a_summary_and_a_description(document: Document) -> None:
    missing = [
        f"{name(m, p, op)}: no {what}"
        for m, p, op in operations(document)
        for what in ("summary", "description")
        if not str(op.get(what, "")).strip()
    ]
    assert missing == [], "\n".join(missing)


def test_every_json_request_body_has_an_example(document: Document) -> None:
    bodies = 0
    missing = []
    for method, path, operation in operations(document):
        body = resolve(document, operation.get("requestBody") or {})
        for media_type, media in body.get("content", {}).items():
            if "json" not in media_type or "schema" not in media:
                continue
            bodies += 1
            if not body_examples(document, media):
                missing.append(f"{name(method, path, operation)} [{media_type}]")
    assert bodies, "no JSON request body at all"
    assert missing == [], "request bodies without an example:\n" + "\n".join(missing)


def test_the_report_example_is_about_dallae(document: Document) -> None:
    examples = request_body(document, "post", "/api/v1/reports")
    assert any("Dallae" in json.dumps(example) for example in examples), examples


def test_the_gift_example_is_the_november_2024_gift(document: Document) -> None:
    examples = request_body(document, "post", "/api/v1/gifts")
    assert any(
        isinstance(example, dict) and str(example.get("delivered_on", "")).startswith("2024-11")
        for example in examples
    ), examples


def test_every_error_response_is_a_problem_document(document: Document) -> None:
    problem = document["components"]["schemas"].get("Problem")
    assert problem is not None, "components.schemas has no Problem"
    assert {"type", "title", "status", "detail"} <= set(problem.get("properties", {}))

    errors = 0
    wrong = []
    for method, path, operation in operations(document):
        for status, response in operation["responses"].items():
            if status[:1] not in {"4", "5"}:
                continue
            errors += 1
            response = resolve(document, response)
            media = response.get("content", {}).get(PROBLEM_MEDIA_TYPE)
            if media is None:
                wrong.append(f"{name(method, path, operation)} {status}: no {PROBLEM_MEDIA_TYPE}")
            elif media.get("schema", {}).get("$ref") != PROBLEM_REF:
                wrong.append(f"{name(method, path, operation)} {status}: schema is not Problem")
    assert errors, "no error response is declared at all"
    assert wrong == [], "\n".join(wrong)


def test_components_declare_a_bearer_api_key_scheme(document: Document) -> None:
    schemes = document.get("components", {}).get("securitySchemes", {})
    bearer = [
        key
        for key, scheme in schemes.items()
        if scheme.get("type") == "http" and scheme.get("scheme", "").lower() == "bearer"
    ]
    assert bearer, f"no HTTP bearer security scheme: {schemes}"
    assert "ApiKey" in bearer, f"the ApiKey scheme is not HTTP bearer: {schemes}"


def test_every_write_requires_the_api_key_and_declares_401_and_403(document: Document) -> None:
    writes = 0
    wrong = []
    for method, path, operation in operations(document):
        if method not in WRITE_METHODS or (method, path) in ANONYMOUS_WRITES:
            continue
        writes += 1
        security = operation.get("security", document.get("security", []))
        if not any("ApiKey" in requirement for requirement in security):
            wrong.append(f"{name(method, path, operation)}: no ApiKey security")
        absent = sorted({"401", "403"} - set(operation["responses"]))
        if absent:
            wrong.append(f"{name(method, path, operation)}: does not declare {absent}")
    assert writes, "no write operation at all"
    assert wrong == [], "\n".join(wrong)


# --- operation ids: short, stable, one per operation (generated clients' function names) ------

OPERATION_IDS = {
    "GET /healthz": "health_live",
    "GET /readyz": "health_ready",
    "GET /metrics": "metrics_get",
    "POST /api/v1/reports": "reports_submit",
    "GET /api/v1/reports": "reports_list",
    "GET /api/v1/reports/{report_id}": "reports_get",
    "GET /api/v1/zoos/{zoo}/concerns": "zoo_concerns_get",
    "GET /api/v1/zoos/{zoo}/concerns.csv": "zoo_concerns_csv",
    "GET /api/v1/zoos/{zoo}/concerns/timeline": "zoo_concerns_timeline",
    "GET /api/v1/concerns": "concerns_ranking",
    "GET /api/v1/events": "events_list",
    "GET /api/v1/events/stream": "events_stream",
    "POST /api/v1/animals/{animal_id}/transfers": "animals_transfer",
    "GET /api/v1/animals/{animal_id}/movements": "animals_movements",
    "POST /api/v1/webhooks": "webhooks_create",
    "GET /api/v1/webhooks": "webhooks_list",
    "GET /api/v1/webhooks/{webhook_id}": "webhooks_get",
    "PATCH /api/v1/webhooks/{webhook_id}": "webhooks_update",
    "DELETE /api/v1/webhooks/{webhook_id}": "webhooks_delete",
    "GET /api/v1/webhooks/{webhook_id}/deliveries": "webhooks_deliveries",
    "POST /api/v1/webhooks/{webhook_id}/test": "webhooks_test",
    "GET /api/v1/animals/{animal_id}/concerns": "animal_concerns_get",
    "GET /api/v1/concern-rules": "concern_rules_list",
    "GET /api/v1/incidents": "incidents_list",
    "GET /api/v1/incidents/{incident_id}": "incidents_get",
    "PATCH /api/v1/incidents/{incident_id}": "incidents_update",
    "POST /api/v1/incidents/{incident_id}/transitions": "incident_transitions_create",
    "GET /api/v1/incidents/{incident_id}/history": "incident_history_list",
    "GET /api/v1/incidents/{incident_id}/reports": "incident_reports_list",
    "GET /api/v1/zoos": "zoos_list",
    "POST /api/v1/zoos": "zoos_create",
    "GET /api/v1/zoos/{zoo}": "zoos_get",
    "PATCH /api/v1/zoos/{zoo}": "zoos_update",
    "DELETE /api/v1/zoos/{zoo}": "zoos_delete",
    "GET /api/v1/species": "species_list",
    "POST /api/v1/species": "species_create",
    "GET /api/v1/species/{species_id}": "species_get",
    "PATCH /api/v1/species/{species_id}": "species_update",
    "DELETE /api/v1/species/{species_id}": "species_delete",
    "GET /api/v1/species/{species_id}/statuses": "species_statuses_list",
    "POST /api/v1/species/{species_id}/statuses": "species_statuses_create",
    "DELETE /api/v1/species/{species_id}/statuses/{status_id}": "species_statuses_delete",
    "GET /api/v1/countries": "countries_list",
    "GET /api/v1/countries/{code}": "countries_get",
    "PATCH /api/v1/countries/{code}": "countries_update",
    "GET /api/v1/trade-records": "trade_records_list",
    "POST /api/v1/trade-records/import": "trade_records_import",
    "POST /api/v1/imports/{kind}": "imports_create",
    "GET /api/v1/export.zip": "export_zip",
    "GET /api/v1/enclosures": "enclosures_list",
    "POST /api/v1/enclosures": "enclosures_create",
    "GET /api/v1/enclosures/{enclosure_id}": "enclosures_get",
    "PATCH /api/v1/enclosures/{enclosure_id}": "enclosures_update",
    "DELETE /api/v1/enclosures/{enclosure_id}": "enclosures_delete",
    "GET /api/v1/gifts": "gifts_list",
    "POST /api/v1/gifts": "gifts_create",
    "GET /api/v1/gifts/{gift_id}": "gifts_get",
    "PATCH /api/v1/gifts/{gift_id}": "gifts_update",
    "DELETE /api/v1/gifts/{gift_id}": "gifts_delete",
    "GET /api/v1/gifts/{gift_id}/animals": "gift_animals_list",
    "GET /api/v1/animals": "animals_list",
    "POST /api/v1/animals": "animals_create",
    "GET /api/v1/animals/{animal_id}": "animals_get",
    "PATCH /api/v1/animals/{animal_id}": "animals_update",
    "DELETE /api/v1/animals/{animal_id}": "animals_delete",
    "POST /api/v1/keys": "keys_create",
    "GET /api/v1/keys": "keys_list",
    "GET /api/v1/keys/{key_id}": "keys_get",
    "POST /api/v1/keys/{key_id}/revoke": "keys_revoke",
    "POST /api/v1/submissions": "submissions_create",
    "GET /api/v1/submissions": "submissions_list",
    "GET /api/v1/submissions/{submission_id}": "submissions_get",
    "POST /api/v1/submissions/{submission_id}/accept": "submissions_accept",
    "POST /api/v1/submissions/{submission_id}/reject": "submissions_reject",
    "POST /api/v1/incidents/{incident_id}/replies": "incident_replies_create",
    "GET /api/v1/incidents/{incident_id}/replies": "incident_replies_list",
}
SNAKE_CASE_ID = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")


def is_fastapi_default(op_id: str, method: str, path: str) -> bool:
    """FastAPI's default id: the function name, the path with every non-word character as _,
    then the method (`list_zoos_api_v1_zoos_get`)."""
    flat_path = re.sub(r"\W", "_", path)
    return op_id.endswith(f"{flat_path}_{method}")


def test_operation_ids_are_the_listed_short_snake_case_ids(document: Document) -> None:
    found = {f"{m.upper()} {p}": op.get("operationId") for m, p, op in operations(document)}
    wrong = [
        f"{name(m, p, op)}"
        for m, p, op in operations(document)
        if not SNAKE_CASE_ID.fullmatch(op_id := op.get("operationId", ""))
        or is_fastapi_default(op_id, m, p)
    ]
    assert wrong == [], "operation ids that are missing, not snake_case or FastAPI's default:\n" + (
        "\n".join(wrong)
    )
    counts = Counter(found.values())
    duplicates = sorted(op_id for op_id, n in counts.items() if n > 1)
    assert duplicates == [], f"operation ids used more than once: {duplicates}"
    # Renaming an id breaks every generated client: the list changes only on purpose.
    assert found == OPERATION_IDS


# --- error examples and headers ---------------------------------------------------------------

ERROR_HEADERS = {"401": "WWW-Authenticate", "429": "Retry-After", "503": "Retry-After"}


def test_every_error_example_is_a_problem_of_its_own_status(document: Document) -> None:
    checked = 0
    wrong = []
    for method, path, operation in operations(document):
        for status, response in operation["responses"].items():
            if status[:1] not in {"4", "5"}:
                continue
            where = f"{name(method, path, operation)} {status}"
            media = resolve(document, response)["content"][PROBLEM_MEDIA_TYPE]
            examples = [resolve(document, e)["value"] for e in media.get("examples", {}).values()]
            if "example" in media:
                examples.append(media["example"])
            if not examples:
                wrong.append(f"{where}: no example")
            for example in examples:
                checked += 1
                if example.get("status") != int(status):
                    wrong.append(f"{where}: the example's status is {example.get('status')}")
                if not example.get("detail", "").strip():
                    wrong.append(f"{where}: the example has no detail")
                if status == "422" and not example.get("errors"):
                    wrong.append(f"{where}: the 422 example lists no field errors")
                unknown = sorted(set(example) - set(Problem.model_fields))
                if unknown:
                    wrong.append(f"{where}: the example has fields Problem lacks: {unknown}")
                try:
                    Problem.model_validate(example, strict=True)
                except ValidationError as exc:
                    wrong.append(f"{where}: the example is not a Problem: {exc}")
    assert checked, "no error example at all"
    assert wrong == [], "\n".join(wrong)


def test_errors_document_the_headers_they_carry(document: Document) -> None:
    wrong = []
    for method, path, operation in operations(document):
        for status, header in ERROR_HEADERS.items():
            if status not in operation["responses"]:
                continue
            headers = resolve(document, operation["responses"][status]).get("headers", {})
            if header not in headers:
                wrong.append(f"{name(method, path, operation)} {status}: no {header} header")
    assert wrong == [], "\n".join(wrong)


def test_api_answers_document_the_rate_limit_headers(document: Document) -> None:
    rate_limit = {"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"}
    assert rate_limit <= set(document["components"]["headers"])
    wrong = []
    for method, path, operation in operations(document):
        if not path.startswith("/api/"):
            continue
        for status, response in operation["responses"].items():
            headers = resolve(document, response).get("headers", {})
            if (status.startswith("2") or status == "429") and not rate_limit <= set(headers):
                wrong.append(f"{name(method, path, operation)} {status}")
    assert wrong == [], "\n".join(wrong)


# --- security, license, servers -----------------------------------------------------------------

KEY_REQUIRED = [{"ApiKey": []}]
KEY_OPTIONAL = [{}, {"ApiKey": []}]  # public reads: a key may be sent (and a bad one is a 401)


def test_every_operation_states_its_security(document: Document) -> None:
    wrong = []
    for method, path, operation in operations(document):
        security = operation.get("security")
        if not path.startswith("/api/"):
            expected = (
                security if security in ([], [{}, {"MetricsToken": []}]) else "[] or optional"
            )
        elif (method, path) in ANONYMOUS_WRITES:
            expected = KEY_OPTIONAL
        elif (
            method in WRITE_METHODS
            or path.startswith(("/api/v1/keys", "/api/v1/webhooks"))
            or (method, path) == ("get", "/api/v1/reports")  # a reporter's own reports
            or (method, path) == ("get", "/api/v1/submissions")  # the moderation queue
        ):
            expected = KEY_REQUIRED
        else:
            expected = KEY_OPTIONAL
        if security != expected:
            wrong.append(f"{name(method, path, operation)}: {security}, not {expected}")
    assert wrong == [], "\n".join(wrong)
    assert "security" not in document, "security is per operation, not global"


def test_the_document_names_its_license_and_a_relative_server(document: Document) -> None:
    assert document["info"]["license"] == {"name": "MIT", "identifier": "MIT"}
    assert [server["url"] for server in document["servers"]] == ["/"]
