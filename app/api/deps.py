"""Named dependencies: the session, paging, and load-or-404 for every entity."""

import re
from collections.abc import Callable, Sequence
from datetime import date
from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, WithJsonSchema
from sqlmodel import Session

from app.api.guard import BUDGET_STATE, Requirement, admitted_key
from app.api.sessions import SessionDep, read_session, write_session
from app.concerns import ConcernReadModel
from app.core.config import Settings
from app.core.errors import Unauthorized
from app.core.rendered import json_response
from app.core.submission_limits import SubmissionLimit
from app.models import Animal, ApiKey, Enclosure, Gift, Species, WelfareIncident, WelfareReport, Zoo
from app.models.api_key import Role
from app.models.base import ID_MAX, in_utc
from app.models.page import CursorPage
from app.models.zoo import SLUG_PATTERN
from app.services import zoos as zoo_service
from app.services.common import get_or_404
from app.services.keyset import CURSOR_MAX, KeysetPage

DEFAULT_LIMIT = 50
MAX_LIMIT = 500  # above the cap is a 422, never a silent clamp

# The request's session (app/api/sessions.py), named by the kind the route needs. The loaders
# below take the same one (SessionDep, also for routes that name no kind), of that kind.
ReadSessionDep = Annotated[Session, Depends(read_session)]
WriteSessionDep = Annotated[Session, Depends(write_session)]


class PageParams(BaseModel):
    limit: int
    offset: int


# Dependencies without I/O are async: they run on the event loop, not in a threadpool hop.
async def page_params(
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description=f"Page size, at most {MAX_LIMIT}.")
    ] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, le=10_000_000, description="Rows to skip.")] = 0,
) -> PageParams:
    return PageParams(limit=limit, offset=offset)


PageDep = Annotated[PageParams, Depends(page_params)]


class CursorParams(PageParams):
    after: str | None
    count: bool


async def cursor_params(
    page: PageDep,
    after: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=CURSOR_MAX,
            pattern="^[A-Za-z0-9_-]+$",
            description="A page's `next` cursor: the page after it, however deep, at the cost "
            "of the first (use it rather than a large `offset`). Not with `offset`.",
        ),
    ] = None,
    count: Annotated[
        bool, Query(description="With `after`: count `total` too (it is null otherwise).")
    ] = False,
) -> CursorParams:
    return CursorParams(limit=page.limit, offset=page.offset, after=after, count=count)


# A long list's paging: by `offset`, or by the cursor each page gives as `next`.
CursorPageDep = Annotated[CursorParams, Depends(cursor_params)]


def cursor_page(
    item: type[BaseModel],
    found: KeysetPage[Any],
    page: CursorParams,
    items: Sequence[Any] | None = None,
) -> Response:
    """The response of a cursor-paged list of `item`s: its rows, or `items` made of them."""
    body = {
        "items": found.items if items is None else items,
        "total": found.total,
        "limit": page.limit,
        "offset": page.offset,
        "next": found.next,
    }
    return json_response(CursorPage[item], body)  # type: ignore[valid-type]  # a runtime type


def _iso_text(value: object) -> object:
    # Pydantic would read "0" or "0.5" as a Unix timestamp; a query takes ISO 8601 only.
    if isinstance(value, str) and not ISO_PREFIX.match(value):
        raise ValueError("must be an ISO 8601 date or time, e.g. 2024-11-20T00:00:00Z")
    return value


def _day_start(value: object) -> object:
    # A plain date is the start of that day in UTC; anything else must name its timezone.
    value = _iso_text(value)
    if isinstance(value, str) and DATE_ONLY.match(value):
        return f"{value}T00:00:00Z"
    return value


ISO_PREFIX = re.compile(r"^\d{4}-\d{2}-\d{2}")
DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DateQuery = Annotated[date | None, BeforeValidator(_iso_text)]
# In UTC, as compared with the stored times: one that cannot be is a 422, not an overflow.
AwareDatetimeQuery = Annotated[
    Annotated[AwareDatetime, AfterValidator(in_utc)] | None,
    BeforeValidator(_day_start),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "format": "date-time"},
                {"type": "string", "format": "date"},
                {"type": "null"},
            ]
        }
    ),
]
TIME_QUERY_HELP = "With a timezone, or a plain date for the start of that day in UTC"
UpdatedSinceQuery = Annotated[
    AwareDatetimeQuery,
    Query(description=f"Only those changed at or after this time. {TIME_QUERY_HELP}."),
]
IdPath = Annotated[int, Path(ge=1, le=ID_MAX)]
IdQuery = Annotated[int | None, Query(ge=1, le=ID_MAX)]


# A zoo filter: its id or its slug (services/zoos.py matches_ref). One no zoo has, an id
# beyond any zoo's (0 included) or an unknown slug, matches nothing: an empty list, not a 422,
# as the document's pattern admits any digits.
ZooRefQuery = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=80,
        pattern=rf"^(?:[0-9]+|{SLUG_PATTERN[1:-1]})$",
        description="The zoo's id or slug; one no zoo has gives an empty list.",
    ),
]


