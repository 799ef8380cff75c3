"""Small factories: each makes one valid row, with any field overridable."""

import itertools
from typing import Any

from sqlmodel import Session

from app.models import Animal, Enclosure, Gift, Species, Zoo
from app.models.api_key import ApiKeyCreate, Role
from app.services import api_keys as api_key_service

_seq = itertools.count(1)


def _save(session: Session, row: Any) -> Any:
    session.add(row)
    session.commit()
    return row


def make_zoo(session: Session, **overrides: Any) -> Zoo:
    n = next(_seq)
    data = {"slug": f"zoo-{n}", "name": f"Zoo {n}", "country_code": "KP"} | overrides
    return _save(session, Zoo(**data))


def make_species(session: Session, **overrides: Any) -> Species:
    n = next(_seq)
    data = {
        "scientific_name": f"Genus species{n}",
        "common_name": f"Species {n}",
        "taxon_class": "mammal",
        "iucn_category": "LC",
        "climate_zones": ["temperate"],
    } | overrides
    return _save(session, Species(**data))


def make_enclosure(session: Session, zoo: Zoo | None = None, **overrides: Any) -> Enclosure:
    n = next(_seq)
    zoo = zoo or make_zoo(session)
    data = {
        "zoo_id": zoo.id,
        "name": f"Enclosure {n}",
        "kind": "outdoor",
        "area_m2": 500.0,
        "capacity": 10,
        "climate": "temperate",
    } | overrides
    return _save(session, Enclosure(**data))


def make_gift(session: Session, **overrides: Any) -> Gift:
    n = next(_seq)
    data = {
        "title": f"Gift {n}",
        "donor_name": "Vladimir Putin",
        # Within one country unless a test says otherwise: a gift across a border is a
        # crossing the trade rules judge (tests/records/test_trade_rules.py).
        "donor_country": "KP",
        "recipient_name": "Kim Jong Un",
        "recipient_country": "KP",
    } | overrides
    return _save(session, Gift(**data))


def make_animal(
    session: Session, zoo: Zoo | None = None, species: Species | None = None, **overrides: Any
) -> Animal:
    zoo = zoo or make_zoo(session)
    species = species or make_species(session)
    data = {"zoo_id": zoo.id, "species_id": species.id} | overrides
    return _save(session, Animal(**data))


def make_key(
    session: Session, role: Role = Role.admin, zoos: list[str] | None = None, **overrides: Any
) -> str:
    """Issues a key through the service and returns the secret token."""
    n = next(_seq)
    key_in = ApiKeyCreate(name=f"key {n}", role=role, zoos=zoos)
    key, token = api_key_service.create(session=session, key_in=key_in, actor=None)
    if overrides:
        key.sqlmodel_update(overrides)
        session.add(key)
        session.commit()
    return token
