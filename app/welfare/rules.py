"""The concern rules. Each rule is a small named unit: what it looks at, why it matters, its
thresholds (from Settings), the SQL condition that raises it, and how to say the reason.

Rules that read the same rows are evaluated together: a rule group is one indexed aggregate
query returning one row per subject, with the numbers for each of its rules; a rule whose
condition does not hold for a subject leaves its columns NULL. The engine runs one statement
per group, for one zoo or for all zoos at once.
"""

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Float,
    String,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal,
    literal_column,
    or_,
    select,
    true,
)
from sqlalchemy.sql import Select
from sqlmodel import col

from app.core.config import Settings
from app.models import Animal, Enclosure, Gift, Species, WelfareIncident
from app.models.enums import AnimalStatus, Category, IncidentStatus, Origin, SocialStructure
from app.models.incident import OPEN_STATUSES
from app.welfare.sql import id_list

SEVERITY_WORDS = {1: "minimal", 2: "low", 3: "moderate", 4: "serious", 5: "severe"}
TRADE_ORIGINS = (Origin.diplomatic_gift, Origin.purchase, Origin.exchange)
CITES_SEVERITY = {"I": 4, "II": 3, "III": 2}
SOCIAL_ISOLATION_SEVERITY = 3
CLIMATE_MISMATCH_SEVERITY = 2
REPEATED_SEVERITY = 3
UNDERSIZED_SEVERITY = 3
OVERCROWDED_SEVERITY, OVERCROWDED_SEVERE_SEVERITY = 3, 4
INSPECTION_SEVERITY = 2


# The settings the rules' queries read (as literals: a statement is built per set of values).
THRESHOLDS = (
    "concern_severe_min_severity",
    "concern_repeated_min_count",
    "concern_repeated_window_days",
    "concern_inspection_max_age_days",
    "concern_human_interaction_min_flag",
    "concern_overcrowded_severe_ratio",
)


@dataclass(frozen=True)
class Context:
    """What a rule needs to build its query: the settings, the zoo (or all) and the clock.

    The zoo, the animal and the clock reach a query as named bound parameters, so a statement
    built for one context runs for any other of the same `shape` with that one's `params`.
    """

    settings: Settings
    zoo_id: int | None
    now: datetime
    animal_id: int | None = None  # one animal's flags only
    # Only these subjects' flags (a subquery of ids: the dirty subjects store.update evaluates
    # again); None: every subject. Statements are cached by `shape`, not by the subquery, so
    # there is one such subquery (app/welfare/store.py).
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
        thresholds = tuple(getattr(self.settings, name) for name in THRESHOLDS)
        restricted = self.animal_ids is not None, self.enclosure_ids is not None
        return thresholds, self.zoo_id is None, self.animal_id is None, restricted

    def params(self) -> dict[str, Any]:
        return {
            "zoo_id": self.zoo_id,
            "animal_id": self.animal_id,
            "since": self.since,
            "cutoff": self.cutoff,
        }


@dataclass(frozen=True)
class FlagRow:
    rule: str
    subject_type: str
    subject_id: int
    zoo_id: int
    severity: int
    n1: float | None
    n2: float | None
    txt: str | None
    incident_ids: list[int]


