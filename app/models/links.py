"""URL text fields: stored as plain text, accepted only as http or https."""

import re
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field

_AUTHORITY = re.compile(r"^[^:/?#]*://([^/?#]*)")


def _http_url(value: str) -> str:
    if any(ch.isspace() for ch in value):
        raise ValueError("a URL may not contain spaces")
    authority = _AUTHORITY.match(value)
    if authority and ("[" in authority[1] or "]" in authority[1]):
        # urlsplit refuses malformed IPv6 literals with its own message; take none at all.
        raise ValueError("must be an http or https URL with a host name or IPv4 address")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an http or https URL")
    return value


# As _http_url checks: no space (str.isspace, so NEL too, which JSON Schema's \s leaves
# out), and an authority (up to the first / ? or #) without brackets.
HTTP_URL_PATTERN = (
    r"^https?://[^/?#\s\[\]\u0000-\u001f\u007f\u0085]+"
    r"(?:[/?#][^\s\u0000-\u001f\u007f\u0085]*)?$"
)
HttpUrlText = Annotated[
    str, AfterValidator(_http_url), Field(json_schema_extra={"pattern": HTTP_URL_PATTERN})
]
