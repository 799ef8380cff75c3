"""Entity-tag comparison as RFC 9110 defines it: strong for If-Match, weak for If-None-Match."""


def _tags(header: str) -> list[str]:
    return [t.strip() for t in header.split(",") if t.strip()]


def if_match_allows(header: str | None, current: str) -> bool:
    """If-Match (RFC 9110 13.1.1) uses the strong comparison: a weak tag never matches, and
    neither does a strong one that differs; `*` matches any current representation."""
    if header is None:
        return True
    tags = _tags(header)
    if "*" in tags:
        return True
    return not current.startswith("W/") and current in tags


def if_none_match_hits(header: str | None, current: str) -> bool:
    """If-None-Match (RFC 9110 13.1.2) uses the weak comparison: W/"x" and "x" are the same."""
    if not header:
        return False
    tags = _tags(header)
    return "*" in tags or current.removeprefix("W/") in {t.removeprefix("W/") for t in tags}
