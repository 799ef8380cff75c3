"""The zoo's right of reply: its representative's replies to incidents about it. Replies are
never changed or deleted; a correction is a new reply."""

from collections.abc import Sequence

from sqlmodel import Session, col, select

from app.core.errors import Forbidden
from app.models import ApiKey, IncidentReply, WelfareIncident
from app.models.api_key import Role
from app.models.base import row_id, utcnow
from app.models.reply import IncidentReplyCreate
from app.services import incident_events
from app.services import incidents as incident_service
from app.services.common import commit, paginate


def ensure_represents(actor: ApiKey, zoo_id: int) -> None:
    """Only a zoo_representative key limited to exactly this zoo may reply for it."""
    if actor.role is not Role.zoo_representative:
        raise Forbidden(
            f"Only the zoo's zoo_representative key may reply; the key has {actor.role.value}."
        )
    if actor.zoo_ids != [zoo_id]:
        raise Forbidden(
            f"This key represents zoos {actor.zoo_ids}; it may not reply for zoo {zoo_id}."
        )


def create(
    *,
    session: Session,
    incident: WelfareIncident,
    reply_in: IncidentReplyCreate,
    actor: ApiKey,
) -> IncidentReply:
    """Adds the zoo's reply to one of its incidents; the incident counts it, gets a new
    version, and its audit trail records it (kind reply_added)."""
    ensure_represents(actor, incident.zoo_id)
    locked = incident_service.lock(session, row_id(incident)) or incident
    now = utcnow()
    reply = IncidentReply(
        incident_id=row_id(locked),
        zoo_id=locked.zoo_id,
        body=reply_in.body,
        created_at=now,
        api_key_id=actor.id,
    )
    session.add(reply)
    locked.reply_count += 1
    locked.last_replied_at = now
    incident_service.touch(locked)
    incident_events.record_events(session, incident_events.reply_added_event(locked, actor))
    session.add(locked)
    commit(session)
    return reply


def list_replies(
    *, session: Session, incident: WelfareIncident, limit: int, offset: int
) -> tuple[Sequence[IncidentReply], int]:
    """The incident's replies, oldest first."""
    stmt = (
        select(IncidentReply)
        .where(IncidentReply.incident_id == incident.id)
        .order_by(col(IncidentReply.id))
    )
    return paginate(session, stmt, limit=limit, offset=offset)
