"""File uploads: a request body of a media type the route reads, whole (the request guard
already read it within its limit, app/core/middleware.py)."""

from collections.abc import Mapping
from typing import TypeVar

from fastapi import Request

from app.core.errors import DomainError, Unprocessable, field_error

T = TypeVar("T")


class UnsupportedMediaType(DomainError):
    status = 415
    slug = "unsupported-media-type"


async def read_upload(request: Request, accepted: Mapping[str, T]) -> tuple[T, bytes]:
    """What the body's media type is to the route (a key of `accepted`), and the body."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in accepted:
        names = " or ".join(dict.fromkeys(accepted))
        raise UnsupportedMediaType(
            f"Send the file as {names} (got '{media or 'no content type'}')."
        )
    body = await request.body()
    if not body.strip():
        message = "The body is empty: send the file, a CSV file's header row first."
        raise Unprocessable(message, errors=[field_error(["body"], message)])
    return accepted[media], body
