"""Evaluates the concern rules in SQL: one indexed aggregate query per rule group, set-based,
for one zoo or for all zoos at once. Python only reads the flags off the rows returned.

One page of a zoo's list is one statement: the groups' rows score and rank every subject in
SQL, and only the page's subjects' flags come back. Statements are built once per shape and
reused with the context's parameters: building one costs more than running it."""

from collections import defaultdict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import (
    CTE,
    Executable,
    Float,
    Integer,
    String,
    bindparam,
    case,
    cast,
    func,
    literal_column,
    null,
    select,
    union_all,
)
from sqlmodel import Session, col

from app.models import WelfareIncident, Zoo
from app.models.incident import OPEN_STATUSES
from app.welfare.rules import RULES, Context, FlagRow, Rule, RuleGroup, groups_for, parse_ids
from app.welfare.sql import greatest

Subject = tuple[str, int]  # (subject_type, subject_id)

_STATEMENTS: dict[Hashable, Any] = {}
_STATEMENTS_MAX = 512  # shapes: rule selections x min_severity x settings in use


def statement(key: Hashable, build: Callable[[], Any]) -> Any:
    """The statement built for `key`, built on first use. A race builds it twice, harmlessly."""
    statement = _STATEMENTS.get(key)
    if statement is None:
        if len(_STATEMENTS) >= _STATEMENTS_MAX:
            _STATEMENTS.clear()
        statement = _STATEMENTS[key] = build()
    return statement


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
    params = ctx.params()
    for group in groups_for(rules):
        query = statement(("group", group.name, ctx.shape), lambda g=group: g.query(ctx))
        result = session.execute(query, params)
        keys = list(result.keys())
        readers = [rule.reader(keys) for rule in group.rules if id(rule) in wanted]
        for row in result:
            for read in readers:
                flag = read(row)
                if flag is not None:
                    flags.append(flag)
    return flags


def page(
    session: Session,
    ctx: Context,
    rules: Sequence[Rule],
    min_severity: int | None,
    offset: int,
    limit: int,
) -> tuple[list[Subject], list[FlagRow], int]:
    """One page of the flagged subjects in the list's order (score, then worst severity, then
    subject), their flags, and how many subjects are flagged in all: ranked in SQL, so only the
    page's flags are read. Filters apply before ranking, as they do to the whole list."""
    if not rules:
        return [], [], 0
    key = (ctx.shape, tuple((r.id, r.subject) for r in rules), min_severity)
    query, count = statement(("page", *key), lambda: _page_statements(ctx, rules, min_severity))
    params = {**ctx.params(), "offset": offset, "limit": limit}
    positions: dict[Subject, int] = {}
    flags = []
    # Core execution and tuple unpacking: a page has a few hundred flags, and the ORM's
    # per-row work and named access would cost more than reading them.
    rows = session.connection().execute(query, params).all()
    total = rows[0][1] if rows else 0
    for position, _, rule, kind, subject_id, zoo_id, severity, n1, n2, txt, ids in rows:
        subject = (kind, subject_id)
        positions[subject] = position
        flags.append(FlagRow(rule, kind, subject_id, zoo_id, severity, n1, n2, txt, parse_ids(ids)))
    if not flags and offset > 0:  # a page past the end still tells the list's size
        total = session.connection().execute(count, params).scalar_one()
    return sorted(positions, key=positions.__getitem__), flags, int(total)


