"""What every rule is made of: the evaluation context, a rule and its group, the flag a rule
raises with its named facts, and the SQL and wording pieces the groups share.

Rules that read the same rows are evaluated together: a rule group is one indexed aggregate
query returning one row per subject, with the columns of each of its rules; a rule whose
condition does not hold for a subject leaves its severity column NULL. The engine runs one
statement per group, for one zoo or for all zoos at once.
"""

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Float, String, and_, bindparam, case, cast, func, literal, true
from sqlalchemy import literal_column as sql_literal
from sqlalchemy.sql import Select
from sqlmodel import col

from app.concerns.sql import id_list
from app.core.config import Settings
from app.models import Animal, WelfareIncident
from app.models.enums import AnimalStatus
from app.models.incident import OPEN_STATUSES

SEVERITY_WORDS = {1: "minimal", 2: "low", 3: "moderate", 4: "serious", 5: "severe"}


@dataclass(frozen=True)
class Context:
    """What a rule needs to build its query: the settings, the zoo (or all) and the clock.

    The zoo, the animal and the clock reach a query as named bound parameters, so a statement
    built for one context runs for any other of the same `shape` with that one's `params`.
    """

    settings: Settings
    zoo_id: int | None
    now: datetime
    # Only these subjects' flags (a subquery of ids: the dirty subjects store.update evaluates
    # again); None: every subject. Statements are cached by `shape`, not by the subquery, so
    # there is one such subquery (app/concerns/store.py).
    animal_ids: Any = None
    enclosure_ids: Any = None

    @property
    def today(self) -> date:
        return self.now.date()

    @property
    def since(self) -> datetime:
        """The start of the repeated-incidents window."""
        return self.now - timedelta(days=self.settings.concern_repeated_window_days)

    @property
    def cutoff(self) -> date:
        """An enclosure last inspected before this day is overdue."""
        return self.today - timedelta(days=self.settings.concern_inspection_max_age_days)

    @property
    def shape(self) -> Hashable:
        """What a statement built for this context depends on, besides its parameters."""
        restricted = self.animal_ids is not None, self.enclosure_ids is not None
        return (
            threshold_values(self.settings),
            self.zoo_id is None,
            restricted,
        )

    def params(self) -> dict[str, Any]:
        return {
            "zoo_id": self.zoo_id,
            "since": self.since,
            "cutoff": self.cutoff,
        }


def threshold_values(settings: Settings) -> tuple[Any, ...]:
    """The values of the settings the rules read, in THRESHOLDS' order."""
    # The registry derives THRESHOLDS from the rules, which are built on this module.
    from app.concerns.rules import THRESHOLDS

    return tuple(getattr(settings, name) for name in THRESHOLDS)


@dataclass(frozen=True)
class Flag:
    """A flag a rule raised for one subject, with the facts its reason is told from."""

    rule: str
    subject_type: str
    subject_id: int
    zoo_id: int
    severity: int
    facts: Mapping[str, Any]
    incident_ids: list[int]


@dataclass(frozen=True)
class Rule:
    id: str
    subject: str  # "animal" or "enclosure"
    description: str
    thresholds: Callable[[Settings], dict[str, Any]]
    severity: str  # the group's column with this rule's severity (NULL: not raised)
    reason: Callable[[Flag, dict[int, str]], str]
    facts: Mapping[str, str] = field(default_factory=dict)  # fact name -> the group's column
    incidents: str | None = None  # the group's column listing the incidents behind the flag

    def reader(self, keys: Sequence[str]) -> Callable[[Sequence[Any]], Flag | None]:
        """A function that reads this rule's flag off one of its group's result rows."""
        at = {key: index for index, key in enumerate(keys)}
        subject, zoo, severity_at = at["subject_id"], at["zoo_id"], at[self.severity]
        facts = [(name, at[column]) for name, column in self.facts.items()]
        ids_at = at[self.incidents] if self.incidents else None

        def read(row: Sequence[Any]) -> Flag | None:
            severity = row[severity_at]
            if severity is None:
                return None
            return Flag(
                rule=self.id,
                subject_type=self.subject,
                subject_id=int(row[subject]),
                zoo_id=int(row[zoo]),
                severity=int(severity),
                facts={name: row[index] for name, index in facts},
                incident_ids=parse_ids(row[ids_at]) if ids_at is not None else [],
            )

        return read