@dataclass(frozen=True)
class Rule:
    id: str
    subject: str  # "animal" or "enclosure"
    description: str
    thresholds: Callable[[Settings], dict[str, Any]]
    # Reads this rule's flag from its group's row: (severity, n1, n2, txt, incident ids) or None.
    columns: tuple[str, str | None, str | None, str | None, str | None]
    reason: Callable[[FlagRow, dict[int, str]], str]

    def reader(self, keys: Sequence[str]) -> Callable[[Sequence[Any]], FlagRow | None]:
        """A function that reads this rule's flag off one of its group's result rows."""
        position = {key: index for index, key in enumerate(keys)}
        at = [position[c] if c else None for c in self.columns]
        subject, zoo = position["subject_id"], position["zoo_id"]
        severity_at, n1_at, n2_at, txt_at, ids_at = at

        def read(row: Sequence[Any]) -> FlagRow | None:
            severity = row[severity_at]  # type: ignore[index]  # every rule has a severity column
            if severity is None:
                return None
            return FlagRow(
                rule=self.id,
                subject_type=self.subject,
                subject_id=int(row[subject]),
                zoo_id=int(row[zoo]),
                severity=int(severity),
                n1=row[n1_at] if n1_at is not None else None,
                n2=row[n2_at] if n2_at is not None else None,
                txt=row[txt_at] if txt_at is not None else None,
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


def _sql_type(column: Any) -> Any:
    """A mapped column's SQL type (SQLModel annotates its attributes with Python types)."""
    return column.type


def _in_zoo(column: Any, ctx: Context) -> Any:
    if ctx.zoo_id is None:
        return literal(True)
    return column == bindparam("zoo_id", ctx.zoo_id, type_=column.type)


def _living(ctx: Context) -> Any:
    return and_(col(Animal.status) == AnimalStatus.alive, _in_zoo(Animal.zoo_id, ctx))


def _subject_animals(ctx: Context) -> Any:
    """The animals being evaluated: the zoo's living ones, or the one(s) asked for."""
    if ctx.animal_ids is not None:
        return and_(_living(ctx), col(Animal.id).in_(ctx.animal_ids))
    if ctx.animal_id is None:
        return _living(ctx)
    return and_(
        _living(ctx),
        col(Animal.id) == bindparam("animal_id", ctx.animal_id, type_=_sql_type(Animal.id)),
    )


def _subject_incidents(ctx: Context) -> Any:
    """The incidents about the animals asked for. Repeats _subject_animals on the incident
    side: PostgreSQL carries an equality across a join, not an IN."""
    if ctx.animal_ids is None:
        return true()
    return col(WelfareIncident.animal_id).in_(ctx.animal_ids)


def _subject_enclosures(column: Any, ctx: Context) -> Any:
    """The enclosures asked for (every one when none were)."""
    if ctx.enclosure_ids is None:
        return true()
    return column.in_(ctx.enclosure_ids)


def _is_open(status: Any) -> Any:
    # The statuses as literals, not parameters: a prepared statement's generic plan can use the
    # partial indexes on open incidents only when it sees their predicate's very values.
    return status.in_([literal_column(f"'{s.value}'") for s in OPEN_STATUSES])


def _when(condition: Any, value: Any) -> Any:
    """The value where the condition holds, NULL elsewhere (aggregates skip NULLs)."""
    return case((condition, value))


def _flagged_max(condition: Any) -> Any:
    return func.max(_when(condition, WelfareIncident.severity))


def _flagged_count(condition: Any) -> Any:
    return cast(func.count(_when(condition, WelfareIncident.id)), Float)


def _flagged_ids(condition: Any) -> Any:
    return cast(id_list(_when(condition, WelfareIncident.id)), String)


CITED_MAX = 3  # a reason names the first few incidents; incident_ids lists them all


def cited_ids(row: FlagRow) -> list[int]:
    """The incidents a reason names by title."""
    return row.incident_ids[:CITED_MAX]


def _cited(row: FlagRow, titles: dict[int, str]) -> str:
    named = "; ".join(f"#{i} \u201c{titles.get(i, '')}\u201d" for i in cited_ids(row))
    more = len(row.incident_ids) - CITED_MAX
    return f"{named}; and {more} more" if more > 0 else named


def _sev(value: float | int | None) -> str:
    n = int(value or 0)
    return f"{n} ({SEVERITY_WORDS.get(n, '?')})"


def _area(value: float | None) -> str:
    """Areas in plain digits with thousands separators: 1,500,000 or 12.5."""
    number = float(value or 0)
    return f"{number:,.0f}" if number.is_integer() else f"{number:,.1f}"


# --- group: open incidents about animals ----------------------------------------------------


def _open_incident_conditions(ctx: Context) -> tuple[Any, Any, Any]:
    inc = WelfareIncident
    severe = inc.severity >= ctx.settings.concern_severe_min_severity
    confirmed = col(inc.status) == IncidentStatus.confirmed
    human = col(inc.category) == Category.human_interaction
    return severe, confirmed, human


def _severe_and_confirmed(ctx: Context) -> list[Any]:
    """The columns both open-incident groups share: severe and confirmed incidents."""
    severe, confirmed, _ = _open_incident_conditions(ctx)
    return [
        _flagged_max(severe).label("severe_max"),
        _flagged_count(severe).label("severe_count"),
        _flagged_ids(severe).label("severe_ids"),
        literal(ctx.settings.concern_severe_min_severity, Float).label("severe_threshold"),
        _flagged_max(confirmed).label("confirmed_max"),
        _flagged_count(confirmed).label("confirmed_count"),
        _flagged_ids(confirmed).label("confirmed_ids"),
    ]


def _animal_open_incidents(ctx: Context) -> Select[Any]:
    inc = WelfareIncident
    severe, confirmed, human = _open_incident_conditions(ctx)
    floor = ctx.settings.concern_human_interaction_min_flag
    human_worst = _flagged_max(human)
    return (
        select(
            col(inc.animal_id).label("subject_id"),
            col(inc.zoo_id).label("zoo_id"),
            *_severe_and_confirmed(ctx),
            case((human_worst < floor, floor), else_=human_worst).label("human_max"),
            _flagged_ids(human).label("human_ids"),
        )
        .join(Animal, col(Animal.id) == inc.animal_id)
        .where(
            _subject_animals(ctx),
            _in_zoo(inc.zoo_id, ctx),
            _subject_incidents(ctx),
            _is_open(inc.status),
            or_(severe, confirmed, human),
        )
        .group_by(col(inc.animal_id), col(inc.zoo_id))
    )


def _severe_open_reason(row: FlagRow, titles: dict[int, str]) -> str:
    count = int(row.n1 or 0)
    if count == 1:
        return f"an open incident of severity {_sev(row.severity)}: {_cited(row, titles)}"
    return (
        f"{count} open incidents of severity {int(row.n2 or 4)} or more, the worst "
        f"{_sev(row.severity)}: {_cited(row, titles)}"
    )


def _confirmed_reason(row: FlagRow, titles: dict[int, str]) -> str:
    count = int(row.n1 or 0)
    noun = "a confirmed incident" if count == 1 else f"{count} confirmed incidents"
    return f"{noun}, the most serious of severity {_sev(row.severity)}: {_cited(row, titles)}"


def _human_imposed_reason(row: FlagRow, titles: dict[int, str]) -> str:
    return (
        "an open human_interaction incident (a forced performance or an unnatural act "
        f"trained for show): {_cited(row, titles)}"
    )


# --- group: recent incidents about animals --------------------------------------------------


def _animal_recent_incidents(ctx: Context) -> Select[Any]:
    inc = WelfareIncident
    s = ctx.settings
    since = bindparam("since", ctx.since, type_=_sql_type(inc.last_observed_at))
    count = cast(func.count(), Float)
    return (
        select(
            col(inc.animal_id).label("subject_id"),
            col(inc.zoo_id).label("zoo_id"),
            literal(REPEATED_SEVERITY).label("repeated_severity"),
            count.label("repeated_count"),
            literal(s.concern_repeated_window_days, Float).label("repeated_window"),
            cast(id_list(inc.id), String).label("repeated_ids"),
        )
        .join(Animal, col(Animal.id) == inc.animal_id)
        .where(
            _subject_animals(ctx),
            _in_zoo(inc.zoo_id, ctx),
            _subject_incidents(ctx),
            col(inc.status) != IncidentStatus.dismissed,
            inc.last_observed_at >= since,
        )
        .group_by(col(inc.animal_id), col(inc.zoo_id))
        .having(func.count() >= s.concern_repeated_min_count)
    )


def _repeated_reason(row: FlagRow, titles: dict[int, str]) -> str:
    return (
        f"{int(row.n1 or 0)} incidents (not dismissed) observed in the last "
        f"{int(row.n2 or 365)} days: {', '.join(f'#{i}' for i in row.incident_ids)}"
    )


# --- group: open incidents about enclosures -------------------------------------------------


def _enclosure_open_incidents(ctx: Context) -> Select[Any]:
    inc = WelfareIncident
    severe, confirmed, _ = _open_incident_conditions(ctx)
    return (
        select(
            col(inc.enclosure_id).label("subject_id"),
            col(inc.zoo_id).label("zoo_id"),
            *_severe_and_confirmed(ctx),
        )
        # An incident that names an animal is about the animal, not about its enclosure.
        .where(
            _in_zoo(inc.zoo_id, ctx),
            _subject_enclosures(inc.enclosure_id, ctx),
            col(inc.animal_id).is_(None),
            col(inc.enclosure_id).is_not(None),
            _is_open(inc.status),
            or_(severe, confirmed),
        )
        .group_by(col(inc.enclosure_id), col(inc.zoo_id))
    )


# --- group: where and how animals are kept --------------------------------------------------


def _animal_placement(ctx: Context) -> Select[Any]:
    group = (
        select(
            col(Animal.enclosure_id).label("enclosure_id"),
            col(Animal.species_id).label("species_id"),
            func.sum(Animal.count).label("n"),
        )
        .where(_living(ctx), col(Animal.enclosure_id).is_not(None))
        .group_by(col(Animal.enclosure_id), col(Animal.species_id))
        .subquery()
    )
    together = func.coalesce(group.c.n, Animal.count)
    isolated = and_(
        col(Species.social_structure) != SocialStructure.solitary, together < Species.min_group_size
    )
    climate = cast(Enclosure.climate, String)
    zones = cast(Species.climate_zones, String)
    # climate_zones is a JSON list of enum tokens; a quoted-token match is exact and portable.
    listed = zones.like(literal('%"') + climate + literal('"%'))
    mismatch = and_(col(Enclosure.id).is_not(None), climate != "controlled", zones != "[]", ~listed)
    undocumented = and_(
        col(Species.cites_appendix).is_not(None),
        col(Animal.origin).in_(TRADE_ORIGINS),
        or_(
            col(Gift.id).is_(None),
            col(Gift.cites_permit_ref).is_(None),
            col(Gift.cites_permit_ref) == "",
        ),
    )
    trade_severity = case(
        *((col(Species.cites_appendix) == k, v) for k, v in CITES_SEVERITY.items()), else_=2
    )
    return (
        select(
            col(Animal.id).label("subject_id"),
            col(Animal.zoo_id).label("zoo_id"),
            _when(isolated, SOCIAL_ISOLATION_SEVERITY).label("isolation_severity"),
            cast(together, Float).label("together"),
            cast(Species.min_group_size, Float).label("min_group_size"),
            cast(Species.social_structure, String).label("social_structure"),
            _when(mismatch, CLIMATE_MISMATCH_SEVERITY).label("climate_severity"),
            (climate + literal("|") + zones).label("climates"),
            _when(undocumented, trade_severity).label("trade_severity"),
            (
                cast(Species.cites_appendix, String) + literal("|") + cast(Animal.origin, String)
            ).label("trade"),
        )
        .join(Species, col(Species.id) == Animal.species_id)
        .outerjoin(Enclosure, col(Enclosure.id) == Animal.enclosure_id)
        .outerjoin(Gift, col(Gift.id) == Animal.gift_id)
        .outerjoin(
            group,
            and_(
                group.c.enclosure_id == Animal.enclosure_id,
                group.c.species_id == Animal.species_id,
            ),
        )
        .where(_subject_animals(ctx), or_(isolated, mismatch, undocumented))
    )


def _social_isolation_reason(row: FlagRow, titles: dict[int, str]) -> str:
    n = int(row.n1 or 0)
    who = "1 individual" if n == 1 else f"{n} individuals"
    return (
        f"{who} of a {row.txt}-living species together in its enclosure; "
        f"it needs a group of at least {int(row.n2 or 0)}"
    )


def _climate_mismatch_reason(row: FlagRow, titles: dict[int, str]) -> str:
    climate, _, zones = (row.txt or "").partition("|")
    names = ", ".join(z.strip(' "') for z in zones.strip("[]").split(","))
    return f"kept in a {climate} enclosure; the species lives in {names} climates"


def _undocumented_trade_reason(row: FlagRow, titles: dict[int, str]) -> str:
    appendix, _, origin = (row.txt or "").partition("|")
    return (
        f"a CITES Appendix {appendix} species that arrived by {origin.replace('_', ' ')} "
        "with no CITES permit reference on record"
    )


# --- group: the state of enclosures ---------------------------------------------------------


def _enclosure_state(ctx: Context) -> Select[Any]:
    s = ctx.settings
    occupancy = (
        select(
            col(Animal.enclosure_id).label("enclosure_id"),
            func.sum(Animal.count).label("living"),
            func.sum(col(Species.min_area_m2) * Animal.count).label("needed"),
        )
        .join(Species, col(Species.id) == Animal.species_id)
        .where(_living(ctx), col(Animal.enclosure_id).is_not(None))
        .group_by(col(Animal.enclosure_id))
        .subquery()
    )
    living = func.coalesce(occupancy.c.living, 0)
    crowded = living > Enclosure.capacity
    cramped = col(Enclosure.area_m2) < occupancy.c.needed
    cutoff = bindparam("cutoff", ctx.cutoff, type_=_sql_type(Enclosure.last_inspected_on))
    overdue = or_(
        col(Enclosure.last_inspected_on).is_(None), col(Enclosure.last_inspected_on) < cutoff
    )
    crowded_severity = case(
        (
            living > col(Enclosure.capacity) * s.concern_overcrowded_severe_ratio,
            OVERCROWDED_SEVERE_SEVERITY,
        ),
        else_=OVERCROWDED_SEVERITY,
    )
    return (
        select(
            col(Enclosure.id).label("subject_id"),
            col(Enclosure.zoo_id).label("zoo_id"),
            _when(crowded, crowded_severity).label("crowded_severity"),
            cast(living, Float).label("living"),
            cast(Enclosure.capacity, Float).label("capacity"),
            _when(cramped, UNDERSIZED_SEVERITY).label("cramped_severity"),
            cast(Enclosure.area_m2, Float).label("area"),
            cast(occupancy.c.needed, Float).label("needed"),
            _when(overdue, INSPECTION_SEVERITY).label("overdue_severity"),
            literal(s.concern_inspection_max_age_days, Float).label("max_age"),
            cast(Enclosure.last_inspected_on, String).label("last_inspected"),
        )
        .outerjoin(occupancy, occupancy.c.enclosure_id == Enclosure.id)
        .where(
            _in_zoo(Enclosure.zoo_id, ctx),
            _subject_enclosures(Enclosure.id, ctx),
            or_(crowded, cramped, overdue),
        )
    )


def _overcrowded_reason(row: FlagRow, titles: dict[int, str]) -> str:
    return f"{int(row.n1 or 0)} individuals in an enclosure for {int(row.n2 or 0)}"


def _undersized_reason(row: FlagRow, titles: dict[int, str]) -> str:
    return f"{_area(row.n1)} m\u00b2 for animals that need {_area(row.n2)} m\u00b2 between them"


def _inspection_overdue_reason(row: FlagRow, titles: dict[int, str]) -> str:
    if not row.txt:
        return "never inspected"
    return f"last inspected on {row.txt[:10]}, more than {int(row.n2 or 365)} days ago"


# --- the registry -----------------------------------------------------------------------


def _severe_thresholds(s: Settings) -> dict[str, Any]:
    return {"min_severity": s.concern_severe_min_severity}


SEVERE_OPEN_COLUMNS = ("severe_max", "severe_count", "severe_threshold", None, "severe_ids")
CONFIRMED_COLUMNS = ("confirmed_max", "confirmed_count", None, None, "confirmed_ids")

GROUPS: tuple[RuleGroup, ...] = (
    RuleGroup(
        "animal_open_incidents",
        _animal_open_incidents,
        (
            Rule(
                "severe_open_incident",
                "animal",
                "An open incident (reported, under review or confirmed) of severity at or above "
                "the threshold about the animal.",
                _severe_thresholds,
                SEVERE_OPEN_COLUMNS,
                _severe_open_reason,
            ),
            Rule(
                "confirmed_incident",
                "animal",
                "A confirmed incident about the animal; the flag's severity is the incident's.",
                lambda s: {},
                CONFIRMED_COLUMNS,
                _confirmed_reason,
            ),
            Rule(
                "human_imposed_behaviour",
                "animal",
                "An open human_interaction incident: a forced performance or an unnatural act "
                "trained for show (such as smoking).",
                lambda s: {"min_flag_severity": s.concern_human_interaction_min_flag},
                ("human_max", None, None, None, "human_ids"),
                _human_imposed_reason,
            ),
        ),
    ),
    RuleGroup(
        "animal_recent_incidents",
        _animal_recent_incidents,
        (
            Rule(
                "repeated_incidents",
                "animal",
                "At least the threshold number of incidents that were not dismissed, observed "
                "within the window.",
                lambda s: {
                    "min_count": s.concern_repeated_min_count,
                    "window_days": s.concern_repeated_window_days,
                    "flag_severity": REPEATED_SEVERITY,
                },
                ("repeated_severity", "repeated_count", "repeated_window", None, "repeated_ids"),
                _repeated_reason,
            ),
        ),
    ),
    RuleGroup(
        "enclosure_open_incidents",
        _enclosure_open_incidents,
        (
            Rule(
                "severe_open_incident",
                "enclosure",
                "An open incident of severity at or above the threshold about the enclosure "
                "itself.",
                _severe_thresholds,
                SEVERE_OPEN_COLUMNS,
                _severe_open_reason,
            ),
            Rule(
                "confirmed_incident",
                "enclosure",
                "A confirmed incident about the enclosure; the flag's severity is the incident's.",
                lambda s: {},
                CONFIRMED_COLUMNS,
                _confirmed_reason,
            ),
        ),
    ),
    RuleGroup(
        "animal_placement",
        _animal_placement,
        (
            Rule(
                "social_isolation",
                "animal",
                "A pair- or group-living species with fewer than min_group_size of its kind "
                "(counting itself) in its enclosure.",
                lambda s: {"flag_severity": SOCIAL_ISOLATION_SEVERITY},
                ("isolation_severity", "together", "min_group_size", "social_structure", None),
                _social_isolation_reason,
            ),
            Rule(
                "climate_mismatch",
                "animal",
                "The enclosure's climate is not among the species' climate zones (controlled "
                "climates excepted).",
                lambda s: {"flag_severity": CLIMATE_MISMATCH_SEVERITY},
                ("climate_severity", None, None, "climates", None),
                _climate_mismatch_reason,
            ),
            Rule(
                "undocumented_trade",
                "animal",
                "A CITES-listed species that arrived by gift, purchase or exchange with no "
                "permit reference on record.",
                lambda s: {"flag_severity_by_appendix": CITES_SEVERITY},
                ("trade_severity", None, None, "trade", None),
                _undocumented_trade_reason,
            ),
        ),
    ),
    RuleGroup(
        "enclosure_state",
        _enclosure_state,
        (
            Rule(
                "overcrowded",
                "enclosure",
                "More living individuals (sum of counts) than the enclosure's capacity.",
                lambda s: {
                    "flag_severity": OVERCROWDED_SEVERITY,
                    "severe_ratio": s.concern_overcrowded_severe_ratio,
                    "severe_flag_severity": OVERCROWDED_SEVERE_SEVERITY,
                },
                ("crowded_severity", "living", "capacity", None, None),
                _overcrowded_reason,
            ),
            Rule(
                "undersized",
                "enclosure",
                "Less area than the sum of min_area_m2 x count over the enclosure's living "
                "animals.",
                lambda s: {"flag_severity": UNDERSIZED_SEVERITY},
                ("cramped_severity", "area", "needed", None, None),
                _undersized_reason,
            ),
            Rule(
                "inspection_overdue",
                "enclosure",
                "Never inspected, or last inspected more than the maximum age ago.",
                lambda s: {
                    "max_age_days": s.concern_inspection_max_age_days,
                    "flag_severity": INSPECTION_SEVERITY,
                },
                ("overdue_severity", None, "max_age", "last_inspected", None),
                _inspection_overdue_reason,
            ),
        ),
    ),
)

RULES: tuple[Rule, ...] = tuple(rule for group in GROUPS for rule in group.rules)
RULE_IDS = tuple(dict.fromkeys(r.id for r in RULES))
REASONS = {(r.id, r.subject): r.reason for r in RULES}


def groups_for(rules: Sequence[Rule]) -> list[RuleGroup]:
    """The groups needed to evaluate the given rules."""
    wanted = set(map(id, rules))
    return [g for g in GROUPS if any(id(r) in wanted for r in g.rules)]
