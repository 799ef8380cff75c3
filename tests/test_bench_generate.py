"""bench/generate.py: the registry it generates (size XS) on the suite's database, its rows as
the models and the service read them, the same at each run, and its newer data (movements,
listings, trade records, submissions, replies, webhooks) raising no concern flag."""

import json
import os
from collections.abc import Generator, Iterator
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

import pytest
from sqlalchemy import Engine, ForeignKeyConstraint, create_engine, func, inspect, select, text
from sqlmodel import Session, SQLModel

from app.concerns.engine import evaluate
from app.concerns.lists import build_items
from app.concerns.rules import Context
from app.core import crypto
from app.core.config import Settings
from app.core.crypto import EncryptedText
from app.events.feed import item_json, to_item
from app.models import (
    AnimalMovement,
    Event,
    IncidentReply,
    Species,
    SpeciesStatus,
    Submission,
    TradeRecord,
    Webhook,
    WebhookAttempt,
    WebhookDelivery,
    WelfareIncident,
    WelfareReport,
)
from app.models.base import row_id, table_of
from app.models.listing import ListingKind
from app.models.movement import AnimalMovementPublic
from app.models.reply import IncidentReplyPublic
from app.models.submission import SubmissionPublic, SubmissionStatus
from app.models.trade import TradeRecordPublic
from app.models.webhook import WebhookPublic
from app.records.listings import value_in_force
from app.services.submissions import hash_receipt
from tests.dbutil import backend, create_database, drop_database

NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)
# What only the generator's newer steps write (the incidents' reply columns aside).
NEWER = (
    "webhook_attempt",
    "webhook_delivery",
    "webhook",
    "submission",
    "incident_reply",
    "trade_record",
    "species_status",
    "animal_movement",
)


@pytest.fixture(scope="module")
def generate(settings: Settings) -> Iterator[ModuleType]:
    """The generator module, imported here: it sets ZWR_SECRET_KEY (when unset) and the
    process's cipher, both put back for the tests after these."""
    saved = os.environ.get("ZWR_SECRET_KEY")
    from bench import generate as module

    try:
        yield module
    finally:
        if saved is None:
            os.environ.pop("ZWR_SECRET_KEY", None)
        else:
            os.environ["ZWR_SECRET_KEY"] = saved
        crypto.configure(settings)


def _generated(generate: ModuleType) -> Generator[tuple[str, Engine], None, None]:
    url = create_database("bench")
    engine = create_engine(url)
    try:
        generate.generate(url, "XS", echo=False)
        yield url, engine
    finally:
        engine.dispose()
        drop_database(url)


@pytest.fixture(scope="module")
def registry(generate: ModuleType) -> Iterator[tuple[str, Engine]]:
    yield from _generated(generate)


@pytest.fixture(scope="module")
def engine(registry: tuple[str, Engine]) -> Engine:
    return registry[1]


def count(engine: Engine, table: str, where: str = "") -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table} {where}")).scalar_one())


