"""A response body rendered once and served many times (from a cache, or before routing),
with its entity tag: the HTTP end of a cached read."""

import functools
import hashlib
import zlib
from dataclasses import dataclass
from typing import Any

from fastapi.responses import Response
from pydantic import TypeAdapter

from app.core.etags import if_none_match_hits


@dataclass(frozen=True)
class Rendered:
    body: bytes
    media_type: str
    etag: str
    filename: str | None = None  # a download's name (Content-Disposition)
    not_modified: bool = False


@dataclass(frozen=True)
class Kept:
    """A rendered body as a cache keeps it, zlib-compressed: a zoo's concern list at size XL
    is about 95 KB of JSON and 6 KB packed, so a cache holds fifteen times as many (a whole
    registry's lists rather than two thirds of them, which a reader cycling through every zoo
    found thrashed), and a hit inflates it again in about 0.07 ms."""

    packed: bytes
    media_type: str
    etag: str
    filename: str | None = None

    @classmethod
    def of(cls, rendered: Rendered) -> "Kept":
        packed = zlib.compress(rendered.body, 6)
        return cls(packed, rendered.media_type, rendered.etag, rendered.filename)

    def opened(self) -> Rendered:
        return Rendered(zlib.decompress(self.packed), self.media_type, self.etag, self.filename)


def weak_etag(key: str, *parts: object) -> str:
    """A weak ETag for one rendering (filters, page, format) of what `key` names."""
    digest = hashlib.sha256(repr((key, *parts)).encode()).hexdigest()[:16]
    return f'W/"{key}-{digest}"'


def not_modified(if_none_match: str | None, tag: str) -> Rendered | None:
    """The 304 for a request whose If-None-Match holds the tag, else None."""
    if if_none_match_hits(if_none_match, tag):
        return Rendered(b"", "", tag, not_modified=True)
    return None


def as_response(rendered: Rendered) -> Response:
    headers = {"ETag": rendered.etag}
    if rendered.not_modified:
        return Response(status_code=304, headers=headers)
    if rendered.filename:
        headers["Content-Disposition"] = f'attachment; filename="{rendered.filename}"'
    return Response(rendered.body, media_type=rendered.media_type, headers=headers)


class CSVResponse(Response):
    media_type = "text/csv"


@functools.cache
def _adapter(model: Any) -> TypeAdapter[Any]:
    return TypeAdapter(model)


def json_response(model: Any, value: object) -> Response:
    """`value` as the JSON body `model` gives it: what a route's `response_model` would send,
    read from the value's attributes and written out in one pass (FastAPI's own path dumps,
    validates and encodes it again)."""
    adapter = _adapter(model)
    body = adapter.dump_json(adapter.validate_python(value, from_attributes=True))
    return Response(body, media_type="application/json")