ZooRefPath = Annotated[
    str,
    Path(
        min_length=1,
        max_length=80,
        description="The zoo's numeric id or its slug.",
        examples=["korea-central-zoo"],
    ),
]


def get_zoo_or_404(session: SessionDep, zoo: ZooRefPath) -> Zoo:
    return zoo_service.get_by_ref(session=session, ref=zoo)


def get_species_or_404(session: SessionDep, species_id: IdPath) -> Species:
    return get_or_404(session, Species, species_id, "species")


def get_enclosure_or_404(session: SessionDep, enclosure_id: IdPath) -> Enclosure:
    return get_or_404(session, Enclosure, enclosure_id, "enclosure")


def get_gift_or_404(session: SessionDep, gift_id: IdPath) -> Gift:
    return get_or_404(session, Gift, gift_id, "gift")


def get_animal_or_404(session: SessionDep, animal_id: IdPath) -> Animal:
    return get_or_404(session, Animal, animal_id, "animal")


ZooDep = Annotated[Zoo, Depends(get_zoo_or_404)]
SpeciesDep = Annotated[Species, Depends(get_species_or_404)]
EnclosureDep = Annotated[Enclosure, Depends(get_enclosure_or_404)]
GiftDep = Annotated[Gift, Depends(get_gift_or_404)]
AnimalDep = Annotated[Animal, Depends(get_animal_or_404)]


# --- authentication and roles ---------------------------------------------------------

bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="An API key: `Authorization: Bearer zwr_<prefix>_<secret>`.",
)


async def get_optional_key(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> ApiKey | None:
    """The caller's key when one is sent (a bad one was refused), else None for anonymous.
    Checked by GuardedRoute before anything else (app/api/guard.py)."""
    return admitted_key(request)


def require_role(role: Role, *, revocation_checked_by_write: bool = False) -> Callable[..., Any]:
    """A dependency that admits keys whose role includes `role`; GuardedRoute checks the key,
    the role and the write budget before the route reads anything else.

    `revocation_checked_by_write`: the key may come from the key cache, because the route's
    write itself refuses a revoked key (the report write path)."""

    async def dependency(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    ) -> ApiKey:
        key = admitted_key(request)
        if key is None:  # GuardedRoute refused it already; kept for a route outside it
            raise Unauthorized("This needs an API key: send Authorization: Bearer <key>.")
        return key

    dependency.__name__ = f"require_{role.value}"
    dependency.requirement = Requirement(role, cached=revocation_checked_by_write)  # type: ignore[attr-defined]  # read by GuardedRoute
    return dependency


OptionalKeyDep = Annotated[ApiKey | None, Depends(get_optional_key)]
# For routes that read with or without a key: the empty requirement marks the key optional.
OPTIONAL_KEY: dict[str, Any] = {"security": [{}]}  # FastAPI adds the ApiKey requirement beside it
ReporterDep = Annotated[ApiKey, Depends(require_role(Role.reporter))]
# Reports: the key may come from the key cache; the write refuses a revoked key itself.
ReportingKeyDep = Annotated[
    ApiKey, Depends(require_role(Role.reporter, revocation_checked_by_write=True))
]
InspectorDep = Annotated[ApiKey, Depends(require_role(Role.inspector))]
AdminDep = Annotated[ApiKey, Depends(require_role(Role.admin))]


# API keys are loaded by their service, which hides keys beyond the caller's zoos.


def get_incident_or_404(session: SessionDep, incident_id: IdPath) -> WelfareIncident:
    return get_or_404(session, WelfareIncident, incident_id, "incident")


def get_report_or_404(session: SessionDep, report_id: IdPath) -> WelfareReport:
    return get_or_404(session, WelfareReport, report_id, "report")


IncidentDep = Annotated[WelfareIncident, Depends(get_incident_or_404)]
ReportDep = Annotated[WelfareReport, Depends(get_report_or_404)]


async def get_settings_from_app(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings_from_app)]


async def get_concerns(request: Request) -> ConcernReadModel:
    concerns: ConcernReadModel = request.app.state.concerns
    return concerns


ConcernsDep = Annotated[ConcernReadModel, Depends(get_concerns)]


def client_of(request: Request) -> str:
    """The client's address as ClientLimitsMiddleware found it (trusted proxies only)."""
    found: str | None = request.scope.get("state", {}).get("client_address")
    return found or (request.client.host if request.client else "unknown")


async def spend_submission_budget(request: Request) -> None:
    """Counts the submission against its address before the body is validated, so refused
    bodies spend the budget too; the response carries the RateLimit-* headers."""
    limit: SubmissionLimit = request.app.state.submission_limit
    budget = limit.hit(client_of(request))
    request.scope.setdefault("state", {})[BUDGET_STATE] = budget


SubmissionBudgetDep = Annotated[None, Depends(spend_submission_budget)]
