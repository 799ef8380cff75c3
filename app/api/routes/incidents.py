"""Incident routes: list, read, triage (inspector), history and reports."""

from typing import Annotated

from fastapi import APIRouter, Header, Query, Response

from app.api.deps import (
    OPTIONAL_KEY,
    TIME_QUERY_HELP,
    AwareDatetimeQuery,
    CursorPageDep,
    IdQuery,
    IncidentDep,
    InspectorDep,
    OptionalKeyDep,
    PageDep,
    ReadSessionDep,
    UpdatedSinceQuery,
    WriteSessionDep,
    ZooRefQuery,
    cursor_page,
)
from app.api.guard import GuardedRoute
from app.core.problem_docs import WRITE_ERRORS, problem_responses
from app.models.enums import Category, IncidentStatus
from app.models.incident import (
    IncidentEventPublic,
    TransitionRequest,
    WelfareIncidentPublic,
    WelfareIncidentUpdate,
)
from app.models.page import CursorPage, Page
from app.models.report import WelfareReportPublic
from app.services import incidents as incident_service
from app.services import reports as report_service
from app.services.incidents import IncidentSort
from app.services.reports import ReportSort

router = APIRouter(prefix="/incidents", tags=["incidents"], route_class=GuardedRoute)

IfMatch = Annotated[
    str | None,
    Header(
        max_length=200,
        description="The ETag from GET; a stale tag is refused with 412.",
    ),
]
ETAG_HEADER = {"ETag": {"description": "The incident's version tag.", "schema": {"type": "string"}}}


@router.get(
    "",
    name="incidents_list",
    response_model=CursorPage[WelfareIncidentPublic],
    summary="List incidents",
    responses=problem_responses(422),
)
def list_incidents(
    session: ReadSessionDep,
    page: CursorPageDep,
    zoo_id: ZooRefQuery = None,
    animal_id: IdQuery = None,
    enclosure_id: IdQuery = None,
    status: Annotated[
        list[IncidentStatus] | None, Query(description="Repeat for several statuses.")
    ] = None,
    category: Category | None = None,
    min_severity: Annotated[int | None, Query(ge=1, le=5)] = None,
    observed_since: Annotated[
        AwareDatetimeQuery,
        Query(
            description=f"Last observed at or after this time. {TIME_QUERY_HELP}, e.g. 2016-01-01."
        ),
    ] = None,
    observed_until: Annotated[
        AwareDatetimeQuery,
        Query(
            description=f"First observed at or before this time. {TIME_QUERY_HELP} (so 2024-12-31 "
            "leaves that day out), e.g. 2024-12-31T23:59:59Z."
        ),
    ] = None,
    q: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=100,
            description="Search the title and the reports' titles and descriptions.",
        ),
    ] = None,
    updated_since: UpdatedSinceQuery = None,
    sort: Annotated[
        IncidentSort,
        Query(
            description="`field` ascending or `-field` descending; ties by id, newest first. "
            "`recent` (the default) is `-last_observed_at`; `severity` (as `-severity`) is the "
            "most severe first, then the most recently observed."
        ),
    ] = IncidentSort.recent,
) -> Response:
    """Incidents filtered by zoo (id or slug), subject, status, category, severity,
    observation window, change time or a search of their public text (never reporters'
    names or contacts); most recently observed first unless sorted. Paged by `offset`, or by
    the cursor each page gives as `next`."""
    found = incident_service.list_incidents(
        session=session,
        zoo_ref=zoo_id,
        animal_id=animal_id,
        enclosure_id=enclosure_id,
        statuses=status,
        category=category,
        min_severity=min_severity,
        observed_since=observed_since,
        observed_until=observed_until,
        q=q,
        updated_since=updated_since,
        sort=sort,
        limit=page.limit,
        offset=page.offset,
        after=page.after,
        count=page.count,
    )
    return cursor_page(WelfareIncidentPublic, found, page)


