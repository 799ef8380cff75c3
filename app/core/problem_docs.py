"""The problem documents in the OpenAPI description: each error status's schema, examples
and headers, declared on the routes with `responses=problem_responses(...)`."""

from http import HTTPStatus
from typing import Any

from app.core.errors import PROBLEM_BASE, PROBLEM_MEDIA_TYPE, Problem, field_error

# Every write can meet these: no or bad key, wrong role or zoo, a body too slow to arrive or
# too large, too many writes.
WRITE_ERRORS = (401, 403, 408, 413, 429)


def problem_example(
    status: int,
    slug: str,
    detail: str,
    instance: str,
    errors: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A problem document as the service renders it, for the OpenAPI examples."""
    example: dict[str, Any] = {
        "type": PROBLEM_BASE + slug,
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "instance": instance,
    }
    if errors is not None:
        example["errors"] = errors
    return example


# One or more realistic problems per documented status, each under its own name; the messages
# are those the service sends (the numbers are the default settings').
PROBLEM_EXAMPLES: dict[int, dict[str, dict[str, Any]]] = {
    401: {
        "missing_key": problem_example(
            401,
            "unauthorized",
            "This needs an API key: send Authorization: Bearer <key>.",
            "/api/v1/reports",
        ),
        "revoked_key": problem_example(
            401, "unauthorized", "The API key has been revoked.", "/api/v1/zoos"
        ),
    },
    403: {
        "wrong_role": problem_example(
            403,
            "forbidden",
            "This needs the inspector role; the key has reporter.",
            "/api/v1/incidents/7/transitions",
        ),
        "wrong_zoo": problem_example(
            403,
            "forbidden",
            "This key is limited to zoos [1]; it may not act on zoo 2.",
            "/api/v1/reports",
        ),
    },
    404: {
        "not_found": problem_example(
            404, "not-found", "No zoo with id or slug 'atlantis'.", "/api/v1/zoos/atlantis"
        )
    },
    408: {
        "body_too_slow": problem_example(
            408,
            "request-timeout",
            "The request body did not arrive within 10 s.",
            "/api/v1/reports",
        )
    },
    409: {
        "conflict": problem_example(
            409,
            "conflict",
            "A zoo with slug 'korea-central-zoo' already exists.",
            "/api/v1/zoos",
        )
    },
    412: {
        "stale_if_match": problem_example(
            412,
            "precondition-failed",
            'The incident has changed (its ETag is now "7-3"); reload and retry.',
            "/api/v1/incidents/7",
        )
    },
    413: {
        "body_too_large": problem_example(
            413,
            "body-too-large",
            "The request body is larger than 1048576 bytes.",
            "/api/v1/reports",
        )
    },
    415: {
        "not_csv": problem_example(
            415,
            "unsupported-media-type",
            "Send the file as text/csv or application/csv (got 'application/json').",
            "/api/v1/trade-records/import",
        )
    },
    422: {
        "validation": problem_example(
            422,
            "validation-error",
            "The request has 1 invalid field.",
            "/api/v1/zoos",
            errors=[
                field_error(
                    ["body", "country_code"],
                    "Value error, 'XX' is not an ISO 3166-1 alpha-2 country code (upper case)",
                )
            ],
        )
    },
    429: {
        "rate_limited": problem_example(
            429,
            "rate-limited",
            "This key is limited to 60/minute writes; try again in 12 s.",
            "/api/v1/reports",
        )
    },
    503: {
        "database_unavailable": problem_example(
            503,
            "database-unavailable",
            "The database is unavailable; retry shortly.",
            "/api/v1/zoos/korea-central-zoo/concerns",
        )
    },
}

RETRY_AFTER = {
    "description": "Seconds to wait before retrying.",
    "required": True,
    "schema": {"type": "integer", "minimum": 0},
    "example": 12,
}
# The headers each error status always carries.
PROBLEM_HEADERS: dict[int, dict[str, dict[str, Any]]] = {
    401: {
        "WWW-Authenticate": {
            "description": "The authentication scheme to use: Bearer.",
            "required": True,
            "schema": {"type": "string"},
            "example": "Bearer",
        }
    },
    429: {"Retry-After": RETRY_AFTER},
    503: {"Retry-After": RETRY_AFTER},
}


def problem_responses(
    *statuses: int, examples: dict[int, dict[str, dict[str, Any]]] | None = None
) -> dict[int | str, dict[str, Any]]:
    """The `responses=` entry declaring each error status with the problem schema, examples of
    that status (PROBLEM_EXAMPLES, or `examples` for a route's own) and its headers."""
    responses: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        named = (examples or {}).get(status) or PROBLEM_EXAMPLES[status]
        response: dict[str, Any] = {
            "description": HTTPStatus(status).phrase,
            "content": {
                PROBLEM_MEDIA_TYPE: {
                    "schema": {"$ref": "#/components/schemas/Problem"},
                    "examples": {key: {"value": value} for key, value in named.items()},
                }
            },
        }
        if status in PROBLEM_HEADERS:
            response["headers"] = PROBLEM_HEADERS[status]
        responses[status] = response
    return responses


def problem_schemas() -> dict[str, Any]:
    """Problem and ProblemFieldError as OpenAPI component schemas."""
    schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    definitions = schema.pop("$defs", {})
    return {"Problem": schema, **definitions}
