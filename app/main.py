"""The application factory."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app.api.router import api_router
from app.core.config import Settings, get_settings
from app.core.db import is_sqlite, make_engine
from app.core.errors import install_error_handlers
from app.core.middleware import RequestGuardMiddleware
from app.core.ratelimit import WriteRateLimiter

DESCRIPTION = """
Records zoos, the animals they hold, where those animals came from (diplomatic and other
origin gifts), their enclosures, and welfare reports and incidents; and answers the question
regulators, NGOs and journalists ask: which animals in this zoo are we worried about, and why?

Every error is an RFC 9457 `application/problem+json` document.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    """Builds the app for the given settings (the environment's by default)."""
    settings = settings or get_settings()
    engine = make_engine(settings)
    write_engine = (
        make_engine(settings, writer=True) if is_sqlite(settings.database_url) else engine
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        engine.dispose()
        write_engine.dispose()

    app = FastAPI(
        title="Zoo Welfare Registry",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.write_engine = write_engine
    app.state.rate_limiter = WriteRateLimiter(
        settings.write_rate_limit, settings.rate_limit_storage
    )
    install_error_handlers(app)
    app.add_middleware(RequestGuardMiddleware, max_body_bytes=settings.max_body_bytes)
    app.include_router(api_router)
    return app
