"""Report routes: reporters post what they saw; each report feeds an incident."""

from typing import Annotated

from fastapi import APIRouter, Header, Query, Response, status
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from app.api.deps import (
    OPTIONAL_KEY,
    TIME_QUERY_HELP,
    AwareDatetimeQuery,
    CursorPageDep,
    IdQuery,
    OptionalKeyDep,
    ReadSessionDep,
    ReportDep,
    ReporterDep,
    ReportingKeyDep,
    WriteSessionDep,
    ZooRefQuery,
    cursor_page,
)
from app.api.guard import GuardedRoute
from app.core.problem_docs import WRITE_ERRORS, problem_responses
from app.models.page import CursorPage
from app.models.report import WelfareReportCreate, WelfareReportPublic
from app.services import reports as report_service
from app.services.reports import ReportSort

router = APIRouter(prefix="/reports", tags=["reports"], route_class=GuardedRoute)


@router.post(
    "",
    name="reports_submit",
    response_model=WelfareReportPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Submit a welfare report",
    responses=problem_responses(422, *WRITE_ERRORS),
)
async def submit_report(
    session: WriteSessionDep,
    actor: ReportingKeyDep,
    report_in: WelfareReportCreate,
    idempotency_key: Annotated[
        str | None,
        Header(
            min_length=1,
            max_length=200,
            pattern=r"^[\x21-\x7e]+$",
            description="Retry safely: the same key and body return the first response "
            "(with Idempotent-Replayed: true) and write nothing; kept at least 24 hours.",
        ),
    ] = None,
) -> JSONResponse:
    """Stores a report and opens a new incident (status `reported`), or, with `incident_id`,
    adds it to that incident (reopening a resolved or dismissed one for review). The incident's
    report count, observation times and severity follow."""
    # One hop to a worker thread for the whole write (the key was admitted before the body
    # was read, by app/api/guard.py).
    result = await run_in_threadpool(
        report_service.submit_as,
        session=session,
        actor=actor,
        report_in=report_in,
        idempotency_key=idempotency_key,
    )
    headers = {"Location": result.location}
    if result.replayed:
        headers["Idempotent-Replayed"] = "true"
    # The body was built from a validated WelfareReportPublic; sent as it is.
    return JSONResponse(result.body, status_code=201, headers=headers)


@router.get(
    "",
    response_model=CursorPage[WelfareReportPublic],
    summary="List reports",
    name="reports_list",
    responses=problem_responses(401, 403, 422),
)
def list_reports(
    session: ReadSessionDep,
    viewer: ReporterDep,
    page: CursorPageDep,
    zoo_id: ZooRefQuery = None,
    incident_id: IdQuery = None,
    observed_since: Annotated[
        AwareDatetimeQuery,
        Query(description=f"Observed at or after this time. {TIME_QUERY_HELP}."),
    ] = None,
    observed_until: Annotated[
        AwareDatetimeQuery,
        Query(description=f"Observed at or before this time. {TIME_QUERY_HELP}."),
    ] = None,
    sort: Annotated[
        ReportSort, Query(description="`field` ascending or `-field` descending; ties by id.")
    ] = ReportSort.id,
) -> Response:
    """The reports the key may list, oldest first unless sorted: a reporter key sees the
    reports it submitted; an inspector or admin key those of its zoos, or every report when
    it is not limited to zoos. Reporter name and contact are shown as on a single report.
    Paged by `offset`, or by the cursor each page gives as `next`."""
    found = report_service.list_reports(
        session=session,
        viewer=viewer,
        zoo_ref=zoo_id,
        incident_id=incident_id,
        observed_since=observed_since,
        observed_until=observed_until,
        sort=sort,
        limit=page.limit,
        offset=page.offset,
        after=page.after,
        count=page.count,
    )
    return cursor_page(
        WelfareReportPublic, found, page, [report_service.to_public(r, viewer) for r in found.items]
    )


@router.get(
    "/{report_id}",
    name="reports_get",
    response_model=WelfareReportPublic,
    summary="Get a report",
    responses=problem_responses(401, 404, 422),
    openapi_extra=OPTIONAL_KEY,
)
def get_report(report: ReportDep, viewer: OptionalKeyDep) -> WelfareReportPublic:
    """One report. Reporter name and contact are shown only to admins, inspectors for the zoo
    and the key that submitted it."""
    return report_service.to_public(report, viewer)