@router.get(
    "/{incident_id}",
    name="incidents_get",
    response_model=WelfareIncidentPublic,
    summary="Get an incident",
    responses={200: {"headers": ETAG_HEADER}, **problem_responses(404, 422)},
)
def get_incident(incident: IncidentDep, response: Response) -> WelfareIncidentPublic:
    """One incident, with an `ETag` to send back as `If-Match` when changing it."""
    response.headers["ETag"] = incident.etag
    return WelfareIncidentPublic.model_validate(incident)


@router.patch(
    "/{incident_id}",
    name="incidents_update",
    response_model=WelfareIncidentPublic,
    summary="Set an incident's severity or title",
    responses={
        200: {"headers": ETAG_HEADER},
        **problem_responses(404, 412, 422, *WRITE_ERRORS),
    },
)
def update_incident(
    session: WriteSessionDep,
    actor: InspectorDep,
    incident: IncidentDep,
    incident_in: WelfareIncidentUpdate,
    response: Response,
    if_match: IfMatch = None,
) -> WelfareIncidentPublic:
    """An inspector sets the severity (new reports then no longer raise it) or the title."""
    updated = incident_service.update(
        session=session, incident=incident, incident_in=incident_in, actor=actor, if_match=if_match
    )
    response.headers["ETag"] = updated.etag
    return WelfareIncidentPublic.model_validate(updated)


@router.post(
    "/{incident_id}/transitions",
    name="incident_transitions_create",
    response_model=WelfareIncidentPublic,
    summary="Change an incident's status",
    responses={
        200: {"headers": ETAG_HEADER},
        **problem_responses(404, 409, 412, 422, *WRITE_ERRORS),
    },
)
def transition_incident(
    session: WriteSessionDep,
    actor: InspectorDep,
    incident: IncidentDep,
    request: TransitionRequest,
    response: Response,
    if_match: IfMatch = None,
) -> WelfareIncidentPublic:
    """Allowed: reported -> under_review | confirmed | dismissed; under_review -> confirmed |
    dismissed; confirmed -> resolved; resolved -> under_review; dismissed -> under_review.
    Anything else is a 409 naming the allowed ones."""
    updated = incident_service.transition(
        session=session, incident=incident, request=request, actor=actor, if_match=if_match
    )
    response.headers["ETag"] = updated.etag
    return WelfareIncidentPublic.model_validate(updated)


@router.get(
    "/{incident_id}/history",
    name="incident_history_list",
    response_model=Page[IncidentEventPublic],
    summary="An incident's audit trail",
    responses=problem_responses(401, 404, 422),
    openapi_extra=OPTIONAL_KEY,
)
def incident_history(
    session: ReadSessionDep, incident: IncidentDep, page: PageDep, viewer: OptionalKeyDep
) -> Page[IncidentEventPublic]:
    """Every event, oldest first: created, report added, status and severity changes. Each
    names its actor's role; the acting key's id only for admins and the zoo's inspectors."""
    items, total = incident_service.history(
        session=session, incident=incident, viewer=viewer, limit=page.limit, offset=page.offset
    )
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get(
    "/{incident_id}/reports",
    name="incident_reports_list",
    response_model=Page[WelfareReportPublic],
    summary="An incident's reports",
    responses=problem_responses(401, 404, 422),
    openapi_extra=OPTIONAL_KEY,
)
def incident_reports(
    session: ReadSessionDep,
    incident: IncidentDep,
    page: PageDep,
    viewer: OptionalKeyDep,
    sort: Annotated[
        ReportSort, Query(description="`field` ascending or `-field` descending; ties by id.")
    ] = ReportSort.id,
) -> Page[WelfareReportPublic]:
    """The reports behind the incident, oldest first unless sorted; reporter details only for
    those allowed."""
    items, total = report_service.list_for_incident(
        session=session, incident=incident, sort=sort, limit=page.limit, offset=page.offset
    )
    public = [report_service.to_public(r, viewer) for r in items]
    return Page(items=public, total=total, limit=page.limit, offset=page.offset)
