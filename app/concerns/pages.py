"""Pages of a zoo's list read from its stored flags: an unfiltered page is a range of the
subjects' rank index, sent as stored; a filtered one is ranked from the stored flags. Neither
evaluates the incidents again (app/concerns/store.py keeps them up to date)."""

import json
from collections.abc import Sequence
from typing import Any

from pydantic_core import to_json
from sqlalchemy import Integer, and_, bindparam, func, literal, or_, select
from sqlmodel import Session

from app.concerns import engine
from app.concerns.evidence import RANK
from app.concerns.rules import RULES, Context, Rule, parse_ids
from app.concerns.schemas import Evidence
from app.concerns.store import COLUMNS, FLAGS, SUBJECTS, ZOO

LEVELS = {rank: level.value for level, rank in RANK.items()}


def page(
    session: Session,
    ctx: Context,
    rules: Sequence[Rule],
    min_severity: int | None,
    offset: int,
    limit: int,
    min_evidence: Evidence | None = None,
) -> tuple[list[str], int]:
    """One page of the zoo's list from its stored flags (brought up to date first: see
    `update`), in the list's order (score, then worst severity, then subject), and how many
    subjects are flagged in all. Filters apply before ranking, as they do to the whole list.
    The items are ConcernItem's JSON, validated when they were stored."""
    if not rules:
        return [], 0
    kinds = {r.subject for r in rules}
    picked = {(r.id, r.subject) for r in rules}
    evidence = RANK[min_evidence] if min_evidence else None
    whole = (
        min_severity is None
        and evidence is None
        and picked == {(r.id, r.subject) for r in RULES if r.subject in kinds}
    )
    params = {"zoo_id": ctx.zoo_id, "offset": offset, "limit": limit}
    if whole:  # every rule of the kinds asked for: the subjects' items as stored
        kind = next(iter(kinds)) if len(kinds) == 1 else None
        query, count = engine.statement(("stored subjects", kind), lambda: _subjects_page(kind))
        rows = session.connection().execute(query, params).all()
        items = [row[0] for row in rows]
        total = rows[0][1] if rows else 0
    else:
        key = ("stored page", tuple(sorted(picked)), min_severity, evidence)
        query, count = engine.statement(
            key, lambda: _page_statements(rules, min_severity, evidence)
        )
        items, total = _assembled(session.connection().execute(query, params).all())
    if not items and offset > 0:  # a page past the end still tells the list's size
        total = session.connection().execute(count, params).scalar_one()
    return items, int(total)


def subject_item(session: Session, zoo_id: int, kind: str, subject_id: int) -> str | None:
    """One subject's stored item (ConcernItem's JSON), or None when it is not flagged."""
    query = select(SUBJECTS.c.item).where(
        SUBJECTS.c.zoo_id == zoo_id,
        SUBJECTS.c.subject_type == kind,
        SUBJECTS.c.subject_id == subject_id,
    )
    item: str | None = session.connection().execute(query).scalar_one_or_none()
    return item


def _assembled(rows: Sequence[Any]) -> tuple[list[str], int]:
    """A filtered page's items, as JSON, from its flags' rows (ranked, then in subject)."""
    total = rows[0][1] if rows else 0
    items: dict[tuple[str, int], dict[str, Any]] = {}
    for row in rows:
        _, _, rule, kind, subject_id, zoo_id, severity, reason, ids, subject, level, replied = row
        item = items.get((kind, subject_id))
        if item is None:
            item = items[(kind, subject_id)] = {
                "subject_type": kind,
                "subject_id": subject_id,
                "zoo_id": zoo_id,
                **json.loads(subject),
                "score": 0,
                "max_severity": 0,
                "flags": [],
            }
        item["score"] += severity
        item["max_severity"] = max(item["max_severity"], severity)
        item["flags"].append(
            {
                "rule": rule,
                "severity": severity,
                "reason": reason,
                "incident_ids": parse_ids(ids),
                "evidence": LEVELS[level],
                "zoo_replied_at": replied,
            }
        )
    for item in items.values():
        item["flags"].sort(key=_flag_order)
    return [to_json(item).decode() for item in items.values()], total


def _flag_order(flag: dict[str, Any]) -> tuple[int, str]:
    return -flag["severity"], flag["rule"]  # as explain.by_subject orders a subject's flags


def _subjects_page(kind: str | None) -> tuple[Any, Any]:
    """An unfiltered page (or one kind's), read in the rank index's order, and its count."""
    where = [SUBJECTS.c.zoo_id == ZOO]
    if kind is not None:
        where.append(SUBJECTS.c.subject_type == literal(kind))
    count = select(func.count()).select_from(SUBJECTS).where(*where)
    query = (
        select(SUBJECTS.c.item, count.scalar_subquery().label("total"))
        .where(*where)
        .order_by(
            SUBJECTS.c.score.desc(),
            SUBJECTS.c.max_severity.desc(),
            SUBJECTS.c.subject_type,
            SUBJECTS.c.subject_id,
        )
        .offset(bindparam("offset", type_=Integer))
        .limit(bindparam("limit", type_=Integer))
    )
    return query, count


def _selected(
    rules: Sequence[Rule], min_severity: int | None, min_evidence: int | None
) -> list[Any]:
    """The filters, as conditions on stored flags."""
    conditions = [FLAGS.c.zoo_id == ZOO]
    everything = {(r.id, r.subject) for r in RULES}
    picked = {(r.id, r.subject) for r in rules}
    if picked != everything:
        conditions.append(
            or_(*(and_(FLAGS.c.rule == i, FLAGS.c.subject_type == s) for i, s in sorted(picked)))
        )
    if min_severity is not None:
        conditions.append(FLAGS.c.severity >= min_severity)
    if min_evidence is not None:
        conditions.append(FLAGS.c.evidence >= min_evidence)
    return conditions


def _page_statements(
    rules: Sequence[Rule], min_severity: int | None, min_evidence: int | None
) -> tuple[Any, Any]:
    where = _selected(rules, min_severity, min_evidence)
    subject = (FLAGS.c.subject_type, FLAGS.c.subject_id)
    order = (func.sum(FLAGS.c.severity).desc(), func.max(FLAGS.c.severity).desc(), *subject)
    ranked = engine.materialized(
        select(
            *subject,
            func.count().over().label("total"),
            func.row_number().over(order_by=order).label("position"),
        )
        .where(*where)
        .group_by(*subject)
        .order_by(*order)
        .offset(bindparam("offset", type_=Integer))
        .limit(bindparam("limit", type_=Integer))
        .cte("ranked")
    )
    query = (
        select(
            ranked.c.position,
            ranked.c.total,
            *(FLAGS.c[c] for c in COLUMNS),
        )
        .join_from(
            ranked,
            FLAGS,
            (FLAGS.c.subject_type == ranked.c.subject_type)
            & (FLAGS.c.subject_id == ranked.c.subject_id),
        )
        .where(*where)
        .order_by(ranked.c.position)
    )
    count = select(func.count()).select_from(
        select(*subject).where(*where).group_by(*subject).subquery()
    )
    return query, count
