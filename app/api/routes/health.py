"""Operations: liveness, readiness (database reachable and migrated), Prometheus metrics."""

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

from app.core import migrations
from app.core.errors import DomainError, problem_responses

router = APIRouter(tags=["operations"])


class ServiceUnavailable(DomainError):
    status = 503
    slug = "not-ready"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"Retry-After": "5"})


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    database: str
    schema_revision: str


@router.get("/healthz", response_model=Health, summary="Liveness")
async def healthz() -> Health:
    """The process is up and answering; says nothing about the database."""
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Readiness,
    summary="Readiness",
    responses=problem_responses(503),
)
def readyz(request: Request) -> Readiness:
    """Ready when the database answers and its schema is at the latest migration; 503 otherwise."""
    engine = request.app.state.engine
    try:
        current = migrations.current_revision(engine)
    except Exception as exc:  # any failure to reach the database means not ready
        raise ServiceUnavailable(f"The database does not answer: {type(exc).__name__}.") from exc
    head = migrations.head_revision()
    if current != head:
        raise ServiceUnavailable(
            f"The database schema is at {current or 'no revision'}, not {head}; run "
            "`zoo-registry db upgrade`."
        )
    return Readiness(status="ready", database=engine.dialect.name, schema_revision=head)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
async def metrics(request: Request) -> PlainTextResponse:
    """Request counts and latencies by route template and status, in Prometheus text format."""
    body = generate_latest(request.app.state.metrics.registry)
    return PlainTextResponse(body, media_type=CONTENT_TYPE_LATEST)
