"""Evaluates the concern rules in SQL: one indexed aggregate query per rule group, set-based,
for one zoo or for all zoos at once. Python only reads the flags off the rows returned."""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlmodel import Session, col

from app.models import WelfareIncident, Zoo
from app.models.incident import OPEN_STATUSES
from app.welfare.rules import RULES, Context, FlagRow, Rule, groups_for


def select_rules(rule_ids: Sequence[str] | None, subject_type: str | None) -> list[Rule]:
    return [
        r
        for r in RULES
        if (not rule_ids or r.id in rule_ids)
        and (subject_type is None or r.subject == subject_type)
    ]


def evaluate(session: Session, ctx: Context, rules: Sequence[Rule] = RULES) -> list[FlagRow]:
    """Every flag the rules raise: one statement per rule group involved."""
    wanted = set(map(id, rules))
    flags: list[FlagRow] = []
    for group in groups_for(rules):
        result = session.execute(group.query(ctx))
        keys = list(result.keys())
        readers = [rule.reader(keys) for rule in group.rules if id(rule) in wanted]
        for row in result:
            for read in readers:
                flag = read(row)
                if flag is not None:
                    flags.append(flag)
    return flags


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
    zoos = select(Zoo.id, Zoo.slug, Zoo.name, Zoo.country_code).where(col(Zoo.id).in_(scores))
    if country_code:
        zoos = zoos.where(Zoo.country_code == country_code.upper())
    open_counts = dict(
        session.execute(
            select(WelfareIncident.zoo_id, func.count())
            .where(col(WelfareIncident.status).in_(OPEN_STATUSES))
            .group_by(WelfareIncident.zoo_id)
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
