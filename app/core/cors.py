"""Cross-origin access: public reads from any origin, writes only from ZWR_CORS_ORIGINS.

A newsroom page or a notebook on another origin may read the public API (GET, HEAD) without
credentials of its own; a browser page may write (with its API key in Authorization) only
from an origin the operator listed. Keys travel in a header, never in cookies, so no response
allows credentials. Preflight requests are answered here, before anything else runs.
"""

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

READ_METHODS = ("GET", "HEAD")
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
# What a page may send: keys, content negotiation, conditional requests, retries.
ALLOWED_HEADERS = (
    "Authorization",
    "Accept",
    "Content-Type",
    "If-Match",
    "If-None-Match",
    "Idempotency-Key",
    "X-Request-ID",
)
EXPOSED_HEADERS = (
    "ETag",
    "Location",
    "Retry-After",
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
    "X-Request-ID",
    "Idempotent-Replayed",
    "Content-Disposition",
)
MAX_AGE = "600"


class CORSPolicyMiddleware:
    def __init__(
        self, app: ASGIApp, *, write_origins: list[str], prefixes: tuple[str, ...]
    ) -> None:
        self.app = app
        self.write_origins = frozenset(o.rstrip("/") for o in write_origins)
        self.prefixes = prefixes

    def may_write(self, origin: str) -> bool:
        return "*" in self.write_origins or origin in self.write_origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefixes):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        if origin is None:
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        if method == "OPTIONS" and "access-control-request-method" in headers:
            await self._preflight(origin, headers)(scope, receive, send)
            return
        allowed = method in READ_METHODS or self.may_write(origin)

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                out = MutableHeaders(scope=message)
                out.add_vary_header("Origin")
                if allowed:
                    out["Access-Control-Allow-Origin"] = "*" if method in READ_METHODS else origin
                    out["Access-Control-Expose-Headers"] = ", ".join(EXPOSED_HEADERS)
            await send(message)

        await self.app(scope, receive, send_with_cors)

    def _preflight(self, origin: str, headers: Headers) -> Response:
        """Answers a preflight: reads for any origin, writes for the listed ones. A refused
        preflight is still a 204, without the Allow headers: the browser then refuses."""
        asked = headers["access-control-request-method"].upper()
        methods = READ_METHODS + (WRITE_METHODS if self.may_write(origin) else ())
        out = {"Vary": "Origin", "Access-Control-Max-Age": MAX_AGE}
        if asked in methods:
            out |= {
                "Access-Control-Allow-Origin": "*" if asked in READ_METHODS else origin,
                "Access-Control-Allow-Methods": ", ".join(methods),
                "Access-Control-Allow-Headers": ", ".join(ALLOWED_HEADERS),
            }
        return Response(status_code=204, headers=out)
