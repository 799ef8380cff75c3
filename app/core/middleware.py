"""ASGI guards that run before routing: the URL, the body read whole in time, security
headers, and per-address budgets. Admission to the database is taken where database work is
done (app/core/admission.py)."""

import re
from urllib.parse import unquote

import anyio
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.clients import Network, client_address
from app.core.errors import CLIENT_CLOSED_REQUEST, field_error, problem_response
from app.core.ratelimit import ClientLimits

# Routes that take a file: their body may reach max_upload_bytes, when the request carries a
# key (only admins may upload; an anonymous client gets the ordinary limit).
UPLOAD_PATHS = ("/api/v1/trade-records/import", "/api/v1/imports/")


class RequestGuardMiddleware:
    """Refuses malformed URLs, and reads a request's whole body before anything else sees it.

    The body is read here, before routing and so before any database work, within
    `read_timeout` seconds and `max_body_bytes` bytes (`max_upload_bytes` for a file sent with
    a key): a client that sends slowly (or never finishes) is answered 408 and holds no
    admission slot or connection while it dawdles.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        read_timeout: float,
        max_upload_bytes: int | None = None,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_upload_bytes = max_upload_bytes or max_body_bytes
        self.read_timeout = read_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        raw_query = scope.get("query_string", b"").decode("latin-1")
        bad_parts = [
            part
            for part, text in (("query", unquote(raw_query)), ("path", scope["path"]))
            if _has_control_chars(text)
        ]
        if bad_parts:
            response = problem_response(
                request,
                status=422,
                detail="The URL may not contain NUL or other control characters.",
                slug="validation-error",
                errors=[
                    field_error([part], "contains NUL or another control character")
                    for part in bad_parts
                ],
            )
            await response(scope, receive, send)
            return
        limit = self._limit(request)
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._too_large(request, limit)(scope, receive, send)
            return
        chunked = "chunked" in request.headers.get("transfer-encoding", "").lower()
        if not chunked and (declared is None or not declared.isdigit() or int(declared) == 0):
            await self.app(scope, receive, send)
            return
        try:
            with anyio.fail_after(self.read_timeout):
                body = await self._read_body(receive, limit)
        except TimeoutError:
            response = problem_response(
                request,
                status=408,
                detail=f"The request body did not arrive within {self.read_timeout:g} s.",
                slug="request-timeout",
                headers={"Connection": "close"},
            )
            await response(scope, receive, send)
            return
        except _BodyTooLarge:
            await self._too_large(request, limit)(scope, receive, send)
            return
        except _ClientGone:
            # Nobody reads the answer; the access log and metrics say so (nginx's 499).
            await Response(status_code=CLIENT_CLOSED_REQUEST)(scope, receive, send)
            return

        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body, only the disconnect is left to hear

        await self.app(scope, replay, send)

    def _limit(self, request: Request) -> int:
        if request.url.path.startswith(UPLOAD_PATHS) and "authorization" in request.headers:
            return self.max_upload_bytes
        return self.max_body_bytes

    async def _read_body(self, receive: Receive, limit: int) -> bytes:
        chunks: list[bytes] = []
        received = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _ClientGone
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > limit:
                raise _BodyTooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    def _too_large(self, request: Request, limit: int) -> Response:
        return problem_response(
            request,
            status=413,
            detail=f"The request body is larger than {limit} bytes.",
            slug="body-too-large",
            headers={"Connection": "close"},
        )


class _BodyTooLarge(Exception):
    pass


class _ClientGone(Exception):
    pass


CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")


def _has_control_chars(text: str) -> bool:
    return CONTROL_CHARS.search(text) is not None


# Every response: no MIME sniffing, no referrer, never framed. A response that sets its own
# policy (the docs pages, with a nonce for their one inline script) keeps it.
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
DEFAULT_POLICY = "default-src 'none'; frame-ancestors 'none'"


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
                if "content-security-policy" not in headers:
                    headers["Content-Security-Policy"] = DEFAULT_POLICY
            await send(message)

        await self.app(scope, receive, send_with_headers)


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class ClientLimitsMiddleware:
    """Per-address budgets, checked before a request costs anything: anonymous reads of the
    API (ZWR_READ_RATE_LIMIT), and any request with a key from an address whose recent failed
    authentications spent its budget (the route counts the failures). 429 with Retry-After."""

    def __init__(self, app: ASGIApp, *, proxies: tuple[Network, ...], prefix: str) -> None:
        self.app = app
        self.proxies = proxies
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        limits: ClientLimits = scope["app"].state.client_limits
        address = client_address(scope, self.proxies)
        scope.setdefault("state", {})["client_address"] = address
        has_key = any(name == b"authorization" for name, _ in scope["headers"])
        budget: dict[str, str] = {}
        if has_key:
            retry_after = limits.auth_failures.exhausted(address)
            detail = "Too many failed authentications from this address"
        elif scope["method"] in SAFE_METHODS:
            spent, retry_after = limits.reads.spend(address)
            budget = spent.headers()
            detail = f"Anonymous reads are limited to {limits.reads.rate} per address"
        else:
            retry_after = None
        if retry_after is None:
            await self.app(scope, receive, with_headers(send, budget) if budget else send)
            return
        response = problem_response(
            Request(scope),
            status=429,
            detail=f"{detail}; try again in {retry_after} s.",
            slug="rate-limited",
            headers={"Retry-After": str(retry_after)} | budget,
        )
        await response(scope, receive, send)


def with_headers(send: Send, headers: dict[str, str]) -> Send:
    """`send`, adding the headers to the response's start."""
    raw = [(name.lower().encode(), value.encode()) for name, value in headers.items()]

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), *raw]}
        await send(message)

    return sending