def test_sizes_keep_each_zoo_the_same(generate: ModuleType) -> None:
    sizes = generate.SIZES
    assert (sizes["XL"].zoos, sizes["XL"].animals, sizes["XL"].incidents) == (
        1_000,
        1_000_000,
        10_000_000,
    )
    for name in ("S", "L", "XL"):
        size = sizes[name]
        assert (size.animals // size.zoos, size.incidents // size.zoos) == (1_000, 10_000)


def test_rows_of_every_table(engine: Engine, generate: ModuleType) -> None:
    replies = count(engine, "incident_reply")
    assert 0 < replies == count(engine, "welfare_incident", "WHERE reply_count = 1")
    assert count(engine, "welfare_incident", "WHERE reply_count NOT IN (0, 1)") == 0
    open_ = count(engine, "welfare_incident", "WHERE status = 'reported'")
    expected = {
        "zoo": 3,
        "species": 12,
        "gift": 3,
        "enclosure": 12,
        "animal": 300,
        "welfare_incident": 3_000,
        "welfare_report": 3_000,
        # created, report_added, a status change unless still reported, the replies
        "incident_event": 3_000 + 3_000 + (3_000 - open_) + replies,
        "event": 2 * 3_000 + 2 * replies,
        "submission": 60,
        "trade_record": 300,
        "webhook": 2,
    }
    for table, rows in expected.items():
        assert count(engine, table) == rows, table
    moved = count(engine, "animal_movement", "WHERE kind = 'enclosure_move'")
    assert count(engine, "animal_movement", "WHERE kind = 'arrival'") == 300
    assert count(engine, "animal_movement", "WHERE kind = 'status_change'") == 15  # deceased
    assert 0 < moved < 300
    with engine.connect() as conn:
        head = conn.execute(text("SELECT position FROM event_sequence")).scalar_one()
        positions = conn.execute(text("SELECT count(DISTINCT position), min(position) FROM event"))
        assert tuple(positions.one()) == (head, 1)
        statuses = conn.execute(text("SELECT status, count(*) FROM submission GROUP BY status"))
        assert dict(statuses.all()) == {"pending": 30, "rejected": 15, "accepted": 15}


def test_every_reference_resolves(engine: Engine) -> None:
    """The load skips the referential checks (PostgreSQL); the ids must hold by construction."""
    with engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            for fk in table.constraints:
                if not isinstance(fk, ForeignKeyConstraint):
                    continue
                child = [c.name for c in fk.columns]
                parent = [e.column for e in fk.elements]
                given = " AND ".join(f"c.{name} IS NOT NULL" for name in child)
                match = " AND ".join(
                    f"p.{p.name} = c.{name}" for p, name in zip(parent, child, strict=True)
                )
                missing = conn.execute(
                    text(
                        f"SELECT count(*) FROM {table.name} c WHERE {given} AND NOT EXISTS "
                        f"(SELECT 1 FROM {parent[0].table.name} p WHERE {match})"
                    )
                ).scalar_one()
                assert missing == 0, f"{table.name}.{child} -> {parent[0].table.name}"


def test_every_index_and_key_is_built(engine: Engine) -> None:
    inspector = inspect(engine)
    for table in SQLModel.metadata.sorted_tables:
        built = {ix["name"] for ix in inspector.get_indexes(table.name)}
        declared = {ix.name for ix in table.indexes if not str(ix.name).endswith("_trgm")}
        if backend() == "postgresql":
            declared = {ix.name for ix in table.indexes}
        assert declared <= built, table.name
        key = inspector.get_pk_constraint(table.name)["constrained_columns"]
        assert key == [c.name for c in table.primary_key.columns], table.name


@pytest.mark.postgres_only
def test_the_large_tables_are_vacuumed(engine: Engine, generate: ModuleType) -> None:
    """Every page in the visibility map, so the covering indexes answer from the index."""
    with engine.connect() as conn:
        for table in generate.LOADS:
            pages, visible = conn.execute(
                text("SELECT relpages, relallvisible FROM pg_class WHERE relname = :t"),
                {"t": table},
            ).one()
            assert pages > 0 and visible == pages, table


def test_rows_read_as_the_service_reads_them(engine: Engine) -> None:
    with Session(engine) as session:
        for model, public in (
            (AnimalMovement, AnimalMovementPublic),
            (IncidentReply, IncidentReplyPublic),
            (Submission, SubmissionPublic),
            (TradeRecord, TradeRecordPublic),
            (Webhook, WebhookPublic),
        ):
            for row in session.scalars(select(model)):
                public.model_validate(row, from_attributes=True)
        first = session.get(Submission, 1)
        assert first is not None and first.receipt_hash == hash_receipt("bench-receipt-1")
        for submission in session.scalars(select(Submission)):
            if submission.reporter_name is not None:
                assert submission.reporter_name == f"Bench reporter {row_id(submission) % 1000}"
            if submission.status is not SubmissionStatus.accepted:
                assert submission.report_id is None
                continue
            # Filed as report k into incident k, which it matches.
            report = session.get(WelfareReport, submission.id)
            assert (
                report is not None and submission.report_id == submission.incident_id == report.id
            )
            for name in ("zoo_id", "animal_id", "enclosure_id", "category", "title"):
                assert getattr(submission, name) == getattr(report, name), name
            assert submission.severity == report.severity
            assert submission.reporter_name == report.reporter_name
        for reply in session.scalars(select(IncidentReply)):
            incident = session.get(WelfareIncident, reply.incident_id)
            assert incident is not None and incident.status == "dismissed"
            assert incident.last_replied_at == reply.created_at
            assert incident.zoo_id == reply.zoo_id
        hook = session.get(Webhook, 2)
        assert hook is not None and hook.status == "disabled" and hook.failed_in_a_row == 10
        attempts = session.scalar(select(func.max(WebhookAttempt.attempt)))
        assert attempts == len(Settings().webhook_retry_delays) + 1


def test_feed_and_deliveries_as_the_service_renders_them(engine: Engine) -> None:
    events, deliveries = table_of(Event), table_of(WebhookDelivery)
    with engine.connect() as conn:
        rows = {r.position: r for r in conn.execute(select(events))}
        for row in rows.values():
            json.loads(row.data)
        sent = conn.execute(select(deliveries)).all()
    assert sent
    for delivery in sent:
        event = rows[int(delivery.event_id, 16)]
        assert delivery.payload == item_json(to_item(event))
        assert delivery.event_type == event.type


def test_listings_in_force_are_the_species_columns(engine: Engine) -> None:
    with Session(engine) as session:
        for species in session.scalars(select(Species)):
            for kind, column in (
                (ListingKind.iucn, "iucn_category"),
                (ListingKind.cites, "cites_appendix"),
            ):
                for day in (NOW.date(), datetime(2024, 11, 20).date()):
                    value = session.execute(select(value_in_force(kind, row_id(species), day)))
                    assert value.scalar() == getattr(species, column), (species.id, kind, day)
        assert session.scalar(select(func.count()).select_from(SpeciesStatus))


def _concerns(session: Session, settings: Settings) -> tuple[list[Any], list[Any]]:
    flags = evaluate(session, Context(settings=settings, zoo_id=None, now=NOW))
    items, _ = build_items(session, flags)
    key = sorted(
        (f.zoo_id, f.rule, f.subject_type, f.subject_id, f.severity, sorted(f.facts.items()))
        for f in flags
    )
    return key, [item.model_dump(mode="json") for item in items]


def test_the_newer_data_raises_no_concern(registry: tuple[str, Engine]) -> None:
    url, engine = registry
    settings = Settings(database_url=url)
    with engine.connect() as conn:
        transaction = conn.begin()
        try:
            with Session(bind=conn, join_transaction_mode="create_savepoint") as session:
                flags, items = _concerns(session, settings)
                assert flags
                for table in NEWER:
                    session.execute(text(f"DELETE FROM {table}"))
                session.execute(
                    text("UPDATE welfare_incident SET reply_count = 0, last_replied_at = NULL")
                )
                assert _concerns(session, settings) == (flags, items)
        finally:
            transaction.rollback()


def _rows(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every generated table's rows by id, but the encrypted columns (Fernet tokens differ
    at each encryption)."""
    found = {}
    with engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            if table.name == "country":  # the migration's, not the generator's
                continue
            kept = [c for c in table.columns if not isinstance(c.type, EncryptedText)]
            found[table.name] = [
                tuple(r) for r in conn.execute(select(*kept).order_by(*table.primary_key))
            ]
    return found


def test_the_same_registry_at_each_run(engine: Engine, generate: ModuleType) -> None:
    again = _generated(generate)
    _, other = next(again)
    try:
        assert _rows(other) == _rows(engine)
    finally:
        again.close()


@pytest.mark.skipif(backend() == "postgresql", reason="SQLite refuses XL")
def test_xl_is_refused_on_sqlite(generate: ModuleType, tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'xl.db'}"
    with pytest.raises(SystemExit, match="PostgreSQL only"):
        generate.generate(url, "XL", echo=False)
    assert not (tmp_path / "xl.db").exists()
