"""The concern rules, by group: each rule is a small named unit (what it looks at, why it
matters, its thresholds from Settings, the SQL that raises it, how to say the reason).

What the stored flags depend on is derived here, never written by hand: THRESHOLDS are the
settings the rules read, found by building every rule once; `revision()` changes whenever a
rule's compiled SQL or its wording does.
"""

import functools
import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from types import CodeType
from typing import Any, cast

from sqlalchemy.dialects import postgresql, sqlite

from app.concerns.rules import enclosures, incidents, placement, trade
from app.concerns.rules.base import (
    Context,
    Flag,
    Rule,
    RuleGroup,
    cited_ids,
    parse_ids,
)
from app.core.config import Settings

__all__ = [
    "GROUPS",
    "REASONS",
    "RULES",
    "RULE_IDS",
    "THRESHOLDS",
    "Context",
    "Flag",
    "Rule",
    "RuleGroup",
    "cited_ids",
    "groups_for",
    "parse_ids",
    "revision",
]

GROUPS: tuple[RuleGroup, ...] = (
    *incidents.GROUPS,
    *enclosures.GROUPS,
    *placement.GROUPS,
    *trade.GROUPS,
)
RULES: tuple[Rule, ...] = tuple(rule for group in GROUPS for rule in group.rules)
RULE_IDS = tuple(dict.fromkeys(r.id for r in RULES))
REASONS = {(r.id, r.subject): r.reason for r in RULES}


def groups_for(rules: Sequence[Rule]) -> list[RuleGroup]:
    """The groups needed to evaluate the given rules."""
    wanted = set(map(id, rules))
    return [g for g in GROUPS if any(id(r) in wanted for r in g.rules)]


class _ReadSettings:
    """Settings that note which of them are read."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.read: list[str] = []

    def __getattr__(self, name: str) -> Any:
        if name not in self.read:
            self.read.append(name)
        return getattr(self.settings, name)


def _reference(settings: Any) -> Context:
    return Context(
        settings=cast(Settings, settings), zoo_id=1, now=datetime(2000, 1, 1, tzinfo=UTC)
    )


def _queries(settings: Any) -> list[Any]:
    ctx = _reference(settings)
    return [group.query(ctx) for group in GROUPS]


def _thresholds() -> tuple[str, ...]:
    reads = _ReadSettings(Settings.model_construct())  # the defaults; no environment read
    _queries(reads)
    for rule in RULES:
        rule.thresholds(cast(Settings, reads))
    return tuple(reads.read)


# The settings the rules' queries read (as literals: a statement is built per set of values).
THRESHOLDS = _thresholds()


def _code_key(code: CodeType) -> tuple[Any, ...]:
    """A function's code as stable text: nested code objects (comprehensions) by their own
    code, not by their repr, which holds a memory address."""
    consts = tuple(_code_key(c) if isinstance(c, CodeType) else repr(c) for c in code.co_consts)
    return code.co_code, consts, code.co_names


@functools.cache
def revision() -> str:
    """Changes with any rule's compiled SQL (on either database), columns or wording: stored
    flags evaluated under another revision are evaluated again."""
    parts: list[str] = []
    for query in _queries(Settings.model_construct()):
        parts += [str(query.compile(dialect=d)) for d in (postgresql.dialect(), sqlite.dialect())]
    for rule in RULES:
        parts.append(repr((rule.id, rule.subject, rule.severity, sorted(rule.facts.items()))))
        parts.append(repr((rule.incidents, _code_key(rule.reason.__code__))))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]
