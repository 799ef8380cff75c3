"""Evaluates the concern rules in SQL: one UNION ALL over the rules, set-based, per zoo or for
all zoos at once. Python only shapes the rows the database returns."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Integer, case, func, select, union_all
from sqlalchemy.sql import CompoundSelect, Select
from sqlmodel import Session

from app.models import WelfareIncident, Zoo
from app.models.incident import OPEN_STATUSES
from app.welfare.rules import RULES, Context, FlagRow, Rule


def select_rules(rule_ids: Sequence[str] | None, subject_type: str | None) -> list[Rule]:
    return [
        r
        for r in RULES
        if (not rule_ids or r.id in rule_ids)
        and (subject_type is None or r.subject == subject_type)
    ]


def flags_statement(ctx: Context, rules: Sequence[Rule]) -> CompoundSelect | Select[Any]:
    queries = [rule.query(ctx) for rule in rules]
    return queries[0] if len(queries) == 1 else union_all(*queries)


def _ids(text: str | None) -> list[int]:
    return sorted(int(part) for part in text.split(",")) if text else []


def evaluate(session: Session, ctx: Context, rules: Sequence[Rule] = RULES) -> list[FlagRow]:
    """Every flag the rules raise, one row per (subject, rule), in a single statement."""
    if not rules:
        return []
    rows = session.execute(flags_statement(ctx, rules)).all()
    return [
        FlagRow(
            rule=r.rule,
            subject_type=r.subject_type,
            subject_id=int(r.subject_id),
            zoo_id=int(r.zoo_id),
            severity=int(r.severity),
            n1=r.n1,
            n2=r.n2,
            txt=r.txt,
            incident_ids=_ids(r.incident_ids),
        )
        for r in rows
    ]


def ranking_statement(ctx: Context, country_code: str | None) -> Select[Any]:
    """Every zoo with at least one flag, aggregated in SQL: subjects, scores, open incidents."""
    flags = flags_statement(ctx, RULES).subquery("flags")
    subjects = (
        select(
            flags.c.zoo_id,
            flags.c.subject_type,
            flags.c.subject_id,
            func.sum(flags.c.severity).label("score"),
            func.max(flags.c.severity).label("max_severity"),
        )
        .group_by(flags.c.zoo_id, flags.c.subject_type, flags.c.subject_id)
        .subquery("subjects")
    )
    per_zoo = (
        select(
            subjects.c.zoo_id,
            func.sum(case((subjects.c.subject_type == "animal", 1), else_=0)).label("animals"),
            func.sum(case((subjects.c.subject_type == "enclosure", 1), else_=0)).label(
                "enclosures"
            ),
            func.sum(subjects.c.score).label("total_score"),
            func.max(subjects.c.max_severity).label("max_severity"),
        )
        .group_by(subjects.c.zoo_id)
        .subquery("per_zoo")
    )
    open_incidents = (
        select(func.count())
        .where(WelfareIncident.zoo_id == Zoo.id, WelfareIncident.status.in_(OPEN_STATUSES))
        .correlate(Zoo)
        .scalar_subquery()
    )
    stmt = select(
        Zoo.id,
        Zoo.slug,
        Zoo.name,
        Zoo.country_code,
        per_zoo.c.animals.cast(Integer),
        per_zoo.c.enclosures.cast(Integer),
        per_zoo.c.total_score.cast(Integer),
        per_zoo.c.max_severity,
        open_incidents.label("open_incidents"),
    ).join(per_zoo, per_zoo.c.zoo_id == Zoo.id)
    if country_code:
        stmt = stmt.where(Zoo.country_code == country_code.upper())
    return stmt.order_by(per_zoo.c.total_score.desc(), per_zoo.c.max_severity.desc(), Zoo.id)
