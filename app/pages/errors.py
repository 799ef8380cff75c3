"""Error pages for browsers: an error on a page (not under /api) asked for by a client that
takes HTML is shown as a page with the same status and headers; API clients, and anything
under /api, keep the problem+json the API's handlers give (app/core/errors.py), which stay
the one place an error's status and words are decided."""

import json
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.core.errors import DomainError
from app.pages.render import page

Handler = Callable[[Request, Exception], Awaitable[Response]]
KEPT_HEADERS = ("retry-after", "allow")
TITLES = {
    404: "Page not found",
    405: "Not allowed",
    429: "Too many requests",
    503: "Service unavailable",
}


def wants_html(request: Request) -> bool:
    if request.url.path.startswith(("/api/", "/docs", "/redoc", "/openapi")):
        return False
    return "text/html" in request.headers.get("accept", "")


def _as_page(original: Handler) -> Handler:
    async def handler(request: Request, exc: Exception) -> Response:
        problem = await original(request, exc)
        if not wants_html(request):
            return problem
        try:
            detail = str(json.loads(bytes(problem.body)).get("detail", ""))
        except ValueError:
            detail = ""
        status = problem.status_code
        title = TITLES.get(status, "Something went wrong" if status >= 500 else "Not possible")
        shown = page(
            request,
            "error.html",
            {"status": status, "title": title, "detail": detail},
            status=status,
        )
        for name in KEPT_HEADERS:
            if name in problem.headers:
                shown.headers[name] = problem.headers[name]
        return shown

    return handler


def install_error_pages(app: FastAPI) -> None:
    """After install_error_handlers: wraps the handlers whose errors a page can meet."""
    for kind in (StarletteHTTPException, DomainError, DBAPIError, Exception):
        original = app.exception_handlers[kind]
        app.add_exception_handler(kind, _as_page(original))  # type: ignore[arg-type]  # Starlette's handler type is narrower than what it calls
