"""Concern lists: the rules' flags grouped by subject, named, scored, ordered and filtered."""

import csv
import io
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session, col, select

from app.core.config import Settings
from app.models import Animal, Enclosure, Species, WelfareIncident, Zoo
from app.models.base import utcnow
from app.models.concern import (
    ConcernFlag,
    ConcernItem,
    ConcernRulePublic,
    EnclosureRef,
    SpeciesRef,
    ZooConcernSummary,
    ZooRef,
)
from app.welfare import engine
from app.welfare.rules import REASONS, RULES, Context, FlagRow

CSV_COLUMNS = (
    "zoo",
    "subject_type",
    "subject_id",
    "name",
    "species",
    "enclosure",
    "score",
    "max_severity",
    "rule",
    "severity",
    "reason",
    "incident_ids",
)


def rules(*, settings: Settings) -> list[ConcernRulePublic]:
    """The rules with their current thresholds."""
    return [
        ConcernRulePublic(
            id=r.id, subject=r.subject, description=r.description, thresholds=r.thresholds(settings)
        )
        for r in RULES
    ]


def _titles(session: Session, flags: Sequence[FlagRow]) -> dict[int, str]:
    ids = {i for f in flags for i in f.incident_ids}
    if not ids:
        return {}
    stmt = select(WelfareIncident.id, WelfareIncident.title).where(col(WelfareIncident.id).in_(ids))
    return {row.id: row.title for row in session.exec(stmt)}


def _animal_refs(
    session: Session, ids: set[int]
) -> dict[int, tuple[str, SpeciesRef, EnclosureRef | None]]:
    if not ids:
        return {}
    stmt = (
        select(Animal, Species, Enclosure)
        .join(Species, col(Species.id) == Animal.species_id)
        .outerjoin(Enclosure, col(Enclosure.id) == Animal.enclosure_id)
        .where(col(Animal.id).in_(ids))
    )
    refs = {}
    for animal, species, enclosure in session.exec(stmt):
        if animal.name:
            name = animal.name
        elif animal.count > 1:
            name = f"{animal.count} {species.common_name}"
        else:
            name = f"{species.common_name} {animal.identifier or f'#{animal.id}'}"
        refs[animal.id] = (
            name,
            SpeciesRef(
                id=species.id,
                common_name=species.common_name,
                scientific_name=species.scientific_name,
            ),
            EnclosureRef(id=enclosure.id, name=enclosure.name) if enclosure else None,
        )
    return refs


def _enclosure_names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    stmt = select(Enclosure.id, Enclosure.name).where(col(Enclosure.id).in_(ids))
    return {row.id: row.name for row in session.exec(stmt)}


def build_items(session: Session, flags: Sequence[FlagRow]) -> list[ConcernItem]:
    """Groups flags by subject, names each subject, scores and orders the list."""
    titles = _titles(session, flags)
    grouped: dict[tuple[str, int], list[FlagRow]] = defaultdict(list)
    for flag in flags:
        grouped[(flag.subject_type, flag.subject_id)].append(flag)
    animals = _animal_refs(session, {sid for kind, sid in grouped if kind == "animal"})
    enclosures = _enclosure_names(session, {sid for kind, sid in grouped if kind == "enclosure"})

    items = []
    for (kind, subject_id), rows in grouped.items():
        rows.sort(key=lambda f: (-f.severity, f.rule))
        item_flags = [
            ConcernFlag(
                rule=f.rule,
                severity=f.severity,
                reason=REASONS[(f.rule, kind)](f, titles),
                incident_ids=f.incident_ids,
            )
            for f in rows
        ]
        species = enclosure = None
        if kind == "animal":
            name, species, enclosure = animals[subject_id]
        else:
            name = enclosures[subject_id]
        items.append(
            ConcernItem(
                subject_type=kind,
                subject_id=subject_id,
                zoo_id=rows[0].zoo_id,
                name=name,
                species=species,
                enclosure=enclosure,
                score=sum(f.severity for f in rows),
                max_severity=rows[0].severity,
                flags=item_flags,
            )
        )
    items.sort(key=lambda i: (-i.score, -i.max_severity, i.subject_type, i.subject_id))
    return items


def zoo_concerns(
    *,
    session: Session,
    settings: Settings,
    zoo: Zoo,
    min_severity: int | None = None,
    rule_ids: Sequence[str] | None = None,
    subject_type: str | None = None,
    now: datetime | None = None,
) -> list[ConcernItem]:
    """The zoo's flagged animals and enclosures, most concerning first."""
    ctx = Context(settings=settings, zoo_id=zoo.id, now=now or utcnow())
    flags = engine.evaluate(session, ctx, engine.select_rules(rule_ids, subject_type))
    if min_severity is not None:
        flags = [f for f in flags if f.severity >= min_severity]
    return build_items(session, flags)


def animal_concerns(
    *, session: Session, settings: Settings, animal: Animal, now: datetime | None = None
) -> ConcernItem | None:
    """One animal's flags (None when it raises none)."""
    ctx = Context(settings=settings, zoo_id=animal.zoo_id, now=now or utcnow())
    flags = [
        f
        for f in engine.evaluate(session, ctx, engine.select_rules(None, "animal"))
        if f.subject_id == animal.id
    ]
    items = build_items(session, flags)
    return items[0] if items else None


def ranking(
    *,
    session: Session,
    settings: Settings,
    country_code: str | None,
    limit: int,
    offset: int,
    now: datetime | None = None,
) -> tuple[list[ZooConcernSummary], int]:
    """Every zoo with at least one flag, ranked by total score then worst severity."""
    ctx = Context(settings=settings, zoo_id=None, now=now or utcnow())
    rows = session.execute(engine.ranking_statement(ctx, country_code)).all()
    summaries = [
        ZooConcernSummary(
            zoo=ZooRef(id=r[0], slug=r[1], name=r[2], country_code=r[3]),
            flagged_animals=r[4],
            flagged_enclosures=r[5],
            total_score=r[6],
            max_severity=r[7],
            open_incidents=r[8],
        )
        for r in rows
    ]
    return summaries[offset : offset + limit], len(summaries)


def to_csv(zoo: Zoo, items: Sequence[ConcernItem]) -> str:
    """The concern list as CSV, one row per flag, with a header row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for item in items:
        for flag in item.flags:
            writer.writerow(
                (
                    zoo.slug,
                    item.subject_type,
                    item.subject_id,
                    item.name,
                    item.species.common_name if item.species else "",
                    item.enclosure.name if item.enclosure else "",
                    item.score,
                    item.max_severity,
                    flag.rule,
                    flag.severity,
                    flag.reason,
                    " ".join(str(i) for i in flag.incident_ids),
                )
            )
    return out.getvalue()


def unflagged_item(*, session: Session, animal: Animal) -> ConcernItem:
    """An animal with no flags, in the same shape as a flagged one."""
    name, species, enclosure = _animal_refs(session, {animal.id})[animal.id]  # type: ignore[index]
    return ConcernItem(
        subject_type="animal",
        subject_id=animal.id,  # type: ignore[arg-type]
        zoo_id=animal.zoo_id,
        name=name,
        species=species,
        enclosure=enclosure,
        score=0,
        max_severity=0,
        flags=[],
    )
