"""Loads the seed facts shipped in the package; records already present are left alone."""

import json
from importlib.resources import files
from typing import Any, cast

from pydantic import TypeAdapter
from sqlalchemy import Engine
from sqlmodel import Session, select

import app.concerns  # noqa: F401  # the write hook, for a seed run on its own
from app.models import Animal, Enclosure, Gift, Species, SpeciesStatus, WelfareIncident, Zoo
from app.models.animal import AnimalCreate
from app.models.enclosure import EnclosureCreate
from app.models.enums import IncidentStatus
from app.models.gift import GiftCreate
from app.models.listing import SpeciesStatusCreate
from app.models.report import WelfareReportCreate
from app.models.species import SpeciesCreate
from app.models.zoo import ZooCreate
from app.services import incidents as incident_service
from app.services import listings as listing_service
from app.services import reports as report_service


def seed_facts() -> dict[str, Any]:
    """The seed data, read from the package."""
    facts: dict[str, Any] = json.loads(
        files("app.seed").joinpath("facts.json").read_text(encoding="utf-8")
    )
    return facts


def load_seed(engine: Engine) -> dict[str, int]:
    """Inserts whichever seed records are missing, in one transaction; returns what it added."""
    facts = seed_facts()
    added = {
        "zoos": 0,
        "species": 0,
        "gifts": 0,
        "enclosures": 0,
        "animals": 0,
        "incidents": 0,
    }
    with Session(engine, expire_on_commit=False) as session:
        zoos = {z.slug: z for z in session.exec(select(Zoo)).all()}
        for row in facts["zoos"]:
            if row["slug"] not in zoos:
                zoos[row["slug"]] = _add(session, Zoo, ZooCreate.model_validate(row))
                added["zoos"] += 1

        species = {s.scientific_name: s for s in session.exec(select(Species)).all()}
        for row in facts["species"]:
            if row["scientific_name"] not in species:
                species[row["scientific_name"]] = _add(
                    session, Species, SpeciesCreate.model_validate(row)
                )
                added["species"] += 1

        # Dated listings, identified by species, kind and first day; added through the
        # service, which sets the species' current columns from them. Not counted in what
        # the seed reports it added.
        listing_schema: TypeAdapter[Any] = TypeAdapter(SpeciesStatusCreate)
        for row in facts.get("species_statuses", []):
            listed = species[row["species"]]
            data = {k: v for k, v in row.items() if k not in ("species", "notes")}
            listing_in = listing_schema.validate_python(data)
            known = select(SpeciesStatus.id).where(
                SpeciesStatus.species_id == listed.id,
                SpeciesStatus.kind == listing_in.kind,
                SpeciesStatus.valid_from == listing_in.valid_from,
            )
            if session.exec(known).first() is None:
                listing_service.record(
                    session=session, species=listed, listing_in=listing_in, actor=None
                )

        # Gifts have no unique natural key in the schema; the seed identifies them by title.
        existing_gifts = {g.title: g for g in session.exec(select(Gift)).all()}
        gifts: dict[str, Gift] = {}
        for row in facts["gifts"]:
            data = {k: v for k, v in row.items() if k not in ("key", "recipient_zoo")}
            if "recipient_zoo" in row:
                data["recipient_zoo_id"] = zoos[row["recipient_zoo"]].id
            gift = existing_gifts.get(row["title"])
            if gift is None:
                gift = _add(session, Gift, GiftCreate.model_validate(data))
                added["gifts"] += 1
            gifts[row["key"]] = gift

        enclosures = {(e.zoo_id, e.name): e for e in session.exec(select(Enclosure)).all()}
        for row in facts["enclosures"]:
            zoo_id = cast(int, zoos[row["zoo"]].id)  # a stored zoo's id
            if (zoo_id, row["name"]) not in enclosures:
                data = {k: v for k, v in row.items() if k != "zoo"} | {"zoo_id": zoo_id}
                enclosures[(zoo_id, row["name"])] = _add(
                    session, Enclosure, EnclosureCreate.model_validate(data)
                )
                added["enclosures"] += 1

        animals = {(a.zoo_id, a.identifier): a for a in session.exec(select(Animal)).all()}
        for row in facts["animals"]:
            zoo_id = cast(int, zoos[row["zoo"]].id)  # a stored zoo's id
            if (zoo_id, row["identifier"]) in animals:
                continue
            data = {
                k: v for k, v in row.items() if k not in ("zoo", "species", "enclosure", "gift")
            }
            data |= {"zoo_id": zoo_id, "species_id": species[row["species"]].id}
            if "enclosure" in row:
                data["enclosure_id"] = enclosures[(zoo_id, row["enclosure"])].id
            if "gift" in row:
                data["gift_id"] = gifts[row["gift"]].id
            animals[(zoo_id, row["identifier"])] = _add(
                session, Animal, AnimalCreate.model_validate(data)
            )
            added["animals"] += 1

        for row in facts["incidents"]:
            zoo_id = cast(int, zoos[row["zoo"]].id)  # a stored zoo's id
            animal = animals[(zoo_id, row["animal"])]
            known = select(WelfareIncident.id).where(
                WelfareIncident.animal_id == animal.id,
                WelfareIncident.title == row["report"]["title"],
            )
            if session.exec(known).first() is not None:
                continue
            report_in = WelfareReportCreate.model_validate(
                row["report"]
                | {
                    "zoo_id": zoo_id,
                    "animal_id": animal.id,
                    "enclosure_id": enclosures[(zoo_id, row["enclosure"])].id,
                }
            )
            report = report_service.file_report(session, report_in, actor=None)
            incident = session.get(WelfareIncident, report.incident_id)
            assert incident is not None
            # Walked along the transition table, as inspectors would have moved it; the
            # note goes with the last step.
            steps = incident_service.path_between(incident.status, IncidentStatus(row["status"]))
            for n, step in enumerate(steps, start=1):
                note = row.get("status_note") if n == len(steps) else None
                incident_service.change_status(session, incident, step, actor=None, note=note)
            if steps:
                incident_service.touch(incident)
            added["incidents"] += 1

        # Every row added marks its zoo's lists stale as it is flushed (app/concerns/hook.py),
        # so a registry already being served shows none from before the seed.
        session.commit()
    return {what: n for what, n in added.items() if n}


def _add(session: Session, model: Any, validated: Any) -> Any:
    # Validated through the Create schema first: table models do not validate.
    row = model.model_validate(validated)
    session.add(row)
    session.flush()
    return row
