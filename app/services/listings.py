"""Dated species listings (IUCN Red List categories, CITES appendices) and the species' current
columns derived from them.

A listing is in force from `valid_from` to `valid_to`, both days included (null `valid_to`:
still in force). Two listings of one kind for one species may not overlap, so on any day at
most one is in force; `value_in_force` states that in SQL, for a day or a column of days.

The species' `iucn_category` and `cites_appendix` stay the columns every read and rule uses.
Each write of listings sets them, in its own transaction (`current_status`): to the listing of
that kind in force today, or to null when the species has listings of the kind but none in
force today. A species with no listing of a kind keeps its column as it is (what was recorded
before dated listings, or by PATCH /species). A listing that begins or ends on a later day
reaches the columns at the next write of the species' listings, or when `refresh_all` runs.
"""

from collections.abc import Sequence
from datetime import date

from sqlmodel import Session, col, or_, select

from app.core.errors import NotFound, Unprocessable, field_error
from app.models import ApiKey, Species, SpeciesStatus
from app.models.base import row_id, utcnow
from app.models.enums import CitesAppendix, IucnCategory
from app.models.listing import CitesListingCreate, IucnListingCreate, ListingKind
from app.records.listings import value_in_force
from app.services.access import ensure_zoo_scope
from app.services.common import commit, paginate

ListingValue = IucnCategory | CitesAppendix
# The species column each kind's listings decide.
COLUMNS = {ListingKind.iucn: "iucn_category", ListingKind.cites: "cites_appendix"}
DOMESTIC = "a domestic form has no IUCN category; it takes no iucn listing"


def _parse(kind: ListingKind, value: str | None) -> ListingValue | None:
    if value is None:
        return None
    return IucnCategory(value) if kind is ListingKind.iucn else CitesAppendix(value)


def status_on(
    session: Session, species_id: int, kind: ListingKind, day: date
) -> ListingValue | None:
    """The species' `kind` listing in force on `day` (the category or the appendix), or None
    when none is."""
    value = session.exec(select(value_in_force(kind, species_id, day))).one()
    return _parse(kind, value)


def current_status(session: Session, species: Species, today: date | None = None) -> bool:
    """Sets the species' iucn_category and cites_appendix to the listings in force today (the
    module's docstring has the rule); returns whether either changed. The caller commits."""
    today = today or utcnow().date()
    species_id = row_id(species)
    session.flush()
    changed = False
    for kind, column in COLUMNS.items():
        listed = select(SpeciesStatus.id).where(
            SpeciesStatus.species_id == species_id, SpeciesStatus.kind == kind
        )
        if session.exec(listed.limit(1)).first() is None:
            continue  # no listing of this kind: the column stays as recorded
        value = status_on(session, species_id, kind, today)
        if getattr(species, column) != value:
            setattr(species, column, value)
            changed = True
    if changed:
        species.updated_at = utcnow()
        session.add(species)  # its flush invalidates the concern lists (app/concerns/hook.py)
    return changed


def list_statuses(
    *, session: Session, species: Species, kind: ListingKind | None, limit: int, offset: int
) -> tuple[Sequence[SpeciesStatus], int]:
    """The species' listings, oldest first."""
    stmt = select(SpeciesStatus).where(SpeciesStatus.species_id == species.id)
    if kind is not None:
        stmt = stmt.where(SpeciesStatus.kind == kind)
    stmt = stmt.order_by(col(SpeciesStatus.valid_from), col(SpeciesStatus.id))
    return paginate(session, stmt, limit=limit, offset=offset)


def _lock(session: Session, species_id: int) -> Species:
    """The species row, locked (PostgreSQL; SQLite has one writer): listing writes for one
    species are one at a time, so two cannot both pass the overlap check."""
    stmt = (
        select(Species)
        .where(Species.id == species_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return session.exec(stmt).one()


def _refuse(detail: str, field: str, message: str) -> Unprocessable:
    return Unprocessable(detail, errors=[field_error(["body", field], message)])


def _until(day: date | None) -> str:
    return "still in force" if day is None else str(day)


def _check(
    session: Session, species: Species, listing_in: IucnListingCreate | CitesListingCreate
) -> None:
    kind = ListingKind(listing_in.kind)
    start, end = listing_in.valid_from, listing_in.valid_to
    if end is not None and end < start:
        message = "valid_to is before valid_from"
        raise _refuse(f"The listing ends ({end}) before it begins ({start}).", "valid_to", message)
    if kind is ListingKind.iucn and species.is_domestic:
        raise _refuse("A domestic form has no IUCN category.", "kind", DOMESTIC)
    overlapping = select(SpeciesStatus).where(
        SpeciesStatus.species_id == species.id,
        SpeciesStatus.kind == kind,
        or_(col(SpeciesStatus.valid_to).is_(None), col(SpeciesStatus.valid_to) >= start),
    )
    if end is not None:
        overlapping = overlapping.where(col(SpeciesStatus.valid_from) <= end)
    other = session.exec(overlapping.order_by(col(SpeciesStatus.valid_from)).limit(1)).first()
    if other is not None:
        span = f"{other.value}, {other.valid_from} to {_until(other.valid_to)}"
        message = f"overlaps {kind.value} listing {other.id} ({span})"
        raise _refuse(
            f"The listing {message}; a species has one {kind.value} listing on any day.",
            "valid_from",
            message,
        )


def record(
    *,
    session: Session,
    species: Species,
    listing_in: IucnListingCreate | CitesListingCreate,
    actor: ApiKey | None,
) -> SpeciesStatus:
    """Adds a listing and brings the species' columns up to date; the caller commits. Shared
    with the seed (no actor)."""
    if actor is not None:
        # Species belong to no zoo, so only keys not limited to zoos may change them.
        ensure_zoo_scope(actor, None)
    species = _lock(session, row_id(species))
    _check(session, species, listing_in)
    listing = SpeciesStatus(
        species_id=row_id(species),
        kind=ListingKind(listing_in.kind),
        value=listing_in.value.value,
        valid_from=listing_in.valid_from,
        valid_to=listing_in.valid_to,
        source_url=listing_in.source_url,
    )
    session.add(listing)
    session.flush()
    current_status(session, species)
    return listing


def create(
    *,
    session: Session,
    species: Species,
    listing_in: IucnListingCreate | CitesListingCreate,
    actor: ApiKey,
) -> SpeciesStatus:
    """Adds a listing that overlaps none of its kind for the species, in one transaction with
    the species' current columns."""
    listing = record(session=session, species=species, listing_in=listing_in, actor=actor)
    commit(session)
    return listing


def delete(*, session: Session, species: Species, status_id: int, actor: ApiKey) -> None:
    """Deletes a listing entered by mistake; the species' columns follow the listings left (a
    species left with none of the kind keeps its column as it was)."""
    ensure_zoo_scope(actor, None)
    species = _lock(session, row_id(species))
    listing = session.get(SpeciesStatus, status_id)
    if listing is None or listing.species_id != species.id:
        raise NotFound(f"No listing with id {status_id} for species {species.id}.")
    session.delete(listing)
    current_status(session, species)
    commit(session)


def refresh_all(session: Session, today: date | None = None) -> int:
    """Brings every listed species' columns up to date for `today` (for the day's rollover:
    a listing that began or ended since the last write); returns how many changed."""
    listed = select(SpeciesStatus.species_id).distinct()
    changed = 0
    for species_id in session.exec(listed).all():
        if current_status(session, _lock(session, species_id), today):
            changed += 1
    commit(session)
    return changed
