"""Gift rules: the recipient zoo exists, no delete while animals trace their origin to it."""

from collections.abc import Sequence
from datetime import date, datetime
from enum import StrEnum

from sqlmodel import Session, col, or_, select

from app.core.errors import Unprocessable, field_error
from app.models import Animal, ApiKey, Gift, Zoo
from app.models.gift import GiftCreate, GiftUpdate
from app.services import zoos as zoo_service
from app.services.access import ensure_zoo_scope
from app.services.animals import ANIMAL_SORT_COLUMNS, AnimalSort
from app.services.common import (
    apply_update,
    commit,
    ensure_unused,
    like_filter,
    ordering,
    paginate,
    require_ref,
)


class GiftSort(StrEnum):
    """`field` ascending, `-field` descending (undated gifts last either way); ties by id."""

    id = "id"
    id_desc = "-id"
    title = "title"  # type: ignore[assignment]  # a member named like str.title, on purpose
    title_desc = "-title"
    delivered_on = "delivered_on"
    delivered_on_desc = "-delivered_on"
    updated_at = "updated_at"
    updated_at_desc = "-updated_at"


GIFT_SORT_COLUMNS = {
    "title": Gift.title,
    "delivered_on": Gift.delivered_on,
    "updated_at": Gift.updated_at,
}


def list_gifts(
    *,
    session: Session,
    donor_country: str | None = None,
    recipient_country: str | None = None,
    recipient_zoo_ref: str | None = None,
    delivered_from: date | None = None,
    delivered_until: date | None = None,
    q: str | None = None,
    updated_since: datetime | None = None,
    sort: GiftSort = GiftSort.delivered_on_desc,
    limit: int,
    offset: int,
) -> tuple[Sequence[Gift], int]:
    """Lists gifts (newest first unless sorted), filtered by countries, recipient zoo (id or
    slug), dates, change time and a search."""
    stmt = select(Gift)
    if donor_country:
        stmt = stmt.where(Gift.donor_country == donor_country.upper())
    if recipient_country:
        stmt = stmt.where(Gift.recipient_country == recipient_country.upper())
    if recipient_zoo_ref is not None:
        stmt = stmt.where(zoo_service.matches_ref(Gift.recipient_zoo_id, recipient_zoo_ref))
    if delivered_from:
        stmt = stmt.where(col(Gift.delivered_on) >= delivered_from)
    if delivered_until:
        stmt = stmt.where(col(Gift.delivered_on) <= delivered_until)
    if q:
        stmt = stmt.where(
            or_(
                like_filter(Gift.title, q),
                like_filter(Gift.donor_name, q),
                like_filter(Gift.recipient_name, q),
                like_filter(Gift.occasion, q),
            )
        )
    if updated_since is not None:
        stmt = stmt.where(col(Gift.updated_at) >= updated_since)
    # Undated gifts last on both databases (ordering puts NULL last, whichever the direction).
    stmt = stmt.order_by(*ordering(sort, GIFT_SORT_COLUMNS, id_column=Gift.id))
    return paginate(session, stmt, limit=limit, offset=offset)


def list_animals(
    *,
    session: Session,
    gift: Gift,
    sort: AnimalSort = AnimalSort.id,
    limit: int,
    offset: int,
) -> tuple[Sequence[Animal], int]:
    """Lists the animals a gift brought, by id unless sorted."""
    stmt = select(Animal).where(Animal.gift_id == gift.id)
    stmt = stmt.order_by(*ordering(sort, ANIMAL_SORT_COLUMNS, id_column=Animal.id))
    return paginate(session, stmt, limit=limit, offset=offset)


def create(*, session: Session, gift_in: GiftCreate, actor: ApiKey) -> Gift:
    """Records a gift; a named recipient zoo must exist."""
    ensure_zoo_scope(actor, gift_in.recipient_zoo_id)
    if gift_in.recipient_zoo_id is not None:
        require_ref(session, Zoo, gift_in.recipient_zoo_id, "recipient_zoo_id", "zoo")
    gift = Gift.model_validate(gift_in)
    session.add(gift)
    commit(session)
    return gift


def ensure_animals_in(session: Session, gift: Gift, zoo_id: int) -> None:
    """The rule animals follow (services/animals.py): a gift's animals are in its zoo."""
    stmt = select(Animal.zoo_id).where(Animal.gift_id == gift.id, Animal.zoo_id != zoo_id)
    elsewhere = session.exec(stmt.limit(1)).first()
    if elsewhere is not None:
        message = (
            f"Animals of zoo {elsewhere} trace their origin to gift {gift.id}; "
            f"it cannot name zoo {zoo_id} as its recipient."
        )
        raise Unprocessable(message, errors=[field_error(["body", "recipient_zoo_id"], message)])


def update(*, session: Session, gift: Gift, gift_in: GiftUpdate, actor: ApiKey) -> Gift:
    """Changes a gift's record."""
    ensure_zoo_scope(actor, gift.recipient_zoo_id)
    changes = gift_in.model_dump(exclude_unset=True)
    if "recipient_zoo_id" in changes:
        ensure_zoo_scope(actor, changes["recipient_zoo_id"])
    if changes.get("recipient_zoo_id") is not None:
        recipient = changes["recipient_zoo_id"]
        require_ref(session, Zoo, recipient, "recipient_zoo_id", "zoo")
        ensure_animals_in(session, gift, recipient)
    apply_update(gift, changes)
    session.add(gift)
    commit(session)
    return gift


def delete(*, session: Session, gift: Gift, actor: ApiKey) -> None:
    """Deletes a gift that no animal's origin refers to."""
    ensure_zoo_scope(actor, gift.recipient_zoo_id)
    ensure_unused(session, [(select(Animal.id).where(Animal.gift_id == gift.id), "animals")])
    session.delete(gift)
    commit(session)
