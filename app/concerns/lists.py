"""A zoo's concern list and one animal's flags: the rules' flags grouped by subject, named,
scored, ordered and filtered; read from the stored flags (brought up to date first) for a page,
evaluated whole for a CSV download."""

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlmodel import Session

from app.concerns import engine, evidence, explain, pages, store
from app.concerns.rules import RULES, Context, Flag
from app.concerns.schemas import ConcernItem, ConcernRulePublic, Evidence, SubjectType
from app.concerns.stamps import ZooStamp
from app.core import csvsafe
from app.core.config import Settings
from app.core.db import Sessions
from app.models import Animal, Zoo
from app.models.base import row_id, utcnow

ZooLike = Zoo | ZooStamp  # a zoo row, or its stamp: what a list is keyed and named by


@dataclass(frozen=True)
class Filters:
    """Which flags a list shows: those of at least this severity and evidence, of these rules
    and of this kind of subject (None: any)."""

    min_severity: int | None = None
    min_evidence: Evidence | None = None
    rule_ids: Sequence[str] | None = None
    subject_type: str | None = None


EVERY_FLAG = Filters()

CSV_COLUMNS = (
    "zoo",
    "subject_type",
    "subject_id",
    "name",
    "species",
    "enclosure",
    "score",
    "max_severity",
    "rule",
    "severity",
    "reason",
    "incident_ids",
    "evidence",
    "zoo_replied_at",
)


def rules(*, settings: Settings) -> list[ConcernRulePublic]:
    """The rules with their current thresholds."""
    return [
        ConcernRulePublic(
            id=r.id, subject=r.subject, description=r.description, thresholds=r.thresholds(settings)
        )
        for r in RULES
    ]


def build_items(
    session: Session, flags: Sequence[Flag], offset: int = 0, limit: int | None = None
) -> tuple[list[ConcernItem], int]:
    """Groups flags by subject, orders subjects by score, and names and explains only the
    subjects on the requested page; returns the page and the number of flagged subjects."""
    grouped = explain.by_subject(flags)
    order = sorted(
        grouped,
        key=lambda s: (-sum(f.severity for f in grouped[s]), -grouped[s][0].severity, *s),
    )
    page = order[offset : None if limit is None else offset + limit]
    return explain.items(session, page, grouped), len(order)


def list_key(zoo: ZooLike, now: datetime | None = None) -> str:
    """What a zoo's list depends on: the zoo's concern_version and the date. The version must
    have been read after the request arrived, so it is current."""
    today = (now or utcnow()).date().isoformat()
    # created_at tells apart a zoo that reuses a deleted zoo's id (SQLite reuses ids).
    return f"{zoo.id}.{zoo.created_at.timestamp():.6f}-{zoo.concern_version}-{today}"


def zoo_concerns(
    *,
    session: Session,
    settings: Settings,
    zoo: ZooLike,
    filters: Filters = EVERY_FLAG,
    now: datetime | None = None,
) -> list[ConcernItem]:
    """The zoo's flagged animals and enclosures, most concerning first."""
    return zoo_concerns_page(session=session, settings=settings, zoo=zoo, filters=filters, now=now)[
        0
    ]


def zoo_concerns_page(
    *,
    session: Session,
    settings: Settings,
    zoo: ZooLike,
    filters: Filters = EVERY_FLAG,
    now: datetime | None = None,
    offset: int = 0,
    limit: int | None = None,
    writer: Sessions | None = None,
) -> tuple[list[ConcernItem], int]:
    """One page of the zoo's list, most concerning first, and how many subjects it has.

    A page (a limit) reads the zoo's stored flags; their update, when a write made them stale,
    goes through `writer` when given, else through `session`, and is committed."""
    if limit is not None:
        items, total = stored_page(
            session=session,
            settings=settings,
            zoo_id=row_id(zoo),
            filters=filters,
            offset=offset,
            limit=limit,
            writer=writer,
            now=now,
        )
        return [ConcernItem.model_validate_json(item) for item in items], total
    # The whole list (a CSV download): every flag is read anyway.
    ctx = Context(settings=settings, zoo_id=zoo.id, now=now or utcnow())
    rules = engine.select_rules(filters.rule_ids, filters.subject_type)
    flags = engine.evaluate(session, ctx, rules)
    if filters.min_severity is not None:
        flags = [f for f in flags if f.severity >= filters.min_severity]
    if filters.min_evidence is not None:
        facts = evidence.incident_facts(session, (i for f in flags for i in f.incident_ids))
        floor = evidence.RANK[filters.min_evidence]
        flags = [f for f in flags if evidence.RANK[evidence.of_flag(f, facts)[0]] >= floor]
    return build_items(session, flags, offset, limit)


