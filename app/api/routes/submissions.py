"""Public submission routes: anyone submits without a key; the receipt shows the status; the
zoo's inspectors work the moderation queue."""

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response, status

from app.api.deps import (
    OPTIONAL_KEY,
    CursorPageDep,
    IdPath,
    InspectorDep,
    OptionalKeyDep,
    ReadSessionDep,
    SubmissionBudgetDep,
    UpdatedSinceQuery,
    WriteSessionDep,
    ZooRefQuery,
    client_of,
    cursor_page,
)
from app.api.guard import GuardedRoute
from app.core.errors import TooManyRequests
from app.core.problem_docs import WRITE_ERRORS, problem_example, problem_responses
from app.core.ratelimit import ClientLimits
from app.models.page import CursorPage
from app.models.report import WelfareReportPublic
from app.models.submission import (
    RECEIPT_HEADER,
    SubmissionAccept,
    SubmissionCreate,
    SubmissionCreated,
    SubmissionPublic,
    SubmissionReject,
    SubmissionStatus,
    SubmissionStatusView,
)
from app.services import reports as report_service
from app.services import submissions as submission_service
from app.services.submissions import ReceiptRefused, SubmissionSort

router = APIRouter(prefix="/submissions", tags=["submissions"], route_class=GuardedRoute)

PREFIX = "/api/v1/submissions"
EXAMPLES = {
    404: {
        "no_such_receipt": problem_example(
            404,
            "not-found",
            "No submission with id 7 for this receipt or key.",
            f"{PREFIX}/7",
        )
    },
    409: {
        "not_pending": problem_example(
            409,
            "conflict",
            "Submission 7 is accepted; only pending submissions can be accepted or rejected.",
            f"{PREFIX}/7/accept",
        )
    },
    429: {
        "too_many_submissions": problem_example(
            429,
            "rate-limited",
            "Public submissions are limited to 5/hour per address; try again in 1200 s.",
            PREFIX,
        )
    },
}
PAUSED = {
    409: {
        "submissions_paused": problem_example(
            409,
            "submissions-paused",
            "Public submissions about zoo 1 are paused; try again later or contact the registry.",
            PREFIX,
        )
    },
    429: EXAMPLES[429],
}
LOCATION = {"Location": {"description": "Where to follow it.", "schema": {"type": "string"}}}


SubmissionIdPath = IdPath


@router.post(
    "",
    name="submissions_create",
    response_model=SubmissionCreated,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Submit what you saw, without a key",
    responses={
        202: {"headers": LOCATION},
        **problem_responses(408, 409, 413, 422, 429, examples=PAUSED),
    },
    openapi_extra=OPTIONAL_KEY,
)
def create_submission(
    budget: SubmissionBudgetDep,
    session: WriteSessionDep,
    submission_in: SubmissionCreate,
    response: Response,
) -> SubmissionCreated:
    """The fields of a report (`POST /reports`), the severity optional. Nothing is public
    until an inspector of the zoo accepts it. The answer's `receipt` is shown once: send it
    as `X-Receipt` to `GET /submissions/{id}` to follow the submission. Limited per client
    address (ZWR_SUBMISSION_RATE_LIMIT); `website` must be left empty."""
    submission, receipt = submission_service.create(session=session, submission_in=submission_in)
    response.headers["Location"] = f"{PREFIX}/{submission.id}"
    return SubmissionCreated(id=submission.id or 0, status=submission.status, receipt=receipt)


