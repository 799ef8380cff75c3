"""How well a flag is founded, and whether the zoo answered it.

An incident's evidence is `confirmed` once an inspector confirmed it, `corroborated` when its
reports come from two or more distinct sources (reporter keys, or accepted public
submissions, each its own source), else `reported`. A flag's is the best of its incidents';
a flag raised from the registry's own records (no incident) is `confirmed`. A flag's
`zoo_replied_at` is the zoo's latest reply to any of its incidents."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import String, case, cast, func, literal, select
from sqlmodel import Session

from app.concerns.rules import Flag
from app.concerns.schemas import Evidence
from app.concerns.sql import among, ids_param
from app.concerns.tables import INCIDENTS, REPORTS, SUBMISSIONS
from app.models.enums import IncidentStatus

RANK = {level: rank for rank, level in enumerate(Evidence, start=1)}
WORDS = {
    Evidence.reported: "one report, not yet reviewed",
    Evidence.corroborated: "reported by {sources} independent sources",
    Evidence.confirmed: "confirmed by an inspector",
}


@dataclass(frozen=True)
class IncidentFacts:
    evidence: Evidence
    sources: int
    last_replied_at: datetime | None


def incident_facts(session: Session, ids: Iterable[int]) -> dict[int, IncidentFacts]:
    """The evidence and the zoo's last reply of each incident, in one statement."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    source = case(
        (SUBMISSIONS.c.id.is_not(None), literal("s") + cast(SUBMISSIONS.c.id, String)),
        (REPORTS.c.api_key_id.is_not(None), literal("k") + cast(REPORTS.c.api_key_id, String)),
        else_=literal("registry"),  # filed by the seed or the command line
    )
    sources = (
        select(REPORTS.c.incident_id, func.count(func.distinct(source)).label("sources"))
        .outerjoin(SUBMISSIONS, SUBMISSIONS.c.report_id == REPORTS.c.id)
        .where(among(REPORTS.c.incident_id, ids_param(wanted)))
        .group_by(REPORTS.c.incident_id)
        .subquery()
    )
    query = (
        select(
            INCIDENTS.c.id,
            INCIDENTS.c.status,
            INCIDENTS.c.last_replied_at,
            func.coalesce(sources.c.sources, 0),
        )
        .outerjoin(sources, sources.c.incident_id == INCIDENTS.c.id)
        .where(among(INCIDENTS.c.id, ids_param(wanted)))
    )
    facts = {}
    for incident_id, status, replied_at, count in session.connection().execute(query):
        if status == IncidentStatus.confirmed:
            level = Evidence.confirmed
        elif count >= 2:
            level = Evidence.corroborated
        else:
            level = Evidence.reported
        facts[incident_id] = IncidentFacts(level, int(count), replied_at)
    return facts


def of_flag(flag: Flag, facts: dict[int, IncidentFacts]) -> tuple[Evidence, str, datetime | None]:
    """The flag's evidence, the words that explain it ("" for a record's), and the zoo's
    latest reply to its incidents."""
    known = [facts[i] for i in flag.incident_ids if i in facts]
    if not flag.incident_ids:
        return Evidence.confirmed, "", None
    if not known:  # its incidents were deleted since: as weak as can be
        return Evidence.reported, WORDS[Evidence.reported], None
    best = max(known, key=lambda f: (RANK[f.evidence], f.sources))
    words = WORDS[best.evidence].format(sources=best.sources)
    replies = [f.last_replied_at for f in known if f.last_replied_at is not None]
    return best.evidence, words, max(replies) if replies else None
