"""Report routes: reporters post what they saw; each report feeds an incident."""

from typing import Annotated

from fastapi import APIRouter, Header, Response, status

from app.api.deps import OPTIONAL_KEY, OptionalKeyDep, ReportDep, ReporterDep, SessionDep
from app.core.errors import WRITE_ERRORS, problem_responses
from app.models.report import WelfareReportCreate, WelfareReportPublic
from app.services import reports as report_service

router = APIRouter(prefix="/reports", tags=["reports"])


@router.post(
    "",
    response_model=WelfareReportPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Submit a welfare report",
    responses=problem_responses(422, *WRITE_ERRORS),
)
def submit_report(
    session: SessionDep,
    actor: ReporterDep,
    report_in: WelfareReportCreate,
    response: Response,
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
) -> WelfareReportPublic:
    """Stores a report and opens a new incident (status `reported`), or, with `incident_id`,
    adds it to that incident (reopening a resolved or dismissed one for review). The incident's
    report count, observation times and severity follow."""
    result = report_service.submit(
        session=session, report_in=report_in, actor=actor, idempotency_key=idempotency_key
    )
    response.headers["Location"] = result.location
    if result.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return WelfareReportPublic.model_validate(result.body)


@router.get(
    "/{report_id}",
    response_model=WelfareReportPublic,
    summary="Get a report",
    responses=problem_responses(401, 404, 422),
    openapi_extra=OPTIONAL_KEY,
)
def get_report(report: ReportDep, viewer: OptionalKeyDep) -> WelfareReportPublic:
    """One report. Reporter name and contact are shown only to admins, inspectors for the zoo
    and the key that submitted it."""
    return report_service.to_public(report, viewer)
