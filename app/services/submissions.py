"""Public submissions: stored pending with a receipt, shown by receipt or to the zoo's
inspectors, and moderated: accepted (filed as a report, through the report service's own
write) or rejected. Nothing pending or rejected is public anywhere."""

import hashlib
import hmac
import secrets
from datetime import datetime
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import update
from sqlalchemy.engine import CursorResult
from sqlmodel import Session, col, select

from app.core.errors import Conflict, NotFound, Unprocessable, field_error
from app.models import ApiKey, Submission, WelfareIncident, WelfareReport, Zoo
from app.models.api_key import Role
from app.models.base import row_id, utcnow
from app.models.report import WelfareReportCreate
from app.models.submission import (
    SubmissionAccept,
    SubmissionCreate,
    SubmissionPublic,
    SubmissionReject,
    SubmissionStatus,
    SubmissionStatusView,
)
from app.services import keyset
from app.services import reports as report_service
from app.services import zoos as zoo_service
from app.services.access import ensure_zoo_scope
from app.services.common import commit, get_or_404
from app.services.keyset import KeysetPage

RECEIPT_BYTES = 32  # 256 bits: guessing one is hopeless, so a receipt needs no lockout
# Compared against when no submission has the id, so a miss costs what a wrong receipt does.
_NO_SUBMISSION_HASH = hashlib.sha256(b"no submission").hexdigest()
REPORT_FIELDS = (
    "zoo_id",
    "animal_id",
    "enclosure_id",
    "category",
    "title",
    "description",
    "observed_at",
    "reporter_name",
    "reporter_contact",
    "source_url",
    "evidence_urls",
)


class SubmissionsPaused(Conflict):
    slug = "submissions-paused"


class ReceiptRefused(NotFound):
    """A receipt was sent and does not open the submission: answered as a plain 404, and
    counted against the address's failed authentications by the route."""


def hash_receipt(receipt: str) -> str:
    return hashlib.sha256(receipt.encode()).hexdigest()


def _not_found(submission_id: int) -> NotFound:
    return NotFound(f"No submission with id {submission_id} for this receipt or key.")


def _check_suggested_incident(session: Session, submission_in: SubmissionCreate) -> None:
    if submission_in.incident_id is None:
        return
    zoo_id = session.exec(
        select(WelfareIncident.zoo_id).where(WelfareIncident.id == submission_in.incident_id)
    ).first()
    if zoo_id is None or zoo_id != submission_in.zoo_id:
        message = (
            f"No incident with id {submission_in.incident_id}."
            if zoo_id is None
            else f"Incident {submission_in.incident_id} is about zoo {zoo_id}, "
            f"not {submission_in.zoo_id}."
        )
        raise Unprocessable(message, errors=[field_error(["body", "incident_id"], message)])


def create(*, session: Session, submission_in: SubmissionCreate) -> tuple[Submission, str]:
    """Stores a pending submission; returns it and its receipt (never stored, only its hash).
    The zoo, animal and enclosure are checked as a report's are; a paused zoo is a 409."""
    report_service.check_subject(session, submission_in)
    paused = session.exec(
        select(Zoo.submissions_paused).where(Zoo.id == submission_in.zoo_id)
    ).first()
    if paused:
        raise SubmissionsPaused(
            f"Public submissions about zoo {submission_in.zoo_id} are paused; try again later "
            "or contact the registry."
        )
    _check_suggested_incident(session, submission_in)
    receipt = secrets.token_urlsafe(RECEIPT_BYTES)
    now = utcnow()
    submission = Submission(
        **submission_in.model_dump(include=set(REPORT_FIELDS) | {"severity"}),
        suggested_incident_id=submission_in.incident_id,
        receipt_hash=hash_receipt(receipt),
        created_at=now,
        updated_at=now,
    )
    session.add(submission)
    commit(session)
    return submission, receipt


def may_moderate(viewer: ApiKey | None, submission: Submission) -> bool:
    """The zoo's inspectors and admins (within their zoos) see a submission whole."""
    return (
        viewer is not None
        and viewer.role.includes(Role.inspector)
        and viewer.allows_zoo(submission.zoo_id)
    )


def status_view(submission: Submission) -> SubmissionStatusView:
    accepted = submission.status is SubmissionStatus.accepted
    rejected = submission.status is SubmissionStatus.rejected
    return SubmissionStatusView(
        id=row_id(submission),
        status=submission.status,
        incident_id=submission.incident_id if accepted else None,
        reason=submission.rejection_reason if rejected else None,
    )


def view(
    *, session: Session, submission_id: int, receipt: str | None, viewer: ApiKey | None
) -> SubmissionPublic | SubmissionStatusView:
    """The submission whole for its zoo's inspectors; its status for the holder of its
    receipt; for anyone else a 404 that does not say whether it exists."""
    submission = session.get(Submission, submission_id)
    if submission is not None and may_moderate(viewer, submission):
        return SubmissionPublic.model_validate(submission)
    if receipt is None:
        raise _not_found(submission_id)
    stored = submission.receipt_hash if submission is not None else _NO_SUBMISSION_HASH
    if not hmac.compare_digest(stored.encode(), hash_receipt(receipt).encode()):
        raise ReceiptRefused(_not_found(submission_id).detail)
    assert submission is not None  # no receipt hashes to the placeholder
    return status_view(submission)


