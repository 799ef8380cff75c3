"""Evaluates the concern rules in SQL: one indexed aggregate query per rule group, set-based,
for one zoo or for all zoos at once. Python only reads the flags off the rows returned; the
stored flags (app/concerns/store.py) are these flags, explained. Statements are built once per
shape and reused with the context's parameters: building one costs more than running it."""

import functools
from collections import defaultdict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    CTE,
    func,
    select,
)
from sqlmodel import Session, col

from app.concerns.rules import RULES, Context, Flag, Rule, groups_for
from app.models import WelfareIncident, Zoo
from app.models.incident import OPEN_STATUSES

_STATEMENTS: dict[Hashable, Any] = {}
_STATEMENTS_MAX = 512  # shapes: rule selections x min_severity x settings in use


def statement(key: Hashable, build: Callable[[], Any]) -> Any:
    """The statement built for `key`, built on first use. A race builds it twice, harmlessly."""
    built = _STATEMENTS.get(key)
    if built is None:
        if len(_STATEMENTS) >= _STATEMENTS_MAX:
            _STATEMENTS.clear()
        built = _STATEMENTS[key] = build()
    return built


def select_rules(rule_ids: Sequence[str] | None, subject_type: str | None) -> list[Rule]:
    return [
        r
        for r in RULES
        if (not rule_ids or r.id in rule_ids)
        and (subject_type is None or r.subject == subject_type)
    ]


def evaluate(session: Session, ctx: Context, rules: Sequence[Rule] = RULES) -> list[Flag]:
    """Every flag the rules raise: one statement per rule group involved."""
    wanted = set(map(id, rules))
    flags: list[Flag] = []
    params = ctx.params()
    for group in groups_for(rules):
        query = statement(("group", group.name, ctx.shape), functools.partial(group.query, ctx))
        result = session.execute(query, params)
        keys = list(result.keys())
        readers = [rule.reader(keys) for rule in group.rules if id(rule) in wanted]
        for row in result:
            for read in readers:
                flag = read(row)
                if flag is not None:
                    flags.append(flag)
    return flags


def materialized(cte: CTE) -> CTE:
    # PostgreSQL: read twice, a CTE is computed once anyway; MATERIALIZED also keeps the
    # planner from a parallel plan, whose workers cost more to start than they save here.
    return cte.prefix_with("MATERIALIZED", dialect="postgresql")


@dataclass(frozen=True)
class ZooTotals:
    zoo_id: int
    slug: str
    name: str
    country_code: str
    flagged_animals: int
    flagged_enclosures: int
    total_score: int
    max_severity: int
    open_incidents: int


def rank_zoos(session: Session, ctx: Context, country_code: str | None) -> list[ZooTotals]:
    """Every zoo with at least one flag, highest total score first, then worst severity."""
    scores: dict[int, dict[tuple[str, int], int]] = defaultdict(lambda: defaultdict(int))
    worst: dict[int, int] = defaultdict(int)
    for flag in evaluate(session, ctx):
        scores[flag.zoo_id][(flag.subject_type, flag.subject_id)] += flag.severity
        worst[flag.zoo_id] = max(worst[flag.zoo_id], flag.severity)
    if not scores:
        return []
    zoos = select(col(Zoo.id), col(Zoo.slug), col(Zoo.name), col(Zoo.country_code)).where(
        col(Zoo.id).in_(scores)
    )
    if country_code:
        zoos = zoos.where(col(Zoo.country_code) == country_code.upper())
    open_counts: dict[int, int] = dict(
        session.execute(
            select(col(WelfareIncident.zoo_id), func.count())
            .where(col(WelfareIncident.status).in_(OPEN_STATUSES))
            .group_by(col(WelfareIncident.zoo_id))
        ).all()
    )
    totals = [
        ZooTotals(
            zoo_id=zoo.id,
            slug=zoo.slug,
            name=zoo.name,
            country_code=zoo.country_code,
            flagged_animals=sum(1 for kind, _ in scores[zoo.id] if kind == "animal"),
            flagged_enclosures=sum(1 for kind, _ in scores[zoo.id] if kind == "enclosure"),
            total_score=sum(scores[zoo.id].values()),
            max_severity=worst[zoo.id],
            open_incidents=open_counts.get(zoo.id, 0),
        )
        for zoo in session.execute(zoos)
    ]
    totals.sort(key=lambda t: (-t.total_score, -t.max_severity, t.zoo_id))
    return totals
