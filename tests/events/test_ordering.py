"""The feed's guarantee against a real database: a reader that follows `next` sees every
committed event exactly once, even when transactions commit out of order, and with twenty
writers committing while it reads."""

import threading
from collections.abc import Iterator
from functools import partial
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from app.core import migrations
from app.core.config import Settings
from app.core.db import make_engine
from app.events import EventFeed, EventType
from app.events.outbox import append, row
from tests.dbutil import backend, create_database, drop_database
from tests.factories import make_animal, make_species, make_zoo


@pytest.fixture
def engines() -> Iterator[tuple[Engine, Engine]]:
    """Reads and writes, as the app has them (on SQLite, writes through its one writer)."""
    url = create_database("events")
    try:
        migrations.upgrade(url)
        settings = Settings(database_url=url)
        reads = make_engine(settings)
        writes = make_engine(settings, writer=True) if backend() == "sqlite" else reads
        try:
            yield reads, writes
        finally:
            reads.dispose()
            writes.dispose()
    finally:
        drop_database(url)


def feed_of(engines: tuple[Engine, Engine]) -> EventFeed:
    reads, writes = (partial(Session, e, expire_on_commit=False) for e in engines)
    return EventFeed(reads, writes)


def one(subject_id: int) -> dict[str, Any]:
    return row(
        EventType.webhook_test, zoo_id=None, subject_type="test", subject_id=subject_id, data="{}"
    )


@pytest.mark.skipif(backend() != "postgresql", reason="SQLite has one writer: no interleaving")
def test_an_event_committed_late_is_read_after_the_ones_already_read(
    engines: tuple[Engine, Engine],
) -> None:
    feed, engine = feed_of(engines), engines[0]
    late = engine.connect()
    late_tx = late.begin()
    append(late, [one(1)])  # written first: the smaller id, not yet committed
    with engine.begin() as early:
        append(early, [one(2)])
    items, head = feed.read(after=0, limit=100, types=None, zoo=None)
    assert [i.subject_id for i in items] == [2]
    late_tx.commit()
    late.close()
    later, _ = feed.read(after=head, limit=100, types=None, zoo=None)
    assert [i.subject_id for i in later] == [1]  # not lost behind the reader's position
    again, _ = feed.read(after=0, limit=100, types=None, zoo=None)
    assert [i.subject_id for i in again] == [2, 1]  # one order, for every reader


def test_twenty_writers_and_a_reader_see_every_event_once(
    engines: tuple[Engine, Engine],
) -> None:
    feed, engine = feed_of(engines), engines[1]
    with Session(engine) as session:
        zoo = make_zoo(session)
        species = make_species(session)
        zoo_id, species_id = zoo.id, species.id
    writers, each = 20, 5
    done = threading.Event()
    seen: list[int] = []
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            for i in range(each):
                with Session(engine) as session:
                    make_animal(
                        session,
                        name=f"w{n}-{i}",
                        zoo=session.get_one(type(zoo), zoo_id),
                        species=session.get_one(type(species), species_id),
                    )
        except BaseException as exc:  # reported below
            errors.append(exc)

    def read() -> None:
        after = 0
        while True:
            finished = done.is_set()
            items, after = feed.read(after=after, limit=7, types=None, zoo=None)
            seen.extend(i.subject_id for i in items)
            if finished and not items:
                return

    reader = threading.Thread(target=read)
    reader.start()
    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    reader.join(timeout=60)
    assert not errors, errors
    assert len(seen) == writers * each
    assert len(set(seen)) == len(seen)  # each animal's event exactly once
