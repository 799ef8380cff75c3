"""Countries: the ISO codes migration 0017 wrote, and whether each is a Party to CITES. Only
the CITES fields change, and only by an admin; no country is added or deleted here."""

from collections.abc import Sequence

from sqlmodel import Session, col, or_, select

from app.core.errors import NotFound
from app.models import ApiKey, Country
from app.models.country import CountryUpdate
from app.services.access import ensure_zoo_scope
from app.services.common import apply_update, commit, like_filter, paginate


def list_countries(
    *,
    session: Session,
    party: bool | None,
    former: bool | None,
    q: str | None,
    limit: int,
    offset: int,
) -> tuple[Sequence[Country], int]:
    """Countries by code. `party=true`: those with a date; `party=false`: those a source says
    are not Parties (a null date with a source); countries not recorded match neither."""
    stmt = select(Country)
    if party is True:
        stmt = stmt.where(col(Country.cites_party_since).is_not(None))
    elif party is False:
        stmt = stmt.where(
            col(Country.cites_party_since).is_(None), col(Country.source_url).is_not(None)
        )
    if former is not None:
        stmt = stmt.where(Country.former == former)
    if q:
        stmt = stmt.where(or_(like_filter(Country.name, q), Country.code == q.upper()))
    stmt = stmt.order_by(col(Country.code))
    return paginate(session, stmt, limit=limit, offset=offset)


def get(*, session: Session, code: str) -> Country:
    """One country by its code, in either case."""
    country = session.get(Country, code.upper())
    if country is None:
        raise NotFound(f"No country with code '{code}'.")
    return country


def update(
    *, session: Session, country: Country, country_in: CountryUpdate, actor: ApiKey
) -> Country:
    """Records whether, and since when, the country is a Party, and the source that says so."""
    # Countries belong to no zoo, so only keys not limited to zoos may change them.
    ensure_zoo_scope(actor, None)
    apply_update(country, country_in.model_dump(exclude_unset=True))
    session.add(country)
    commit(session)
    return country
