"""Pages for people: server-rendered HTML (Jinja2) over the same services and concern read
model as the API, one small stylesheet from the package, and error pages for browsers.

Its public face: `router` (the pages) and `install_error_pages` (HTML errors for a browser
outside /api; problem+json stays the answer for API clients).
"""

from app.pages.errors import install_error_pages
from app.pages.routes import router

__all__ = ["install_error_pages", "router"]