@dataclass(frozen=True)
class RuleGroup:
    """Rules that read the same rows, evaluated by one aggregate query."""

    name: str
    query: Callable[[Context], Select[Any]]
    rules: tuple[Rule, ...]


def parse_ids(text: str | None) -> list[int]:
    """An aggregated id list (see sql.id_list), in ascending order."""
    if not text:
        return []
    ids = list(map(int, text.split(",")))
    ids.sort()
    return ids


# --- SQL pieces -----------------------------------------------------------------------------


def sql_type(column: Any) -> Any:
    """A mapped column's SQL type (SQLModel annotates its attributes with Python types)."""
    return column.type


def in_zoo(column: Any, ctx: Context) -> Any:
    if ctx.zoo_id is None:
        return literal(True)
    return column == bindparam("zoo_id", ctx.zoo_id, type_=column.type)


def living(ctx: Context) -> Any:
    return and_(col(Animal.status) == AnimalStatus.alive, in_zoo(Animal.zoo_id, ctx))


def subject_animals(ctx: Context) -> Any:
    """The animals being evaluated: the zoo's living ones, or the dirty ones asked for."""
    if ctx.animal_ids is not None:
        return and_(living(ctx), col(Animal.id).in_(ctx.animal_ids))
    return living(ctx)


def subject_incidents(ctx: Context) -> Any:
    """The incidents about the animals asked for. Repeats subject_animals on the incident
    side: PostgreSQL carries an equality across a join, not an IN."""
    if ctx.animal_ids is None:
        return true()
    return col(WelfareIncident.animal_id).in_(ctx.animal_ids)


def subject_enclosures(column: Any, ctx: Context) -> Any:
    """The enclosures asked for (every one when none were)."""
    if ctx.enclosure_ids is None:
        return true()
    return column.in_(ctx.enclosure_ids)


def is_open(status: Any) -> Any:
    # The statuses as literals, not parameters: a prepared statement's generic plan can use the
    # partial indexes on open incidents only when it sees their predicate's very values.
    return status.in_([sql_literal(f"'{s.value}'") for s in OPEN_STATUSES])


def when(condition: Any, value: Any) -> Any:
    """The value where the condition holds, NULL elsewhere (aggregates skip NULLs)."""
    return case((condition, value))


def flagged_max(condition: Any) -> Any:
    return func.max(when(condition, WelfareIncident.severity))


def flagged_count(condition: Any) -> Any:
    return cast(func.count(when(condition, WelfareIncident.id)), Float)


def flagged_ids(condition: Any) -> Any:
    return cast(id_list(when(condition, WelfareIncident.id)), String)


# --- wording --------------------------------------------------------------------------------

CITED_MAX = 3  # a reason names the first few incidents; incident_ids lists them all


def cited_ids(flag: Flag) -> list[int]:
    """The incidents a reason names by title."""
    return flag.incident_ids[:CITED_MAX]


def cited(flag: Flag, titles: dict[int, str]) -> str:
    named = "; ".join(f"#{i} \u201c{titles.get(i, '')}\u201d" for i in cited_ids(flag))
    more = len(flag.incident_ids) - CITED_MAX
    return f"{named}; and {more} more" if more > 0 else named


def number(value: float | int | None) -> int:
    return int(value or 0)


def severity_words(value: float | int | None) -> str:
    n = number(value)
    return f"{n} ({SEVERITY_WORDS.get(n, '?')})"


def area(value: float | None) -> str:
    """Areas in plain digits with thousands separators: 1,500,000 or 12.5."""
    amount = float(value or 0)
    return f"{amount:,.0f}" if amount.is_integer() else f"{amount:,.1f}"
