"""URL text fields: stored as plain text, accepted only as http or https."""

from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an http or https URL")
    return value


HttpUrlText = Annotated[str, AfterValidator(_http_url)]
