"""The application factory."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from sqlmodel import Session

from app.api.router import api_router
from app.api.routes import bench, docs, health
from app.api.routes.events import Streams
from app.api.routes.exports import Exports
from app.concerns import ConcernReadModel, ConcernWorker
from app.concerns.fastpath import CachedConcernsMiddleware
from app.core.admission import Admission
from app.core.clients import parse_networks
from app.core.config import Settings, get_settings
from app.core.cors import CORSPolicyMiddleware
from app.core.db import is_sqlite, make_engine
from app.core.errors import install_error_handlers
from app.core.middleware import (
    ClientLimitsMiddleware,
    RequestGuardMiddleware,
    SecurityHeadersMiddleware,
)
from app.core.observability import Metrics, ObservabilityMiddleware
from app.core.openapi import finish_document, operation_id
from app.core.problem_docs import problem_schemas
from app.core.ratelimit import ClientLimits, WriteRateLimiter, sync_storage
from app.core.submission_limits import SubmissionLimit
from app.events import EventFeed
from app.pages import install as install_pages
from app.pages import router as pages_router
from app.services.api_keys import KeyCache
from app.services.key_uses import KeyUses
from app.webhooks import Subscriptions, WebhookWorker

DESCRIPTION = """
Records zoos, the animals they hold, where those animals came from (diplomatic and other
origin gifts), their enclosures, and welfare reports and incidents; and answers the question
regulators, NGOs and journalists ask: **which animals in this zoo are we worried about, and
why?**

* Reads are public. Writes need an API key sent as `Authorization: Bearer zwr_...` (use the
  *Authorize* button); roles are reporter, inspector and admin, and a key may be limited to
  some zoos. A zoo_representative key, limited to one zoo, may only reply to its incidents.
* Anyone may submit what they saw without a key (`POST /api/v1/submissions`); it stays private
  until an inspector accepts it, and the receipt it answers with shows its status.
* Lists return `{"items", "total", "limit", "offset"}`; `limit` defaults to 50 and is at most 500.
* Body text may not hold control characters (tab and newlines aside) or bidirectional
  override and isolate characters; names and titles must show something, not only spaces or
  invisible characters. The schema states both as patterns.
