"""The /api/v1 router: every resource's routes in one place."""

from fastapi import APIRouter

from app.api.routes import animals, enclosures, gifts, keys, species, zoos

api_router = APIRouter(prefix="/api/v1")
for module in (zoos, species, enclosures, gifts, animals, keys):
    api_router.include_router(module.router)
