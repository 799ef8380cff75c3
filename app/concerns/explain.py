"""Explains flags: names the subjects they are about, cites the incidents behind them by
title, and turns them into the items of a concern list. Shared by the lists evaluated from the
incidents and by the stored flags (app/concerns/store.py), which keep what this produces."""

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from app.concerns import evidence
from app.concerns.rules import REASONS, Flag, cited_ids
from app.concerns.schemas import (
    ConcernFlag,
    ConcernItem,
    EnclosureRef,
    RuleId,
    SpeciesRef,
    SubjectType,
)
from app.concerns.sql import among, ids_param
from app.models import Animal, Enclosure, Species, WelfareIncident


def titles(session: Session, flags: Sequence[Flag]) -> dict[int, str]:
    ids = {i for f in flags for i in cited_ids(f)}
    if not ids:
        return {}
    stmt = select(WelfareIncident.id, WelfareIncident.title).where(
        among(WelfareIncident.id, ids_param(ids))
    )
    return {row.id: row.title for row in session.connection().execute(stmt).all()}


def animal_refs(
    session: Session, ids: set[int]
) -> dict[int, tuple[str, SpeciesRef, EnclosureRef | None]]:
    if not ids:
        return {}
    # Plain columns, not ORM entities: a large zoo names hundreds of animals per list.
    stmt: Select[*tuple[Any, ...]] = (
        # SQLAlchemy's select(): SQLModel's is typed for at most four columns.
        sa_select(
            col(Animal.id),
            col(Animal.name),
            col(Animal.identifier),
            col(Animal.count),
            col(Species.id).label("species_id"),
            col(Species.common_name),
            col(Species.scientific_name),
            col(Enclosure.id).label("enclosure_id"),
            col(Enclosure.name).label("enclosure_name"),
        )
        .join(Species, col(Species.id) == Animal.species_id)
        .outerjoin(Enclosure, col(Enclosure.id) == Animal.enclosure_id)
        .where(among(Animal.id, ids_param(ids)))
    )
    refs: dict[int, tuple[str, SpeciesRef, EnclosureRef | None]] = {}
    for row in session.connection().execute(stmt).all():
        if row.name:
            name = row.name
        elif row.count > 1:  # type: ignore[operator]  # the column: Row's stub says tuple.count
            name = f"{row.count} {row.common_name}"
        else:
            name = f"{row.common_name} {row.identifier or f'#{row.id}'}"
        refs[row.id] = (
            name,
            SpeciesRef(
                id=row.species_id,
                common_name=row.common_name,
                scientific_name=row.scientific_name,
            ),
            EnclosureRef(id=row.enclosure_id, name=row.enclosure_name)
            if row.enclosure_id is not None
            else None,
        )
    return refs


def enclosure_names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    stmt = select(Enclosure.id, Enclosure.name).where(among(Enclosure.id, ids_param(ids)))
    return {row.id: row.name for row in session.connection().execute(stmt).all()}


def by_subject(flags: Sequence[Flag]) -> dict[tuple[str, int], list[Flag]]:
    """The flags per subject, the most severe first."""
    grouped: dict[tuple[str, int], list[Flag]] = defaultdict(list)
    for flag in flags:
        grouped[(flag.subject_type, flag.subject_id)].append(flag)
    for rows in grouped.values():
        rows.sort(key=lambda f: (-f.severity, f.rule))
    return grouped


def items(
    session: Session, page: Sequence[tuple[str, int]], grouped: dict[tuple[str, int], list[Flag]]
) -> list[ConcernItem]:
    """The page's subjects, in the page's order, named and with their flags explained."""
    page_flags = [f for subject in page for f in grouped[subject]]
    titles_ = titles(session, page_flags)
    animals = animal_refs(session, {sid for kind, sid in page if kind == "animal"})
    enclosures = enclosure_names(session, {sid for kind, sid in page if kind == "enclosure"})
    facts = evidence.incident_facts(session, (i for f in page_flags for i in f.incident_ids))
    items = []
    for kind, subject_id in page:
        rows = grouped[(kind, subject_id)]
        species = enclosure = None
        if kind == "animal":
            name, species, enclosure = animals[subject_id]
        else:
            name = enclosures[subject_id]
        items.append(
            ConcernItem(
                subject_type=SubjectType(kind),
                subject_id=subject_id,
                zoo_id=rows[0].zoo_id,
                name=name,
                species=species,
                enclosure=enclosure,
                score=sum(f.severity for f in rows),
                max_severity=rows[0].severity,
                flags=[_flag(f, kind, titles_, facts) for f in rows],
            )
        )
    return items


def _flag(
    flag: Flag, kind: str, titles: dict[int, str], facts: dict[int, evidence.IncidentFacts]
) -> ConcernFlag:
    level, words, replied_at = evidence.of_flag(flag, facts)
    reason = REASONS[(flag.rule, kind)](flag, titles)
    if words:
        reason = f"{reason} ({words})"
    if replied_at is not None:
        reason = f"{reason}; the zoo replied on {replied_at.date().isoformat()}"
    return ConcernFlag(
        rule=RuleId(flag.rule),
        severity=flag.severity,
        reason=reason,
        incident_ids=flag.incident_ids,
        evidence=level,
        zoo_replied_at=replied_at,
    )