* Every error is an RFC 9457 `application/problem+json` document.
"""

TAGS = [
    {"name": "zoos", "description": "Zoos; a zoo in a path is its numeric id or its slug."},
    {"name": "species", "description": "Species and what they need: group, space, climate."},
    {"name": "enclosures", "description": "Where animals are kept, with the numbers rules check."},
    {"name": "gifts", "description": "Origin transfers such as diplomatic gifts of animals."},
    {"name": "animals", "description": "Individual animals and group records."},
    {
        "name": "countries",
        "description": "ISO 3166 countries (former codes too) and when CITES took effect there.",
    },
    {
        "name": "trade records",
        "description": "The CITES Trade Database's comparative tabulation, imported from its CSV.",
    },
    {
        "name": "data",
        "description": "Bulk data in and out: imports of CSV or NDJSON files, and the whole "
        "public registry as an open-data package (Frictionless).",
    },
    {"name": "reports", "description": "Welfare reports: what reporters saw. Never deleted."},
    {"name": "incidents", "description": "Triaged cases fed by reports, with their audit trail."},
    {
        "name": "submissions",
        "description": "Public submissions without a key, held for moderation; receipts.",
    },
    {"name": "replies", "description": "The zoo's right of reply to incidents about it."},
    {"name": "concerns", "description": "Flagged-welfare queries: who we worry about, and why."},
    {"name": "events", "description": "The change feed: every committed change, in order."},
    {
        "name": "webhooks",
        "description": "The change feed pushed to your URL, signed (Standard Webhooks), retried.",
    },
    {"name": "keys", "description": "API keys (admin)."},
    {"name": "operations", "description": "Health, readiness and metrics."},
]


API = ("/api/",)


def configure_logging() -> None:
    """One structured line per request on stderr, from the `zwr` loggers only."""
    logger = logging.getLogger("zwr")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False


def create_app(settings: Settings | None = None) -> FastAPI:
    """Builds the app for the given settings (the environment's by default)."""
    settings = settings or get_settings()
    configure_logging()
    engine = make_engine(settings)
    write_engine = (
        make_engine(settings, writer=True) if is_sqlite(settings.database_url) else engine
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Key uses are written off the request path, through the writer, and once at the end.
        halts = (
            [
                ConcernWorker(settings, app.state.write_sessions).start(),
                WebhookWorker(
                    settings, app.state.write_sessions, reads=app.state.read_sessions
                ).start(),
            ]
            if settings.background_worker
            else []
        )
        async with app.state.key_uses.flushing(
            lambda: app.state.write_sessions, every=settings.key_use_flush_s
        ):
            yield
        for halt in halts:
            halt()
        engine.dispose()
        write_engine.dispose()

    # FastAPIOffline serves Swagger UI and ReDoc from assets inside the package: no CDN.
    app = FastAPIOffline(
        title="Zoo Welfare Registry",
        version="0.1.0",
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=lifespan,
        generate_unique_id_function=operation_id,  # each route's name=, e.g. zoos_list
        swagger_ui_parameters={"persistAuthorization": True, "displayRequestDuration": True},
        docs_url=None,  # both served by app/api/routes/docs.py: Swagger UI with a script
        redoc_url=None,  # nonce, ReDoc without its CDN logo
    )
    # No redirect to the path with or without a trailing slash: Starlette builds its Location
    # from the Host header, which a client chooses.
    app.router.redirect_slashes = False
    app.state.settings = settings
    app.state.engine = engine
    app.state.write_engine = write_engine
    limit_storage = sync_storage(settings.rate_limit_storage, settings.rate_limit_key_prefix)
    app.state.rate_limiter = WriteRateLimiter(settings.write_rate_limit, limit_storage)
    app.state.client_limits = ClientLimits(
        read_rate=settings.read_rate_limit,
        auth_failure_rate=settings.auth_failure_rate_limit,
        storage=limit_storage,
    )
    app.state.submission_limit = SubmissionLimit(settings.submission_rate_limit, limit_storage)
    app.state.metrics = Metrics()
    app.state.key_uses = KeyUses()
    # The sessions of the request's session dependencies (app/api/sessions.py), and of work
    # outside them (batched reads, the key check, key uses).
    app.state.read_sessions = partial(Session, engine, expire_on_commit=False)
    app.state.write_sessions = partial(Session, write_engine, expire_on_commit=False)
    # Keys seen lately, for the report write, which checks revocation itself (guard.py).
    app.state.key_cache = KeyCache(app.state.key_uses)
    # The concern lists, read through one object that opens its own sessions from these
    # factories; the routes that use it (ConcernsDep) hold an admission slot throughout.
    app.state.concerns = ConcernReadModel(
        settings, app.state.read_sessions, app.state.write_sessions
    )
    # The change feed (app/events/feed.py): places waiting events through the writer.
    app.state.events = EventFeed(app.state.read_sessions, app.state.write_sessions)
    app.state.event_streams = Streams(settings.event_streams_per_client)
    # The open-data export: one read at a time per process (each holds a slot while it reads).
    app.state.exports = Exports(at_once=1)
    # Webhook subscriptions; their deliveries are the background worker's (app/webhooks/).
    app.state.webhooks = Subscriptions(settings)
    # Database work, not requests: taken by the session dependencies, the key check and the
    # routes that reach the database by hand (app/core/admission.py), at most one per pooled
    # connection.
    app.state.admission = Admission(settings.db_pool_size)
    install_error_handlers(app)
    # Innermost first; each add_middleware wraps what was added before it.
    # A repeated concern list is answered before routing, with no slot or connection of its own.
    app.add_middleware(CachedConcernsMiddleware, concerns=app.state.concerns)
    # The body is read whole, in time, before routing: slow senders hold no slot.
    app.add_middleware(
        RequestGuardMiddleware,
        max_body_bytes=settings.max_body_bytes,
        max_upload_bytes=settings.max_upload_bytes,
        read_timeout=settings.body_read_timeout_s,
    )
    app.add_middleware(
        ClientLimitsMiddleware,
        proxies=parse_networks(settings.trusted_proxies),
        prefix=API[0],
    )
    # Preflights are answered before any budget is spent or any body read.
    app.add_middleware(CORSPolicyMiddleware, write_origins=settings.cors_origins, prefixes=API)
    app.add_middleware(ObservabilityMiddleware, metrics=app.state.metrics)
    # Outermost: every response carries the security headers, errors included.
    app.add_middleware(SecurityHeadersMiddleware)
    install_pages(app)  # after install_error_handlers: its error pages wrap them
    app.include_router(docs.router)
    app.include_router(health.router)
    # Routes are tried in order: the pages' few before the API's many, so a page request is
    # not matched against every API route first (a quarter of a kept page's time); an API
    # request tries the pages' eight patterns, none of which can match under /api.
    app.include_router(pages_router)
    app.include_router(api_router)
    if settings.bench_routes:
        app.include_router(bench.router)
    _finish_openapi(app)
    return app


def _finish_openapi(app: FastAPI) -> None:
    """Adds the Problem schema that error responses refer to, and states in the schema the
    text rule every input obeys (no control characters), so the contract is what is enforced."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        schema = app.openapi_schema
        if schema is None:
            schema = build()  # FastAPI's builder also stores it in app.openapi_schema
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components.update(problem_schemas())
            finish_document(schema)
        return schema

    # Replacing app.openapi is FastAPI's documented way to extend the schema; mypy sees a method.
    app.openapi = openapi  # type: ignore[method-assign]