class SubmissionSort(StrEnum):
    """`field` ascending, `-field` descending; ties by id."""

    id = "id"
    id_desc = "-id"
    created_at = "created_at"
    created_at_desc = "-created_at"
    observed_at = "observed_at"
    observed_at_desc = "-observed_at"
    updated_at = "updated_at"
    updated_at_desc = "-updated_at"


SUBMISSION_SORT_COLUMNS = {
    "created_at": Submission.created_at,
    "observed_at": Submission.observed_at,
    "updated_at": Submission.updated_at,
}


def list_submissions(
    *,
    session: Session,
    viewer: ApiKey,
    status: SubmissionStatus | None,
    zoo_ref: str | None,
    updated_since: datetime | None,
    sort: SubmissionSort = SubmissionSort.id,
    limit: int,
    offset: int = 0,
    after: str | None = None,
    count: bool = False,
) -> KeysetPage[Submission]:
    """The moderation queue: submissions of the viewer's zoos (all for an unscoped key),
    oldest first unless sorted; a page `offset` rows in, or after the cursor `after`."""
    stmt = select(Submission)
    if viewer.zoo_ids is not None:
        stmt = stmt.where(col(Submission.zoo_id).in_(viewer.zoo_ids))
    if status is not None:
        stmt = stmt.where(Submission.status == status)
    if zoo_ref is not None:
        stmt = stmt.where(zoo_service.matches_ref(Submission.zoo_id, zoo_ref))
    if updated_since is not None:
        stmt = stmt.where(col(Submission.updated_at) >= updated_since)
    return keyset.sorted_page(
        session,
        stmt,
        sort=sort,
        columns=SUBMISSION_SORT_COLUMNS,
        id_column=Submission.id,
        limit=limit,
        offset=offset,
        cursor=after,
        count=count,
    )


def _not_pending(submission: Submission) -> Conflict:
    return Conflict(
        f"Submission {submission.id} is {submission.status.value}; only pending submissions "
        "can be accepted or rejected."
    )


def _claim(session: Session, submission_id: int, actor: ApiKey, **values: Any) -> Submission:
    """Loads the submission for moderation (403 beyond the actor's zoos) and moves it from
    pending in one conditional UPDATE, so two moderators at once cannot both decide it."""
    submission = get_or_404(session, Submission, submission_id, "submission")
    ensure_zoo_scope(actor, submission.zoo_id)
    now = utcnow()
    stmt = (
        update(Submission)
        .where(col(Submission.id) == submission_id)
        .where(col(Submission.status) == SubmissionStatus.pending)
        .values(moderated_at=now, updated_at=now, moderated_by_key_id=actor.id, **values)
    )
    claimed = cast(CursorResult[Any], session.execute(stmt)).rowcount
    if not claimed:  # decided a moment ago by someone else
        session.refresh(submission)
        raise _not_pending(submission)
    session.refresh(submission)
    return submission


def accept(
    *, session: Session, submission_id: int, accept_in: SubmissionAccept, actor: ApiKey
) -> WelfareReport:
    """Files the submission as a report, by the same write as POST /reports (a new incident,
    or the one named, reopened if closed; concern lists marked stale), in one transaction
    with its move to accepted. The report's key is the moderator's, who vouches for it."""
    submission = get_or_404(session, Submission, submission_id, "submission")
    ensure_zoo_scope(actor, submission.zoo_id)
    if "incident_id" in accept_in.model_fields_set:
        incident_id = accept_in.incident_id
    else:
        incident_id = submission.suggested_incident_id
    if submission.status is not SubmissionStatus.pending:
        raise _not_pending(submission)
    severity = accept_in.severity or submission.severity
    if severity is None:
        message = "The submitter gave no severity: set one to accept it."
        raise Unprocessable(message, errors=[field_error(["body", "severity"], message)])
    try:
        submission = _claim(
            session,
            submission_id,
            actor,
            status=SubmissionStatus.accepted,
            moderation_note=accept_in.note,
        )
        fields = {name: getattr(submission, name) for name in REPORT_FIELDS}
        # Validated when submitted; built without validating again, as the stored values are.
        report_in = WelfareReportCreate.model_construct(
            **fields, severity=severity, incident_id=incident_id
        )
        report = report_service.file_report(session, report_in, actor)
        session.execute(
            update(Submission)
            .where(col(Submission.id) == submission_id)
            .values(report_id=report.id, incident_id=report.incident_id)
        )
        commit(session)
    except Exception:
        session.rollback()  # the claim too: a refused filing leaves the submission pending
        raise
    return report


def reject(
    *, session: Session, submission_id: int, reject_in: SubmissionReject, actor: ApiKey
) -> Submission:
    """Rejects a pending submission; the reason is what its receipt then shows."""
    submission = _claim(
        session,
        submission_id,
        actor,
        status=SubmissionStatus.rejected,
        rejection_reason=reject_in.reason,
    )
    commit(session)
    session.refresh(submission)
    return submission
