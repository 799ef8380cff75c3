"""The zoo's right of reply: its representative replies to incidents about it; anyone
reads the replies. Replies are immutable (no PATCH, no DELETE)."""

from typing import Annotated

from fastapi import APIRouter, Depends, status

from app.api.deps import IncidentDep, PageDep, ReadSessionDep, WriteSessionDep, require_role
from app.api.guard import GuardedRoute
from app.core.problem_docs import WRITE_ERRORS, problem_example, problem_responses
from app.models.api_key import ApiKey, Role
from app.models.page import Page
from app.models.reply import IncidentReply, IncidentReplyCreate, IncidentReplyPublic
from app.services import replies as reply_service

router = APIRouter(prefix="/incidents", tags=["replies"], route_class=GuardedRoute)

RepresentativeDep = Annotated[ApiKey, Depends(require_role(Role.zoo_representative))]
EXAMPLES = {
    403: {
        "not_the_zoo": problem_example(
            403,
            "forbidden",
            "This key represents zoos [1]; it may not reply for zoo 2.",
            "/api/v1/incidents/7/replies",
        ),
        "wrong_role": problem_example(
            403,
            "forbidden",
            "This needs the zoo_representative role; the key has inspector.",
            "/api/v1/incidents/7/replies",
        ),
    }
}


@router.post(
    "/{incident_id}/replies",
    name="incident_replies_create",
    response_model=IncidentReplyPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Reply for the zoo",
    responses=problem_responses(404, 422, *WRITE_ERRORS, examples=EXAMPLES),
)
def create_reply(
    session: WriteSessionDep,
    actor: RepresentativeDep,
    incident: IncidentDep,
    reply_in: IncidentReplyCreate,
) -> IncidentReply:
    """The zoo's representative (a zoo_representative key limited to the incident's zoo)
    answers the incident. Replies are public and never changed: a correction is a new
    reply. The incident's `reply_count` and `last_replied_at` follow."""
    return reply_service.create(session=session, incident=incident, reply_in=reply_in, actor=actor)


@router.get(
    "/{incident_id}/replies",
    name="incident_replies_list",
    response_model=Page[IncidentReplyPublic],
    summary="The zoo's replies to an incident",
    responses=problem_responses(404, 422),
)
def list_replies(
    session: ReadSessionDep, incident: IncidentDep, page: PageDep
) -> Page[IncidentReply]:
    """The zoo's replies, oldest first."""
    items, total = reply_service.list_replies(
        session=session, incident=incident, limit=page.limit, offset=page.offset
    )
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)
