"""Operations: liveness, readiness (database reachable and migrated), Prometheus metrics."""

import hmac

import anyio
from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse
from fastapi.security import HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from app.core import migrations
from app.core.errors import DomainError, Unauthorized
from app.core.problem_docs import problem_example, problem_responses

router = APIRouter(tags=["operations"])

# Documents the token /metrics takes (the route compares the header itself): a scheme of its
# own, optional, since only a server with ZWR_METRICS_TOKEN set asks for it.
metrics_token = HTTPBearer(
    auto_error=False,
    scheme_name="MetricsToken",
    description="ZWR_METRICS_TOKEN, when the server sets one: `Authorization: Bearer <token>`.",
)

ADMISSION_WAIT_S = 2.0
DATABASE_WAIT_S = 5.0


class ServiceUnavailable(DomainError):
    status = 503
    slug = "not-ready"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"Retry-After": "5"})


NOT_READY = {
    503: {
        "not_ready": problem_example(
            503,
            "not-ready",
            "The database schema is at no revision, not 0009; run `zoo-registry db upgrade`.",
            "/readyz",
        )
    }
}
BAD_METRICS_TOKEN = {
    401: {
        "bad_token": problem_example(
            401,
            "unauthorized",
            "/metrics needs Authorization: Bearer <ZWR_METRICS_TOKEN>.",
            "/metrics",
        )
    }
}


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    database: str
    schema_revision: str


@router.get("/healthz", name="health_live", response_model=Health, summary="Liveness")
async def healthz() -> Health:
    """The process is up and answering; says nothing about the database."""
    return Health(status="ok")


@router.get(
    "/readyz",
    name="health_ready",
    response_model=Readiness,
    summary="Readiness",
    responses=problem_responses(503, examples=NOT_READY),
)
async def readyz(request: Request) -> Readiness:
    """Ready when a database slot comes free within 2 s, the database answers and its schema is
    at the latest migration; 503 otherwise, fast, so a saturated server is taken out of a load
    balancer's rotation instead of answering slowly."""
    state = request.app.state
    if not await state.admission.try_slot(ADMISSION_WAIT_S):
        raise ServiceUnavailable(
            f"All {state.admission.limit} database slots stayed busy for {ADMISSION_WAIT_S:g} s."
        )
    engine = state.engine
    try:
        with anyio.fail_after(DATABASE_WAIT_S):
            current = await run_in_threadpool(migrations.current_revision, engine)
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
    name="metrics_get",
    summary="Prometheus metrics",
    response_class=PlainTextResponse,
    dependencies=[Depends(metrics_token)],
    openapi_extra={"security": [{}]},
    responses={
        200: {"content": {"text/plain": {"schema": {"type": "string"}}}},
        **problem_responses(401, examples=BAD_METRICS_TOKEN),
    },
)
async def metrics(request: Request) -> PlainTextResponse:
    """Request counts and latencies by route template and status, in Prometheus text format.
    With ZWR_METRICS_TOKEN set, only for `Authorization: Bearer <that token>`."""
    token = request.app.state.settings.metrics_token
    if token is not None:
        sent = request.headers.get("authorization", "")
        expected = f"Bearer {token.get_secret_value()}"
        if not hmac.compare_digest(sent.encode(), expected.encode()):
            raise Unauthorized("/metrics needs Authorization: Bearer <ZWR_METRICS_TOKEN>.")
    body = generate_latest(request.app.state.metrics.registry)
    return PlainTextResponse(body, media_type=CONTENT_TYPE_LATEST)
