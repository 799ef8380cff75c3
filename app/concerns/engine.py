"""Evaluates the concern rules in SQL: one indexed aggregate query per rule group, set-based,
for one zoo or for all zoos at once. Python only reads the flags off the rows returned; the
stored flags (app/concerns/store.py) are these flags, explained. Statements are built once per
shape and reused with the context's parameters: building one costs more than running it."""

import functools
from collections.abc import Callable, Hashable, Sequence
from typing import Any

from sqlalchemy import (
    CTE,
)
from sqlmodel import Session

from app.concerns.rules import RULES, Context, Flag, Rule, groups_for

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
