"""ASGI guards that run before routing: body size and control characters in the URL."""

from urllib.parse import unquote

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import problem_response


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
        if _has_control_chars(unquote(raw_query)) or _has_control_chars(scope["path"]):
            response = problem_response(
                request,
                status=422,
                detail="The URL may not contain NUL or other control characters.",
                slug="validation-error",
                errors=[],
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


def _has_control_chars(text: str) -> bool:
    return any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in text)
