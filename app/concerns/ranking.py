"""The cross-zoo ranking, read from each zoo's stored totals (concern_state, kept by every
update of its flags): one indexed pass over the zoos, whatever the number of incidents."""

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, case, func, or_, select
from sqlmodel import Session

from app.concerns import store
from app.concerns.rules import Context
from app.concerns.schemas import ZooConcernSummary, ZooRef
from app.concerns.tables import STATE, ZOOS
from app.core.config import Settings


@dataclass(frozen=True)
class Stamp:
    """What the ranking is made of, summed over every zoo: the same stamp, the same ranking.
    A zoo's write moves its concern_version, an update of its stored totals their version
    and evaluated_at, adding or deleting a zoo the count and the id sum."""

    today: date
    zoos: int
    versions: int
    ids: int
    stored_versions: int
    last_evaluated: datetime | None
    behind: int  # zoos whose stored totals are behind: brought up to date before a read


def _behind(ctx: Context) -> ColumnElement[bool]:
    """A zoo whose stored totals are behind: never evaluated, from another day or rules, or
    counted before the zoo's latest write (its concern_version)."""
    return or_(
        STATE.c.zoo_id.is_(None),
        STATE.c.version != ZOOS.c.concern_version,
        STATE.c.evaluated_on != ctx.today,
        STATE.c.fingerprint != store.fingerprint(ctx),
    )


def stale(session: Session, settings: Settings, now: datetime) -> list[int]:
    """The zoos whose stored totals are behind, by id."""
    query = (
        select(ZOOS.c.id)
        .outerjoin(STATE, STATE.c.zoo_id == ZOOS.c.id)
        .where(_behind(Context(settings, None, now)))
        .order_by(ZOOS.c.id)
    )
    return list(session.connection().execute(query).scalars())


def stamp(session: Session, settings: Settings, now: datetime) -> Stamp:
    ctx = Context(settings, None, now)
    query = select(
        func.count(ZOOS.c.id),
        func.coalesce(func.sum(ZOOS.c.concern_version), 0),
        func.coalesce(func.sum(ZOOS.c.id), 0),
        func.coalesce(func.sum(STATE.c.version), 0),
        func.max(STATE.c.evaluated_at),
        func.coalesce(func.sum(case((_behind(ctx), 1), else_=0)), 0),
    ).select_from(ZOOS.outerjoin(STATE, STATE.c.zoo_id == ZOOS.c.id))
    zoos, versions, ids, stored, last, behind = session.connection().execute(query).one()
    return Stamp(ctx.today, int(zoos), int(versions), int(ids), int(stored), last, int(behind))


def page(
    session: Session, country_code: str | None, limit: int, offset: int
) -> tuple[list[ZooConcernSummary], int]:
    """One page of every zoo, the highest total score first, then the worst severity."""
    where = [ZOOS.c.country_code == country_code.upper()] if country_code else []
    total = (
        session.connection()
        .execute(select(func.count()).select_from(ZOOS).where(*where))
        .scalar_one()
    )
    query = (
        select(
            ZOOS.c.id,
            ZOOS.c.slug,
            ZOOS.c.name,
            ZOOS.c.country_code,
            *(
                func.coalesce(STATE.c[c], 0).label(c)
                for c in (
                    "flagged_animals",
                    "flagged_enclosures",
                    "total_score",
                    "max_severity",
                    "open_incidents",
                )
            ),
            STATE.c.evaluated_at,
        )
        .outerjoin(STATE, STATE.c.zoo_id == ZOOS.c.id)
        .where(*where)
        .order_by(
            func.coalesce(STATE.c.total_score, 0).desc(),
            func.coalesce(STATE.c.max_severity, 0).desc(),
            ZOOS.c.id,
        )
        .offset(offset)
        .limit(limit)
    )
    items = [
        ZooConcernSummary(
            zoo=ZooRef(id=r.id, slug=r.slug, name=r.name, country_code=r.country_code),
            flagged_animals=r.flagged_animals,
            flagged_enclosures=r.flagged_enclosures,
            total_score=r.total_score,
            max_severity=r.max_severity,
            open_incidents=r.open_incidents,
            evaluated_at=r.evaluated_at,
        )
        for r in session.connection().execute(query)
    ]
    return items, int(total)