def stored_page(
    *,
    session: Session,
    settings: Settings,
    zoo_id: int,
    filters: Filters,
    offset: int,
    limit: int,
    writer: Sessions | None,
    now: datetime | None = None,
) -> tuple[list[str], int]:
    """One page of the zoo's list read from its stored flags (explained when stored), brought
    up to date first: the items as ConcernItem's JSON, and the list's size."""
    ctx = Context(settings=settings, zoo_id=zoo_id, now=now or utcnow())
    if not store.is_current(session, ctx):
        _bring_up_to_date(session, ctx, writer)
    rules = engine.select_rules(filters.rule_ids, filters.subject_type)
    return pages.page(
        session, ctx, rules, filters.min_severity, offset, limit, filters.min_evidence
    )


def _bring_up_to_date(session: Session, ctx: Context, writer: Sessions | None) -> None:
    """Updates the zoo's stored flags: in the given session, or in one of `writer`'s (the
    single writer on SQLite), after which the session starts over to see the result."""
    if writer is None:
        store.update(session, ctx)
        session.commit()
        return
    # Ends the read transaction first (it wrote nothing; a commit leaves loaded objects as
    # they are): its connection goes back to the pool (on PostgreSQL the writer's pool is the
    # same one), and SQLite would keep its snapshot until it ended.
    session.commit()
    with writer() as updating:
        store.update(updating, ctx)
        updating.commit()


def stored_animal(
    *, session: Session, settings: Settings, animal: Animal, writer: Sessions | None
) -> ConcernItem | None:
    """One animal's item from its zoo's stored flags (None when it raises none), brought up
    to date first, as a page of the zoo's list is: the same flags, at the cost of a lookup."""
    ctx = Context(settings=settings, zoo_id=animal.zoo_id, now=utcnow())
    if not store.is_current(session, ctx):
        _bring_up_to_date(session, ctx, writer)
    item = pages.subject_item(session, animal.zoo_id, SubjectType.animal.value, row_id(animal))
    return None if item is None else ConcernItem.model_validate_json(item)


def to_csv(zoo: ZooLike, items: Sequence[ConcernItem]) -> str:
    """The concern list as CSV, one row per flag, with a header row."""
    out = io.StringIO()
    writer = csvsafe.writer(out, lineterminator="\r\n")  # names are user input
    writer.writerow(CSV_COLUMNS)
    for item in items:
        for flag in item.flags:
            writer.writerow(
                (
                    zoo.slug,
                    item.subject_type,
                    item.subject_id,
                    item.name,
                    item.species.common_name if item.species else "",
                    item.enclosure.name if item.enclosure else "",
                    item.score,
                    item.max_severity,
                    flag.rule,
                    flag.severity,
                    flag.reason,
                    " ".join(str(i) for i in flag.incident_ids),
                    flag.evidence.value,
                    flag.zoo_replied_at.isoformat() if flag.zoo_replied_at else "",
                )
            )
    return out.getvalue()


def unflagged_item(*, session: Session, animal: Animal) -> ConcernItem:
    """An animal with no flags, in the same shape as a flagged one."""
    animal_id = cast(int, animal.id)  # a stored animal's id
    name, species, enclosure = explain.animal_refs(session, {animal_id})[animal_id]
    return ConcernItem(
        subject_type=SubjectType.animal,
        subject_id=animal_id,
        zoo_id=animal.zoo_id,
        name=name,
        species=species,
        enclosure=enclosure,
        score=0,
        max_severity=0,
        flags=[],
    )
