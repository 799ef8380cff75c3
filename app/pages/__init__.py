"""Pages for people: server-rendered HTML (Jinja2) over the same services and concern read
model as the API, one small stylesheet from the package, and error pages for browsers.

Its public face: `router` (the pages) and `install` (the rendered-page cache, and HTML
errors for a browser outside /api; problem+json stays the answer for API clients).
"""

from fastapi import FastAPI

from app.core.lru import LRUCache
from app.pages.errors import install_error_pages
from app.pages.routes import PAGE_CACHE_BYTES, router


def install(app: FastAPI) -> None:
    """After install_error_handlers (the error pages wrap them)."""
    app.state.page_cache = LRUCache(PAGE_CACHE_BYTES)
    install_error_pages(app)


__all__ = ["install", "router"]
