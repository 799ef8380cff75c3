"""Rendering a page: the Jinja2 templates of the package (autoescaped), the headers every
page carries (a Content-Security-Policy of `default-src 'self'` with no inline script or
style, an ETag, `no-cache` so a browser asks again and gets a 304 while nothing changed)."""

import hashlib
from functools import cache
from importlib.resources import files
from typing import Any

from fastapi import Request, Response
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

POLICY = "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
HTML = "text/html; charset=utf-8"


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("app.pages", "templates"),
        autoescape=select_autoescape(default=True),
        undefined=StrictUndefined,  # a missing value is a bug, not an empty cell
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["thousands"] = lambda n: f"{int(n):,}"
    return env


@cache
def stylesheet() -> bytes:
    return files("app.pages").joinpath("static", "site.css").read_bytes()


def stylesheet_tag() -> str:
    """The stylesheet's ETag: it changes with the file, so pages may cache it long."""
    return hashlib.sha256(stylesheet()).hexdigest()[:12]


def render(request: Request, template: str, context: dict[str, Any]) -> bytes:
    body = (
        environment()
        .get_template(template)
        .render(**context, request=request, css_version=stylesheet_tag())
    )
    return body.encode()


def etag_of(body: bytes) -> str:
    return 'W/"' + hashlib.sha256(body).hexdigest()[:20] + '"'


def respond(request: Request, body: bytes, etag: str, *, status: int = 200) -> Response:
    """A rendered page with the pages' headers; a 304 when If-None-Match matches."""
    headers = {"Content-Security-Policy": POLICY, "ETag": etag, "Cache-Control": "no-cache"}
    if status == 200 and etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return HTMLResponse(body, status_code=status, headers=headers, media_type=HTML)


def page(
    request: Request, template: str, context: dict[str, Any], *, status: int = 200
) -> Response:
    """The template rendered, with the pages' headers; a 304 when If-None-Match matches."""
    body = render(request, template, context)
    return respond(request, body, etag_of(body), status=status)