def _page_statements(
    ctx: Context, rules: Sequence[Rule], min_severity: int | None
) -> tuple[Executable, Executable]:
    """The page statement and the statement counting the subjects it ranks.

    Every subject is scored from its groups' severities alone (no reasons, no id lists); the
    groups' queries then run again in full for the page's subjects only."""
    wanted = set(map(id, rules))
    groups = groups_for(rules)
    picked = {g.name: [r for r in g.rules if id(r) in wanted] for g in groups}
    scored = union_all(
        *(_score_branch(ctx, g, picked[g.name], min_severity) for g in groups)
    ).subquery("scored")
    subject = (scored.c.subject_type, scored.c.subject_id)
    score, worst = func.sum(scored.c.score), func.max(scored.c.worst)
    order = (score.desc(), worst.desc(), *subject)
    ranked = materialized(
        select(
            *subject,
            func.count().over().label("total"),
            func.row_number().over(order_by=order).label("position"),
        )
        .group_by(*subject)
        .order_by(*order)
        .offset(bindparam("offset", type_=Integer))
        .limit(bindparam("limit", type_=Integer))
        .cte("ranked")
    )

    def on_page(kind: str) -> Any:
        return select(ranked.c.subject_id).where(ranked.c.subject_type == kind).scalar_subquery()

    page_ctx = replace(ctx, animal_ids=on_page("animal"), enclosure_ids=on_page("enclosure"))
    flags = []
    for group in groups:
        rows = materialized(group.query(page_ctx).cte(group.name))
        flags.extend(flag_branch(rows, rule, min_severity) for rule in picked[group.name])
    flag = union_all(*flags).subquery("flag")
    query = (
        select(ranked.c.position, ranked.c.total, *flag.c)
        .join_from(
            ranked,
            flag,
            (flag.c.subject_type == ranked.c.subject_type)
            & (flag.c.subject_id == ranked.c.subject_id),
        )
        .order_by(ranked.c.position)
    )
    count = select(func.count()).select_from(select(*subject).group_by(*subject).subquery())
    return query, count


def materialized(cte: CTE) -> CTE:
    # PostgreSQL: read twice, a CTE is computed once anyway; MATERIALIZED also keeps the
    # planner from a parallel plan, whose workers cost more to start than they save here.
    return cte.prefix_with("MATERIALIZED", dialect="postgresql")


def _at_least(severity: Any, min_severity: int | None) -> Any:
    """The severity where it passes the min_severity filter, NULL elsewhere."""
    if min_severity is None:
        return severity
    return case((severity >= min_severity, severity))


def _score_branch(
    ctx: Context, group: RuleGroup, rules: Sequence[Rule], min_severity: int | None
) -> Any:
    """Per subject of the group, its score (the sum of its flags' severities) and its worst
    severity, over the selected rules' flags that pass min_severity."""
    query = group.query(ctx)
    columns = query.selected_columns
    # Only the subject and the severities: the aggregates behind reasons are left out.
    narrow = query.with_only_columns(
        columns.subject_id, *(columns[r.columns[0]] for r in rules), maintain_column_froms=True
    )
    rows = materialized(narrow.cte(f"{group.name}_scores"))
    severities = [
        func.coalesce(_at_least(rows.c[rule.columns[0]], min_severity), 0) for rule in rules
    ]
    worst = greatest(*severities) if len(severities) > 1 else severities[0]
    score = severities[0]
    for severity in severities[1:]:
        score = score + severity
    return select(
        literal_column(f"'{group.rules[0].subject}'", String).label("subject_type"),
        rows.c.subject_id.label("subject_id"),
        score.label("score"),
        worst.label("worst"),
    ).where(worst > 0)


def flag_branch(rows: CTE, rule: Rule, min_severity: int | None) -> Any:
    """A rule's flags off its group's rows, in the one row shape every rule shares."""
    severity_at, n1_at, n2_at, txt_at, ids_at = rule.columns
    severity = rows.c[severity_at]

    def column(name: str | None, type_: Any, label: str) -> Any:
        return (rows.c[name] if name else cast(null(), type_)).label(label)

    return select(
        literal_column(f"'{rule.id}'", String).label("rule"),
        literal_column(f"'{rule.subject}'", String).label("subject_type"),
        rows.c.subject_id.label("subject_id"),
        rows.c.zoo_id.label("zoo_id"),
        cast(severity, Integer).label("severity"),
        column(n1_at, Float, "n1"),
        column(n2_at, Float, "n2"),
        column(txt_at, String, "txt"),
        column(ids_at, String, "ids"),
    ).where(severity.is_not(None) if min_severity is None else severity >= min_severity)


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
