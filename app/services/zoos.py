"""Zoo rules: unique slugs, lookup by id or slug, no delete while anything refers to it."""

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, false, func
from sqlmodel import Session, col, or_, select

from app.core.errors import NotFound
from app.models import (
    Animal,
    ApiKey,
    Enclosure,
    Gift,
    Submission,
    WelfareIncident,
    WelfareReport,
    Zoo,
)
from app.models.zoo import ZooCreate, ZooUpdate, parse_ref
from app.services.access import ensure_zoo_scope
from app.services.common import (
    apply_update,
    commit,
    ensure_absent,
    ensure_unused,
    like_filter,
    ordering,
    paginate,
)


def get_by_ref(*, session: Session, ref: str) -> Zoo:
    """Finds a zoo by numeric id or by slug."""
    parsed = parse_ref(ref)
    if parsed is None:
        raise NotFound(f"No zoo with id or slug '{ref}'.")
    where = Zoo.id == parsed if isinstance(parsed, int) else Zoo.slug == parsed
    # Always read the row afresh: its concern_version keys the concern-list cache.
    zoo = session.exec(select(Zoo).where(where).execution_options(populate_existing=True)).first()
    if zoo is None:
        raise NotFound(f"No zoo with id or slug '{ref}'.")
    return zoo


def matches_ref(column: Any, ref: str) -> ColumnElement[bool]:
    """A filter: `column` holds the zoo a reference names, an id or a slug looked up in the
    same statement. A slug no zoo has matches nothing, as an id no zoo has does."""
    parsed = parse_ref(ref)
    if parsed is None:
        return false()
    if isinstance(parsed, int):
        return col(column) == parsed
    return col(column) == select(Zoo.id).where(Zoo.slug == parsed).scalar_subquery()


def unversioned_state(*, session: Session, ref: str) -> tuple[Any, ...]:
    """What a zoo's page shows that its concern_version does not follow: its own fields
    besides the name (its updated_at), and the gifts it received (how many, and the latest
    change of one). Equal twice: none of those changed in between."""
    gifts = select(func.count(col(Gift.id)), func.max(Gift.updated_at)).where(
        matches_ref(Gift.recipient_zoo_id, ref)
    )
    updated = select(Zoo.updated_at).where(matches_ref(Zoo.id, ref))
    return (session.exec(updated).first(), *session.exec(gifts).one())


class ZooSort(StrEnum):
    """`field` ascending, `-field` descending; ties by id."""

    id = "id"
    id_desc = "-id"
    name = "name"
    name_desc = "-name"
    slug = "slug"
    slug_desc = "-slug"
    city = "city"
    city_desc = "-city"
    country_code = "country_code"
    country_code_desc = "-country_code"
    opened_year = "opened_year"
    opened_year_desc = "-opened_year"
    created_at = "created_at"
    created_at_desc = "-created_at"
    updated_at = "updated_at"
    updated_at_desc = "-updated_at"


ZOO_SORT_COLUMNS = {
    "name": Zoo.name,
    "slug": Zoo.slug,
    "city": Zoo.city,
    "country_code": Zoo.country_code,
    "opened_year": Zoo.opened_year,
    "created_at": Zoo.created_at,
    "updated_at": Zoo.updated_at,
}


def list_zoos(
    *,
    session: Session,
    country_code: str | None = None,
    q: str | None = None,
    updated_since: datetime | None = None,
    sort: ZooSort = ZooSort.id,
    limit: int,
    offset: int,
) -> tuple[Sequence[Zoo], int]:
    """Lists zoos (by id unless sorted), filtered by country, change time and a search."""
    stmt = select(Zoo)
    if country_code:
        stmt = stmt.where(Zoo.country_code == country_code.upper())
    if q:
        stmt = stmt.where(
            or_(like_filter(Zoo.name, q), like_filter(Zoo.city, q), like_filter(Zoo.slug, q))
        )
    if updated_since is not None:
        stmt = stmt.where(col(Zoo.updated_at) >= updated_since)
    stmt = stmt.order_by(*ordering(sort, ZOO_SORT_COLUMNS, id_column=Zoo.id))
    return paginate(session, stmt, limit=limit, offset=offset)


def _ensure_slug_free(session: Session, slug: str, own_id: int | None = None) -> None:
    stmt = select(Zoo.id).where(Zoo.slug == slug)
    if own_id is not None:
        stmt = stmt.where(Zoo.id != own_id)
    ensure_absent(session, stmt, f"A zoo with slug '{slug}' already exists.")


def create(*, session: Session, zoo_in: ZooCreate, actor: ApiKey) -> Zoo:
    """Registers a zoo under a slug no other zoo has (keys limited to zoos may not)."""
    ensure_zoo_scope(actor, None)
    _ensure_slug_free(session, zoo_in.slug)
    zoo = Zoo.model_validate(zoo_in)
    session.add(zoo)
    commit(session, conflict=f"A zoo with slug '{zoo_in.slug}' already exists.")
    return zoo


def update(*, session: Session, zoo: Zoo, zoo_in: ZooUpdate, actor: ApiKey) -> Zoo:
    """Changes a zoo's details; a new slug must still be unique."""
    ensure_zoo_scope(actor, zoo.id)
    changes = zoo_in.model_dump(exclude_unset=True)
    if "slug" in changes:
        _ensure_slug_free(session, changes["slug"], zoo.id)
    apply_update(zoo, changes)
    session.add(zoo)
    commit(session, conflict="Another zoo already uses that slug.")
    return zoo


def delete(*, session: Session, zoo: Zoo, actor: ApiKey) -> None:
    """Deletes a zoo with no animals, enclosures, gifts or welfare history."""
    ensure_zoo_scope(actor, zoo.id)
    ensure_unused(
        session,
        [
            (select(Animal.id).where(Animal.zoo_id == zoo.id), "animals"),
            (select(Enclosure.id).where(Enclosure.zoo_id == zoo.id), "enclosures"),
            (select(Gift.id).where(Gift.recipient_zoo_id == zoo.id), "gifts received"),
            (select(WelfareIncident.id).where(WelfareIncident.zoo_id == zoo.id), "incidents"),
            (select(WelfareReport.id).where(WelfareReport.zoo_id == zoo.id), "reports"),
            (select(Submission.id).where(Submission.zoo_id == zoo.id), "public submissions"),
        ],
    )
    session.delete(zoo)
    commit(session)
