"""The concern rules. Each is a small named unit: what it looks at, why it matters, its
thresholds (from Settings), the SQL that finds its flags set-based, and how to say the reason.

Every rule's query returns rows of one shape, so the engine can UNION them into one statement:
rule, subject_type, subject_id, zoo_id, severity, n1, n2, txt, incident_ids.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Float, String, and_, case, cast, func, literal, null, or_, select
from sqlalchemy.sql import Select

from app.core.config import Settings
from app.models import Animal, Enclosure, Gift, Species, WelfareIncident
from app.models.enums import AnimalStatus, Category, IncidentStatus, Origin, SocialStructure
from app.models.incident import OPEN_STATUSES
from app.welfare.sql import id_list

SEVERITY_WORDS = {1: "minimal", 2: "low", 3: "moderate", 4: "serious", 5: "severe"}
TRADE_ORIGINS = (Origin.diplomatic_gift, Origin.purchase, Origin.exchange)
CITES_SEVERITY = {"I": 4, "II": 3, "III": 2}


@dataclass(frozen=True)
class Context:
    """What a rule needs to build its query: the settings, the zoo (or all) and the clock."""

    settings: Settings
    zoo_id: int | None
    now: datetime

    @property
    def today(self) -> date:
        return self.now.date()


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
    query: Callable[[Context], Select[Any]]
    reason: Callable[[FlagRow, dict[int, str]], str]


def _row(
    rule: str,
    subject_type: str,
    subject_id: Any,
    zoo_id: Any,
    severity: Any,
    n1: Any = None,
    n2: Any = None,
    txt: Any = None,
    incident_ids: Any = None,
) -> list[Any]:
    """The common column list; literal NULLs are typed so the UNION agrees on types."""
    return [
        literal(rule, String).label("rule"),
        literal(subject_type, String).label("subject_type"),
        subject_id.label("subject_id"),
        zoo_id.label("zoo_id"),
        severity.label("severity"),
        cast(n1 if n1 is not None else null(), Float).label("n1"),
        cast(n2 if n2 is not None else null(), Float).label("n2"),
        cast(txt if txt is not None else null(), String).label("txt"),
        cast(incident_ids if incident_ids is not None else null(), String).label("incident_ids"),
    ]


def _in_zoo(column: Any, ctx: Context) -> Any:
    return column == ctx.zoo_id if ctx.zoo_id is not None else literal(True)


def _living(ctx: Context) -> Any:
    return and_(Animal.status == AnimalStatus.alive, _in_zoo(Animal.zoo_id, ctx))


def _incident_flags(
    rule: str, subject: str, ctx: Context, *conditions: Any, severity: Any = None, n2: Any = None
) -> Select[Any]:
    """Flags from incidents about a subject: animals (living) or enclosures (not an animal's)."""
    inc = WelfareIncident
    sev = severity if severity is not None else func.max(inc.severity)
    if subject == "animal":
        stmt = select(
            *_row(
                rule,
                "animal",
                inc.animal_id,
                inc.zoo_id,
                sev,
                n1=func.count(),
                n2=n2,
                incident_ids=id_list(inc.id),
            )
        ).join(Animal, Animal.id == inc.animal_id)
        stmt = stmt.where(_living(ctx))
        group = (inc.animal_id, inc.zoo_id)
    else:
        stmt = select(
            *_row(
                rule,
                "enclosure",
                inc.enclosure_id,
                inc.zoo_id,
                sev,
                n1=func.count(),
                n2=n2,
                incident_ids=id_list(inc.id),
            )
        ).where(inc.enclosure_id.is_not(None), inc.animal_id.is_(None))
        group = (inc.enclosure_id, inc.zoo_id)
    return stmt.where(_in_zoo(inc.zoo_id, ctx), *conditions).group_by(*group)


def _cited(row: FlagRow, titles: dict[int, str]) -> str:
    return "; ".join(f"#{i} \u201c{titles.get(i, '')}\u201d" for i in row.incident_ids)


def _sev(value: float | int | None) -> str:
    n = int(value or 0)
    return f"{n} ({SEVERITY_WORDS.get(n, '?')})"


# --- incident rules -----------------------------------------------------------------------


def _severe_open(subject: str) -> Callable[[Context], Select[Any]]:
    def query(ctx: Context) -> Select[Any]:
        threshold = ctx.settings.concern_severe_min_severity
        return _incident_flags(
            "severe_open_incident",
            subject,
            ctx,
            WelfareIncident.status.in_(OPEN_STATUSES),
            WelfareIncident.severity >= threshold,
            n2=literal(threshold),
        )

    return query


def _severe_open_reason(row: FlagRow, titles: dict[int, str]) -> str:
    count = int(row.n1 or 0)
    if count == 1:
        return f"an open incident of severity {_sev(row.severity)}: {_cited(row, titles)}"
    return (
        f"{count} open incidents of severity {int(row.n2 or 4)} or more, the worst "
        f"{_sev(row.severity)}: {_cited(row, titles)}"
    )


def _confirmed(subject: str) -> Callable[[Context], Select[Any]]:
    def query(ctx: Context) -> Select[Any]:
        return _incident_flags(
            "confirmed_incident",
            subject,
            ctx,
            WelfareIncident.status == IncidentStatus.confirmed,
        )

    return query


def _confirmed_reason(row: FlagRow, titles: dict[int, str]) -> str:
    count = int(row.n1 or 0)
    noun = "a confirmed incident" if count == 1 else f"{count} confirmed incidents"
    return f"{noun}, the most serious of severity {_sev(row.severity)}: {_cited(row, titles)}"


def _repeated(ctx: Context) -> Select[Any]:
    s = ctx.settings
    since = ctx.now - timedelta(days=s.concern_repeated_window_days)
    return _incident_flags(
        "repeated_incidents",
        "animal",
        ctx,
        WelfareIncident.status != IncidentStatus.dismissed,
        WelfareIncident.last_observed_at >= since,
        severity=literal(3),
        n2=literal(s.concern_repeated_window_days),
    ).having(func.count() >= s.concern_repeated_min_count)


def _repeated_reason(row: FlagRow, titles: dict[int, str]) -> str:
    return (
        f"{int(row.n1 or 0)} incidents (not dismissed) observed in the last "
        f"{int(row.n2 or 365)} days: {', '.join(f'#{i}' for i in row.incident_ids)}"
    )


def _human_imposed(ctx: Context) -> Select[Any]:
    floor = ctx.settings.concern_human_interaction_min_flag
    worst = func.max(WelfareIncident.severity)
    return _incident_flags(
        "human_imposed_behaviour",
        "animal",
        ctx,
        WelfareIncident.status.in_(OPEN_STATUSES),
        WelfareIncident.category == Category.human_interaction,
        severity=case((worst < floor, floor), else_=worst),
    )


def _human_imposed_reason(row: FlagRow, titles: dict[int, str]) -> str:
    return (
        "an open human_interaction incident (a forced performance or an unnatural act "
        f"trained for show): {_cited(row, titles)}"
    )


# --- animal rules -----------------------------------------------------------------------


def _social_isolation(ctx: Context) -> Select[Any]:
    group = (
        select(
            Animal.enclosure_id.label("enclosure_id"),
            Animal.species_id.label("species_id"),
            func.sum(Animal.count).label("n"),
        )
        .where(_living(ctx), Animal.enclosure_id.is_not(None))
        .group_by(Animal.enclosure_id, Animal.species_id)
        .subquery()
    )
    together = func.coalesce(group.c.n, Animal.count)
    return (
        select(
            *_row(
                "social_isolation",
                "animal",
                Animal.id,
                Animal.zoo_id,
                literal(3),
                n1=together,
                n2=Species.min_group_size,
                txt=cast(Species.social_structure, String),
            )
        )
        .join(Species, Species.id == Animal.species_id)
        .outerjoin(
            group,
            and_(
                group.c.enclosure_id == Animal.enclosure_id, group.c.species_id == Animal.species_id
            ),
        )
        .where(
            _living(ctx),
            Species.social_structure != SocialStructure.solitary,
            together < Species.min_group_size,
        )
    )


def _social_isolation_reason(row: FlagRow, titles: dict[int, str]) -> str:
    n = int(row.n1 or 0)
    who = "1 individual" if n == 1 else f"{n} individuals"
    return (
        f"{who} of a {row.txt}-living species together in its enclosure; "
        f"it needs a group of at least {int(row.n2 or 0)}"
    )


def _climate_mismatch(ctx: Context) -> Select[Any]:
    climate = cast(Enclosure.climate, String)
    zones = cast(Species.climate_zones, String)
    # climate_zones is a JSON list of enum tokens; a quoted-token match is exact and portable.
    listed = zones.like(literal('%"') + climate + literal('"%'))
    return (
        select(
            *_row(
                "climate_mismatch",
                "animal",
                Animal.id,
                Animal.zoo_id,
                literal(2),
                txt=climate + literal("|") + zones,
            )
        )
        .join(Enclosure, Enclosure.id == Animal.enclosure_id)
        .join(Species, Species.id == Animal.species_id)
        .where(_living(ctx), climate != "controlled", zones != "[]", ~listed)
    )


def _climate_mismatch_reason(row: FlagRow, titles: dict[int, str]) -> str:
    climate, _, zones = (row.txt or "").partition("|")
    names = ", ".join(z.strip(' "') for z in zones.strip("[]").split(","))
    return f"kept in a {climate} enclosure; the species lives in {names} climates"


def _undocumented_trade(ctx: Context) -> Select[Any]:
    severity = case(*((Species.cites_appendix == k, v) for k, v in CITES_SEVERITY.items()), else_=2)
    no_permit = or_(Gift.id.is_(None), Gift.cites_permit_ref.is_(None), Gift.cites_permit_ref == "")
    return (
        select(
            *_row(
                "undocumented_trade",
                "animal",
                Animal.id,
                Animal.zoo_id,
                severity,
                txt=cast(Species.cites_appendix, String)
                + literal("|")
                + cast(Animal.origin, String),
            )
        )
        .join(Species, Species.id == Animal.species_id)
        .outerjoin(Gift, Gift.id == Animal.gift_id)
        .where(
            _living(ctx),
            Species.cites_appendix.is_not(None),
            Animal.origin.in_(TRADE_ORIGINS),
            no_permit,
        )
    )


def _undocumented_trade_reason(row: FlagRow, titles: dict[int, str]) -> str:
    appendix, _, origin = (row.txt or "").partition("|")
    return (
        f"a CITES Appendix {appendix} species that arrived by {origin.replace('_', ' ')} "
        "with no CITES permit reference on record"
    )


# --- enclosure rules ---------------------------------------------------------------------


def _living_in(enclosure_join: Any, ctx: Context) -> Any:
    return and_(Animal.enclosure_id == enclosure_join, Animal.status == AnimalStatus.alive)


def _overcrowded(ctx: Context) -> Select[Any]:
    living = func.sum(Animal.count)
    ratio = ctx.settings.concern_overcrowded_severe_ratio
    return (
        select(
            *_row(
                "overcrowded",
                "enclosure",
                Enclosure.id,
                Enclosure.zoo_id,
                case((living > Enclosure.capacity * ratio, 4), else_=3),
                n1=living,
                n2=Enclosure.capacity,
            )
        )
        .join(Animal, _living_in(Enclosure.id, ctx))
        .where(_in_zoo(Enclosure.zoo_id, ctx))
        .group_by(Enclosure.id, Enclosure.zoo_id, Enclosure.capacity)
        .having(living > Enclosure.capacity)
    )


def _overcrowded_reason(row: FlagRow, titles: dict[int, str]) -> str:
    return f"{int(row.n1 or 0)} individuals in an enclosure for {int(row.n2 or 0)}"


def _undersized(ctx: Context) -> Select[Any]:
    needed = func.sum(Species.min_area_m2 * Animal.count)
    return (
        select(
            *_row(
                "undersized",
                "enclosure",
                Enclosure.id,
                Enclosure.zoo_id,
                literal(3),
                n1=Enclosure.area_m2,
                n2=needed,
            )
        )
        .join(Animal, _living_in(Enclosure.id, ctx))
        .join(Species, Species.id == Animal.species_id)
        .where(_in_zoo(Enclosure.zoo_id, ctx), Species.min_area_m2.is_not(None))
        .group_by(Enclosure.id, Enclosure.zoo_id, Enclosure.area_m2)
        .having(Enclosure.area_m2 < needed)
    )


def _undersized_reason(row: FlagRow, titles: dict[int, str]) -> str:
    return f"{_area(row.n1)} m\u00b2 for animals that need {_area(row.n2)} m\u00b2 between them"


def _area(value: float | None) -> str:
    """Areas in plain digits with thousands separators: 1,500,000 or 12.5."""
    number = float(value or 0)
    return f"{number:,.0f}" if number.is_integer() else f"{number:,.1f}"


def _inspection_overdue(ctx: Context) -> Select[Any]:
    max_age = ctx.settings.concern_inspection_max_age_days
    cutoff = ctx.today - timedelta(days=max_age)
    return select(
        *_row(
            "inspection_overdue",
            "enclosure",
            Enclosure.id,
            Enclosure.zoo_id,
            literal(2),
            n2=literal(max_age),
            txt=cast(Enclosure.last_inspected_on, String),
        )
    ).where(
        _in_zoo(Enclosure.zoo_id, ctx),
        or_(Enclosure.last_inspected_on.is_(None), Enclosure.last_inspected_on < cutoff),
    )


def _inspection_overdue_reason(row: FlagRow, titles: dict[int, str]) -> str:
    if not row.txt:
        return "never inspected"
    return f"last inspected on {row.txt[:10]}, more than {int(row.n2 or 365)} days ago"


# --- the registry --------------------------------------------------------------------------


def _incident_thresholds(s: Settings) -> dict[str, Any]:
    return {"min_severity": s.concern_severe_min_severity}


RULES: tuple[Rule, ...] = (
    Rule(
        "severe_open_incident",
        "animal",
        "An open incident (reported, under review or confirmed) of severity at or above the "
        "threshold about the animal.",
        _incident_thresholds,
        _severe_open("animal"),
        _severe_open_reason,
    ),
    Rule(
        "severe_open_incident",
        "enclosure",
        "An open incident of severity at or above the threshold about the enclosure itself.",
        _incident_thresholds,
        _severe_open("enclosure"),
        _severe_open_reason,
    ),
    Rule(
        "confirmed_incident",
        "animal",
        "A confirmed incident about the animal; the flag's severity is the incident's.",
        lambda s: {},
        _confirmed("animal"),
        _confirmed_reason,
    ),
    Rule(
        "confirmed_incident",
        "enclosure",
        "A confirmed incident about the enclosure; the flag's severity is the incident's.",
        lambda s: {},
        _confirmed("enclosure"),
        _confirmed_reason,
    ),
    Rule(
        "repeated_incidents",
        "animal",
        "At least the threshold number of incidents that were not dismissed, observed within "
        "the window.",
        lambda s: {
            "min_count": s.concern_repeated_min_count,
            "window_days": s.concern_repeated_window_days,
            "flag_severity": 3,
        },
        _repeated,
        _repeated_reason,
    ),
    Rule(
        "human_imposed_behaviour",
        "animal",
        "An open human_interaction incident: a forced performance or an unnatural act trained "
        "for show (such as smoking).",
        lambda s: {"min_flag_severity": s.concern_human_interaction_min_flag},
        _human_imposed,
        _human_imposed_reason,
    ),
    Rule(
        "social_isolation",
        "animal",
        "A pair- or group-living species with fewer than min_group_size of its kind (counting "
        "itself) in its enclosure.",
        lambda s: {"flag_severity": 3},
        _social_isolation,
        _social_isolation_reason,
    ),
    Rule(
        "climate_mismatch",
        "animal",
        "The enclosure's climate is not among the species' climate zones (controlled climates "
        "excepted).",
        lambda s: {"flag_severity": 2},
        _climate_mismatch,
        _climate_mismatch_reason,
    ),
    Rule(
        "undocumented_trade",
        "animal",
        "A CITES-listed species that arrived by gift, purchase or exchange with no permit "
        "reference on record.",
        lambda s: {"flag_severity_by_appendix": CITES_SEVERITY},
        _undocumented_trade,
        _undocumented_trade_reason,
    ),
    Rule(
        "overcrowded",
        "enclosure",
        "More living individuals (sum of counts) than the enclosure's capacity.",
        lambda s: {
            "flag_severity": 3,
            "severe_ratio": s.concern_overcrowded_severe_ratio,
            "severe_flag_severity": 4,
        },
        _overcrowded,
        _overcrowded_reason,
    ),
    Rule(
        "undersized",
        "enclosure",
        "Less area than the sum of min_area_m2 x count over the enclosure's living animals.",
        lambda s: {"flag_severity": 3},
        _undersized,
        _undersized_reason,
    ),
    Rule(
        "inspection_overdue",
        "enclosure",
        "Never inspected, or last inspected more than the maximum age ago.",
        lambda s: {"max_age_days": s.concern_inspection_max_age_days, "flag_severity": 2},
        _inspection_overdue,
        _inspection_overdue_reason,
    ),
)

RULE_IDS = tuple(dict.fromkeys(r.id for r in RULES))
REASONS = {(r.id, r.subject): r.reason for r in RULES}
