"""Domain errors and their rendering as RFC 9457 problem details (application/problem+json)."""

import logging
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.routing import compile_path

logger = logging.getLogger("zwr.errors")  # the zwr loggers write to stderr (main.py)

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_BASE = "urn:zwr:problem:"
_PATH_SAFE = "/:@!$&'()*+,;=-._~"


class ProblemFieldError(BaseModel):
    location: list[str | int] = Field(examples=[["body", "country_code"]])
    message: str = Field(examples=["Value error, 'XX' is not an ISO 3166-1 alpha-2 code"])
    type: str = Field(examples=["value_error"])


class Problem(BaseModel):
    """An RFC 9457 problem details object."""

    type: str = Field(examples=["urn:zwr:problem:not-found"])
    title: str = Field(examples=["Not Found"])
    status: int = Field(examples=[404])
    detail: str = Field(examples=["No zoo with id or slug 'atlantis'."])
    instance: str = Field(examples=["/api/v1/zoos/atlantis"])
    errors: list[ProblemFieldError] | None = None


class DomainError(Exception):
    """A business-rule failure that carries its HTTP status and problem type."""

    status: int = 400
    slug: str = "bad-request"

    def __init__(
        self,
        detail: str,
        *,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.headers = headers


class Unauthorized(DomainError):
    status = 401
    slug = "unauthorized"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(DomainError):
    status = 403
    slug = "forbidden"


class TooManyRequests(DomainError):
    status = 429
    slug = "rate-limited"

    def __init__(
        self, detail: str, retry_after: int, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after), **(headers or {})})


class NotFound(DomainError):
    status = 404
    slug = "not-found"


class Conflict(DomainError):
    status = 409
    slug = "conflict"


class Unprocessable(DomainError):
    """The body is well-formed but refers to things that do not fit together."""

    status = 422
    slug = "validation-error"


def field_error(
    location: list[str | int], message: str, type_: str = "value_error"
) -> dict[str, Any]:
    return {"location": location, "message": message, "type": type_}


def problem_response(
    request: Request,
    *,
    status: int,
    detail: str,
    slug: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    title = HTTPStatus(status).phrase
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + slug if slug else "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        # Percent-encoded, so the instance is a valid URI reference whatever the path held.
        "instance": quote(request.url.path, safe=_PATH_SAFE),
    }
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def _location(loc: tuple[Any, ...]) -> list[str | int]:
    return [p if isinstance(p, int) else str(p) for p in loc]


def _clean_message(message: str) -> str:
    # Control characters are echoed back by pydantic; never reflect them into a response.
    return "".join(ch if ch.isprintable() else "?" for ch in message)


async def _domain_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    return problem_response(
        request,
        status=exc.status,
        detail=exc.detail,
        slug=exc.slug,
        errors=exc.errors,
        headers=exc.headers,
    )


async def _validation_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        field_error(_location(e["loc"]), _clean_message(str(e["msg"])), e["type"])
        for e in exc.errors()
    ]
    count = len(errors)
    detail = f"The request has {count} invalid field{'s' if count != 1 else ''}."
    return problem_response(
        request, status=422, detail=detail, slug="validation-error", errors=errors
    )


CLIENT_CLOSED_REQUEST = 499


async def _http_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    headers = getattr(exc, "headers", None)
    if isinstance(exc.__cause__, ClientDisconnect):
        # The client left before sending its whole body: nobody reads the answer, and the
        # access log and metrics should say so (nginx's 499) rather than blame the input.
        return JSONResponse(None, status_code=CLIENT_CLOSED_REQUEST)
    if exc.status_code == 400 and detail == "There was an error parsing the body":
        # A body that is not UTF-8 JSON is invalid input like any other: 422, as documented.
        message = "The body could not be decoded as UTF-8 JSON."
        return problem_response(
            request,
            status=422,
            detail=message,
            slug="validation-error",
            errors=[field_error(["body"], message, "json_invalid")],
        )
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"Nothing is at {request.url.path}."
    elif exc.status_code == 405:
        detail = f"{request.method} is not allowed on {request.url.path}."
        headers = {"Allow": ", ".join(allowed_methods(request))}
    return problem_response(request, status=exc.status_code, detail=detail, headers=headers)


def allowed_methods(request: Request) -> list[str]:
    """Every method some route accepts on this path (the router reports only the first)."""
    table = getattr(request.app.state, "path_methods", None)
    if table is None:
        table = []
        for path, item in request.app.openapi().get("paths", {}).items():
            regex, _, _ = compile_path(path)
            table.append((regex, sorted(m.upper() for m in item)))
        request.app.state.path_methods = table
    methods = {m for regex, ms in table if regex.match(request.url.path) for m in ms}
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)


async def _integrity_handler(request: Request, exc: Exception) -> JSONResponse:
    # A backstop for races the services' own checks cannot see (two writers at once).
    logger.info("integrity error: %s", exc)
    return problem_response(
        request,
        status=409,
        detail="The change conflicts with existing data (a unique or reference constraint).",
        slug="conflict",
    )


async def _database_unavailable_handler(request: Request, exc: Exception) -> JSONResponse:
    # A dropped connection or a database restart: the pool recovers, the client retries.
    assert isinstance(exc, DBAPIError)
    if not exc.connection_invalidated and not _is_operational(exc):
        return await _unhandled_handler(request, exc)
    logger.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc)
    return problem_response(
        request,
        status=503,
        detail="The database is unavailable; retry shortly.",
        slug="database-unavailable",
        headers={"Retry-After": "2"},
    )


def _is_operational(exc: DBAPIError) -> bool:
    return isinstance(exc, OperationalError | InterfaceError)


def internal_error_response(request: Request) -> JSONResponse:
    """The 500 problem: logged with its traceback, shown without it."""
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem_response(
        request,
        status=500,
        detail="An unexpected error occurred; it has been logged.",
        slug="internal-error",
    )


async def _unhandled_handler(request: Request, exc: Exception) -> JSONResponse:
    return internal_error_response(request)


def install_error_handlers(app: FastAPI) -> None:
    """Renders every error the service returns as application/problem+json."""
    app.add_exception_handler(DomainError, _domain_error_handler)
    app.add_exception_handler(RequestValidationError, _validation_handler)
    app.add_exception_handler(StarletteHTTPException, _http_error_handler)
    app.add_exception_handler(IntegrityError, _integrity_handler)
    app.add_exception_handler(DBAPIError, _database_unavailable_handler)
    app.add_exception_handler(Exception, _unhandled_handler)
