"""The /api/v1 router: every resource's routes in one place."""

from fastapi import APIRouter

from app.api.routes import (
    animals,
    concerns,
    countries,
    enclosures,
    events,
    exports,
    gifts,
    imports,
    incidents,
    keys,
    listings,
    replies,
    reports,
    species,
    submissions,
    trade_records,
    webhooks,
    zoos,
)
from app.core.problem_docs import problem_responses

# Any operation can meet these: a bad key sent (401), a spent budget per key or per address
# (429), a database outage (503 with Retry-After).
api_router = APIRouter(prefix="/api/v1", responses=problem_responses(401, 429, 503))
# Routes are matched in order: the busiest (reports, concern lists) first.
for module in (
    reports,
    concerns,
    incidents,
    zoos,
    species,
    listings,
    enclosures,
    gifts,
    animals,
    keys,
    countries,
    trade_records,
    imports,
    exports,
    replies,
    submissions,
    events,
    webhooks,
):
    api_router.include_router(module.router)