@router.get(
    "",
    name="submissions_list",
    response_model=CursorPage[SubmissionPublic],
    summary="The moderation queue",
    responses=problem_responses(401, 403, 422),
)
def list_submissions(
    session: ReadSessionDep,
    viewer: InspectorDep,
    page: CursorPageDep,
    status: SubmissionStatus | None = None,
    zoo_id: ZooRefQuery = None,
    updated_since: UpdatedSinceQuery = None,
    sort: Annotated[
        SubmissionSort, Query(description="`field` ascending or `-field` descending; ties by id.")
    ] = SubmissionSort.id,
) -> Response:
    """Submissions of the key's zoos (every zoo's for a key not limited to zoos), oldest
    first unless sorted, whole (with the submitter's name and contact). Paged by `offset`, or
    by the cursor each page gives as `next`."""
    found = submission_service.list_submissions(
        session=session,
        viewer=viewer,
        status=status,
        zoo_ref=zoo_id,
        updated_since=updated_since,
        sort=sort,
        limit=page.limit,
        offset=page.offset,
        after=page.after,
        count=page.count,
    )
    return cursor_page(SubmissionPublic, found, page)


@router.get(
    "/{submission_id}",
    name="submissions_get",
    response_model=SubmissionPublic | SubmissionStatusView,
    summary="Follow a submission by its receipt",
    responses=problem_responses(404, 422, examples=EXAMPLES),
    openapi_extra=OPTIONAL_KEY,
)
def get_submission(
    request: Request,
    session: ReadSessionDep,
    viewer: OptionalKeyDep,
    submission_id: SubmissionIdPath,
    receipt: Annotated[
        str | None,
        Header(
            alias=RECEIPT_HEADER,
            min_length=1,
            max_length=100,
            pattern=r"^[A-Za-z0-9_-]+$",
            description="The receipt POST /submissions answered with.",
        ),
    ] = None,
) -> SubmissionPublic | SubmissionStatusView:
    """With its receipt: the status (`pending`; `accepted` with the public `incident_id`;
    `rejected` with the `reason`) and nothing else. The zoo's inspectors and admins see it
    whole. Anyone else, and a wrong receipt, get a 404 that does not say whether it exists;
    wrong receipts count as failed authentications of the address."""
    limits: ClientLimits = request.app.state.client_limits
    address = client_of(request)
    if receipt is not None and (retry_after := limits.auth_failures.exhausted(address)):
        raise TooManyRequests(
            f"Too many failed authentications from this address; try again in {retry_after} s.",
            retry_after=retry_after,
        )
    try:
        return submission_service.view(
            session=session, submission_id=submission_id, receipt=receipt, viewer=viewer
        )
    except ReceiptRefused:
        limits.auth_failures.hit(address)
        raise


@router.post(
    "/{submission_id}/accept",
    name="submissions_accept",
    response_model=WelfareReportPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Accept a submission: file it as a report",
    responses={
        201: {"headers": LOCATION},
        **problem_responses(404, 409, 422, *WRITE_ERRORS, examples=EXAMPLES),
    },
)
def accept_submission(
    session: WriteSessionDep,
    actor: InspectorDep,
    submission_id: SubmissionIdPath,
    accept_in: SubmissionAccept,
    response: Response,
) -> WelfareReportPublic:
    """An inspector of the zoo (or an admin) files the pending submission as a report: into
    a new incident, or into the one named (a duplicate of an existing case), exactly as
    `POST /reports` would, and records who accepted it. Answers with the report; the
    receipt then shows `accepted` and the incident."""
    report = submission_service.accept(
        session=session, submission_id=submission_id, accept_in=accept_in, actor=actor
    )
    response.headers["Location"] = f"/api/v1/reports/{report.id}"
    return report_service.to_public(report, actor)


@router.post(
    "/{submission_id}/reject",
    name="submissions_reject",
    response_model=SubmissionPublic,
    summary="Reject a submission, with a reason",
    responses=problem_responses(404, 409, 422, *WRITE_ERRORS, examples=EXAMPLES),
)
def reject_submission(
    session: WriteSessionDep,
    actor: InspectorDep,
    submission_id: SubmissionIdPath,
    reject_in: SubmissionReject,
) -> SubmissionPublic:
    """An inspector of the zoo (or an admin) rejects the pending submission; the reason is
    what its receipt then shows. A rejected submission is never public."""
    submission = submission_service.reject(
        session=session, submission_id=submission_id, reject_in=reject_in, actor=actor
    )
    return SubmissionPublic.model_validate(submission)
