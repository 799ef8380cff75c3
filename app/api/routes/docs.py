"""Swagger UI and ReDoc served offline, from the assets of the fastapi-offline package, each
page with a Content-Security-Policy that runs no inline script but the one it carries a nonce
for, loads nothing from another origin, and refuses to be framed.

ReDoc's bundle hard-codes a Redocly logo URL on its CDN; the page would try to fetch it on a
closed network. The bundle is read once and the URL replaced with the packaged favicon.
"""

import secrets
from functools import cache
from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response

STATIC = Path(fastapi_offline.__file__).parent / "static"
STATIC_URL = "/static-offline-docs"
REDOC_JS_URL = "/docs-assets/redoc.standalone.js"
CDN_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"

router = APIRouter(include_in_schema=False)


@cache
def redoc_bundle() -> bytes:
    text = (STATIC / "redoc.standalone.js").read_text(encoding="utf-8")
    return text.replace(CDN_LOGO, f"{STATIC_URL}/favicon.png").encode()


def docs_policy(nonce: str | None = None) -> str:
    scripts = f"'self' 'nonce-{nonce}' blob:" if nonce else "'self' blob:"
    return (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        f"script-src {scripts}; worker-src 'self' blob:; font-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    root = request.scope.get("root_path", "")
    page = get_swagger_ui_html(
        openapi_url=f"{root}{request.app.openapi_url}",
        title=f"{request.app.title} - Swagger UI",
        swagger_js_url=f"{root}{STATIC_URL}/swagger-ui-bundle.js",
        swagger_css_url=f"{root}{STATIC_URL}/swagger-ui.css",
        swagger_favicon_url=f"{root}{STATIC_URL}/favicon.png",
        swagger_ui_parameters=request.app.swagger_ui_parameters,
    )
    # The page's one inline script (SwaggerUIBundle's set-up) runs by its nonce.
    nonce = secrets.token_urlsafe(16)
    html = bytes(page.body).decode().replace("<script>", f'<script nonce="{nonce}">')
    return HTMLResponse(html, headers={"Content-Security-Policy": docs_policy(nonce)})


@router.get("/redoc")
async def redoc(request: Request) -> HTMLResponse:
    root = request.scope.get("root_path", "")
    page = get_redoc_html(
        openapi_url=f"{root}{request.app.openapi_url}",
        title=f"{request.app.title} - ReDoc",
        redoc_js_url=f"{root}{REDOC_JS_URL}",
        redoc_favicon_url=f"{root}{STATIC_URL}/favicon.png",
        with_google_fonts=False,
    )
    page.headers["Content-Security-Policy"] = docs_policy()
    return page


@router.get(REDOC_JS_URL)
async def redoc_js() -> Response:
    return Response(
        redoc_bundle(),
        media_type="application/javascript",
        headers={"Cache-Control": "public, max-age=86400"},
    )
