"""ASGI guards that run before routing: body size and control characters in the URL."""

import asyncio
import re
import weakref
from typing import Any
from urllib.parse import unquote

import anyio
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import field_error, problem_response


class BodyTooLarge(HTTPException):
    """Raised while reading a body past the limit; FastAPI re-raises HTTPExceptions as they are."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body is larger than {limit} bytes.")


class RequestGuardMiddleware:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

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
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            response = problem_response(
                request,
                status=413,
                detail=f"The request body is larger than {self.max_body_bytes} bytes.",
                slug="body-too-large",
            )
            await response(scope, receive, send)
            return

        received = 0

        async def limited_receive() -> Message:
            # Chunked bodies declare no length; count what actually arrives.
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise BodyTooLarge(self.max_body_bytes)
            return message

        await self.app(scope, limited_receive, send)


CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")


def _has_control_chars(text: str) -> bool:
    return CONTROL_CHARS.search(text) is not None


# The docs pages load only what the package serves. ReDoc hard-codes a logo from its CDN; the
# policy stops the browser from ever requesting it, so the docs work on a closed network.
DOCS_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self' 'unsafe-inline' blob:; worker-src 'self' blob:; font-src 'self' data:; "
    "connect-src 'self'"
)


class DocsPolicyMiddleware:
    def __init__(self, app: ASGIApp, *, paths: tuple[str, ...]) -> None:
        self.app = app
        self.paths = paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in self.paths:
            await self.app(scope, receive, send)
            return

        async def send_with_policy(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["Content-Security-Policy"] = DOCS_POLICY
            await send(message)

        await self.app(scope, receive, send_with_policy)


class DatabaseConcurrencyMiddleware:
    """Admits at most `limit` requests at a time to the routes that use the database.

    A request holds its pooled connection across several threadpool hops (dependencies, the
    route, the session's close). With more requests in flight than connections, every thread
    can end up waiting for a connection held by a request that is waiting for a thread: a stall
    until the pool times out. Queueing requests here, at the pool's size, keeps every admitted
    request able to finish.
    """

    def __init__(self, app: ASGIApp, *, limit: int, prefixes: tuple[str, ...]) -> None:
        self.app = app
        self.limit = limit
        self.prefixes = prefixes
        # One per event loop: a server has one loop; test clients each run their own.
        self._semaphores: weakref.WeakKeyDictionary[Any, anyio.Semaphore] = (
            weakref.WeakKeyDictionary()
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefixes):
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        semaphore = self._semaphores.get(loop)
        if semaphore is None:
            semaphore = self._semaphores[loop] = anyio.Semaphore(self.limit)
        async with semaphore:
            await self.app(scope, receive, send)
