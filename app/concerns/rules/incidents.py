"""Rules on incidents: open incidents that are severe, confirmed or of imposed behaviour
(about an animal or about an enclosure itself), and incidents repeated within a window."""

from typing import Any

from sqlalchemy import Float, String, bindparam, case, cast, func, literal, or_, select
from sqlalchemy.sql import Select
from sqlmodel import col

from app.concerns.rules.base import (
    Context,
    Flag,
    Rule,
    RuleGroup,
    cited,
    flagged_count,
    flagged_ids,
    flagged_max,
    in_zoo,
    is_open,
    number,
    severity_words,
    sql_type,
    subject_animals,
    subject_enclosures,
    subject_incidents,
)
from app.concerns.sql import id_list
from app.core.config import Settings
from app.models import Animal, WelfareIncident
from app.models.enums import Category, IncidentStatus

REPEATED_SEVERITY = 3


def _conditions(ctx: Context) -> tuple[Any, Any, Any]:
    inc = WelfareIncident
    severe = inc.severity >= ctx.settings.concern_severe_min_severity
    confirmed = col(inc.status) == IncidentStatus.confirmed
    human = col(inc.category) == Category.human_interaction
    return severe, confirmed, human


def _severe_and_confirmed(ctx: Context) -> list[Any]:
    """The columns both open-incident groups share: severe and confirmed incidents."""
    severe, confirmed, _ = _conditions(ctx)
    return [
        flagged_max(severe).label("severe_max"),
        flagged_count(severe).label("severe_count"),
        flagged_ids(severe).label("severe_ids"),
        literal(ctx.settings.concern_severe_min_severity, Float).label("severe_threshold"),
        flagged_max(confirmed).label("confirmed_max"),
        flagged_count(confirmed).label("confirmed_count"),
        flagged_ids(confirmed).label("confirmed_ids"),
    ]


def animal_open_incidents(ctx: Context) -> Select[Any]:
    inc = WelfareIncident
    severe, confirmed, human = _conditions(ctx)
    floor = ctx.settings.concern_human_interaction_min_flag
    human_worst = flagged_max(human)
    return (
        select(
            col(inc.animal_id).label("subject_id"),
            col(inc.zoo_id).label("zoo_id"),
            *_severe_and_confirmed(ctx),
            case((human_worst < floor, floor), else_=human_worst).label("human_max"),
            flagged_ids(human).label("human_ids"),
        )
        .join(Animal, col(Animal.id) == inc.animal_id)
        .where(
            subject_animals(ctx),
            in_zoo(inc.zoo_id, ctx),
            subject_incidents(ctx),
            is_open(inc.status),
            or_(severe, confirmed, human),
        )
        .group_by(col(inc.animal_id), col(inc.zoo_id))
    )


def animal_recent_incidents(ctx: Context) -> Select[Any]:
    inc = WelfareIncident
    s = ctx.settings
    since = bindparam("since", ctx.since, type_=sql_type(inc.last_observed_at))
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
            subject_animals(ctx),
            in_zoo(inc.zoo_id, ctx),
            subject_incidents(ctx),
            col(inc.status) != IncidentStatus.dismissed,
            inc.last_observed_at >= since,
        )
        .group_by(col(inc.animal_id), col(inc.zoo_id))
        .having(func.count() >= s.concern_repeated_min_count)
    )


def enclosure_open_incidents(ctx: Context) -> Select[Any]:
    inc = WelfareIncident
    severe, confirmed, _ = _conditions(ctx)
    return (
        select(
            col(inc.enclosure_id).label("subject_id"),
            col(inc.zoo_id).label("zoo_id"),
            *_severe_and_confirmed(ctx),
        )
        # An incident that names an animal is about the animal, not about its enclosure.
        .where(
            in_zoo(inc.zoo_id, ctx),
            subject_enclosures(inc.enclosure_id, ctx),
            col(inc.animal_id).is_(None),
            col(inc.enclosure_id).is_not(None),
            is_open(inc.status),
            or_(severe, confirmed),
        )
        .group_by(col(inc.enclosure_id), col(inc.zoo_id))
    )


def _severe_open_reason(flag: Flag, titles: dict[int, str]) -> str:
    count = number(flag.facts["count"])
    if count == 1:
        return (
            f"an open incident of severity {severity_words(flag.severity)}: {cited(flag, titles)}"
        )
    return (
        f"{count} open incidents of severity {number(flag.facts['threshold']) or 4} or more, "
        f"the worst {severity_words(flag.severity)}: {cited(flag, titles)}"
    )


def _confirmed_reason(flag: Flag, titles: dict[int, str]) -> str:
    count = number(flag.facts["count"])
    noun = "a confirmed incident" if count == 1 else f"{count} confirmed incidents"
    worst = severity_words(flag.severity)
    return f"{noun}, the most serious of severity {worst}: {cited(flag, titles)}"


def _human_imposed_reason(flag: Flag, titles: dict[int, str]) -> str:
    return (
        "an open human_interaction incident (a forced performance or an unnatural act "
        f"trained for show): {cited(flag, titles)}"
    )


def _repeated_reason(flag: Flag, titles: dict[int, str]) -> str:
    return (
        f"{number(flag.facts['count'])} incidents (not dismissed) observed in the last "
        f"{number(flag.facts['window_days']) or 365} days: "
        f"{', '.join(f'#{i}' for i in flag.incident_ids)}"
    )


def _severe_thresholds(s: Settings) -> dict[str, Any]:
    return {"min_severity": s.concern_severe_min_severity}


def _severe_open(subject: str, description: str) -> Rule:
    return Rule(
        "severe_open_incident",
        subject,
        description,
        _severe_thresholds,
        severity="severe_max",
        reason=_severe_open_reason,
        facts={"count": "severe_count", "threshold": "severe_threshold"},
        incidents="severe_ids",
    )


def _confirmed(subject: str, description: str) -> Rule:
    return Rule(
        "confirmed_incident",
        subject,
        description,
        lambda s: {},
        severity="confirmed_max",
        reason=_confirmed_reason,
        facts={"count": "confirmed_count"},
        incidents="confirmed_ids",
    )


GROUPS = (
    RuleGroup(
        "animal_open_incidents",
        animal_open_incidents,
        (
            _severe_open(
                "animal",
                "An open incident (reported, under review or confirmed) of severity at or "
                "above the threshold about the animal.",
            ),
            _confirmed(
                "animal",
                "A confirmed incident about the animal; the flag's severity is the incident's.",
            ),
            Rule(
                "human_imposed_behaviour",
                "animal",
                "An open human_interaction incident: a forced performance or an unnatural act "
                "trained for show (such as smoking).",
                lambda s: {"min_flag_severity": s.concern_human_interaction_min_flag},
                severity="human_max",
                reason=_human_imposed_reason,
                incidents="human_ids",
            ),
        ),
    ),
    RuleGroup(
        "animal_recent_incidents",
        animal_recent_incidents,
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
                severity="repeated_severity",
                reason=_repeated_reason,
                facts={"count": "repeated_count", "window_days": "repeated_window"},
                incidents="repeated_ids",
            ),
        ),
    ),
    RuleGroup(
        "enclosure_open_incidents",
        enclosure_open_incidents,
        (
            _severe_open(
                "enclosure",
                "An open incident of severity at or above the threshold about the enclosure "
                "itself.",
            ),
            _confirmed(
                "enclosure",
                "A confirmed incident about the enclosure; the flag's severity is the incident's.",
            ),
        ),
    ),
)
