"""ReDoc served offline: the bundle from the fastapi-offline package, minus its one CDN image.

ReDoc's bundle hard-codes a Redocly logo URL on its CDN; the page would try to fetch it on a
closed network. The bundle is read once and the URL replaced with the packaged favicon.
"""

from functools import cache
from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html
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


@router.get("/redoc")
async def redoc(request: Request) -> HTMLResponse:
    root = request.scope.get("root_path", "")
    return get_redoc_html(
        openapi_url=f"{root}{request.app.openapi_url}",
        title=f"{request.app.title} - ReDoc",
        redoc_js_url=f"{root}{REDOC_JS_URL}",
        redoc_favicon_url=f"{root}{STATIC_URL}/favicon.png",
        with_google_fonts=False,
    )


@router.get(REDOC_JS_URL)
async def redoc_js() -> Response:
    return Response(
        redoc_bundle(),
        media_type="application/javascript",
        headers={"Cache-Control": "public, max-age=86400"},
    )
