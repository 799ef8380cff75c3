"""Stored concern flags: each zoo's flags as the rules last raised them, explained (reason,
incidents, the subject's name), and each flagged subject with its score and its item as the
list renders it. An unfiltered page is read from the zoo's subjects in rank order, sent as
stored; a filtered one is ranked from the stored flags. Neither evaluates the incidents again.

Kept exact by the writes, in their own transactions (app/concerns/hook.py sees every write):
* a report or an incident change marks its one subject (animal or enclosure) dirty;
* any other write that can change a list (an animal, an enclosure, a species, a gift) drops
  the zoo's state, and the zoo is evaluated in full again (rarer writes, ~0.1 s at size L);
* the date and the thresholds are part of the state: a new day or other settings evaluate
  the zoo in full again (the repeated-incidents window and overdue inspections move by day).

A read brings the zoo up to date first (`update`), under the zoo row's lock, which every
write that marks or drops takes too (it bumps zoo.concern_version), so an update never misses
a write committed while it runs. Within a day, a subject's repeated-incidents window is the
one of its last evaluation, as for a cached list.
"""

import functools
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any, TypeGuard

from sqlalchemy import (
    Integer,
    Select,
    bindparam,
    delete,
    insert,
    select,
    tuple_,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Row
from sqlmodel import Session

from app.concerns import engine, evidence, explain, history
from app.concerns.rules import RULES, Context, Flag, revision
from app.concerns.rules.base import threshold_values
from app.concerns.sql import ids_param
from app.concerns.tables import DIRTY, FLAGS, STATE, SUBJECTS, ZOOS

COLUMNS = (
    "rule",
    "subject_type",
    "subject_id",
    "zoo_id",
    "severity",
    "reason",
    "incident_ids",
    "subject",
    "evidence",
    "zoo_replied_at",
)
SUBJECT_COLUMNS = ("zoo_id", "subject_type", "subject_id", "score", "max_severity", "item")
SUBJECT_FIELDS = {"name", "species", "enclosure"}

ZOO = bindparam("zoo_id", type_=Integer)
KINDS = ("animal", "enclosure")


def _dirty(kind: str) -> Select[Any]:
    """The zoo's dirty subjects of one kind, as a query of their ids."""
    return select(DIRTY.c.subject_id).where(DIRTY.c.zoo_id == ZOO, DIRTY.c.subject_type == kind)


# The zoo's state, and whether it has dirty animals, dirty enclosures (primary-key probes).
STATE_OF = select(
    STATE.c.evaluated_on,
    STATE.c.fingerprint,
    *(_dirty(kind).limit(1).scalar_subquery() for kind in KINDS),
    STATE.c.version,
).where(STATE.c.zoo_id == ZOO)
LOCK_ZOO = select(ZOOS.c.concern_version).where(ZOOS.c.id == ZOO).with_for_update()
LOCK_ZOO_SKIPPING = (
    select(ZOOS.c.concern_version).where(ZOOS.c.id == ZOO).with_for_update(skip_locked=True)
)


def fingerprint(ctx: Context) -> str:
    """The rules (their revision) and thresholds the stored flags were evaluated under."""
    return _fingerprint(threshold_values(ctx.settings))


@functools.lru_cache(maxsize=16)
def _fingerprint(thresholds: tuple[Any, ...]) -> str:
    # Asked on every read; the thresholds in use are few.
    return hashlib.sha256(repr((revision(), thresholds)).encode()).hexdigest()[:32]


def _evaluated_in_full(
    row: Row[*tuple[Any, ...]] | None, ctx: Context
) -> TypeGuard[Row[*tuple[Any, ...]]]:
    """Whether a STATE_OF row says the zoo was evaluated in full today, as the rules now are."""
    return row is not None and row[0] == ctx.today and row[1] == fingerprint(ctx)


def is_current(session: Session, ctx: Context) -> bool:
    """Whether the zoo's stored flags can be read as they are (one indexed lookup)."""
    row = session.connection().execute(STATE_OF, {"zoo_id": ctx.zoo_id}).first()
    return _evaluated_in_full(row, ctx) and row[2] is None and row[3] is None  # none dirty


def update(session: Session, ctx: Context, *, skip_locked: bool = False) -> bool:
    """Brings the zoo's stored flags up to date: in full when its state is missing or from
    another day or thresholds, else its dirty subjects only; then its totals, today's snapshot
    and the flags raised and cleared (app/concerns/history.py). The caller commits.

    With `skip_locked`, a zoo whose row another transaction holds (a write, or another worker
    updating it) is left alone: False. True when the zoo is up to date (or gone)."""
    connection = session.connection()
    params = {"zoo_id": ctx.zoo_id}
    if connection.dialect.name == "postgresql":
        # What an update stores is derived from the incidents, and its commit need not wait
        # for the disk: lost in a crash, it is as if it never ran, the zoo's dirty marks with
        # it, and the zoo is updated again. Its events reach the feed only through the
        # sequencer's commit (app/events/feed.py), which flushes the log up to it.
        connection.exec_driver_sql("SET LOCAL synchronous_commit = off")
    # SQLite: its writer already holds the database.
    version = connection.execute(LOCK_ZOO_SKIPPING if skip_locked else LOCK_ZOO, params).scalar()
    if version is None:
        # Deleted since its version was read (nothing to store, its list is empty), or held.
        return not skip_locked or _gone(connection, params)
    row = connection.execute(STATE_OF, params).first()
    full = not _evaluated_in_full(row, ctx)
    if full:
        scope, rules = ctx, RULES
    else:
        assert row is not None  # evaluated in full, so there is a row
        dirty = {kind for kind, first in zip(KINDS, row[2:4], strict=True) if first is not None}
        if not dirty and row[4] == version:
            return True  # brought up to date by another while this one waited for the lock
        scope = replace(ctx, animal_ids=DIRTY_ANIMALS, enclosure_ids=DIRTY_ENCLOSURES)
        rules = tuple(r for r in RULES if r.subject in dirty)  # only the groups they need
    before = history.flags(connection, params, whole_zoo=full)
    flags, subjects = _explained(session, engine.evaluate(session, scope, rules) if rules else [])
    for statement in DROP_ZOO if full else DROP_DIRTY:
        connection.execute(statement, params)
    _store(connection, FLAGS, COLUMNS, flags)
    _store(connection, SUBJECTS, SUBJECT_COLUMNS, subjects)
    connection.execute(delete(DIRTY).where(DIRTY.c.zoo_id == ZOO), params)
    if full:
        connection.execute(delete(STATE).where(STATE.c.zoo_id == ZOO), params)
        connection.execute(
            insert(STATE).values(
                zoo_id=ctx.zoo_id,
                evaluated_on=ctx.today,
                fingerprint=fingerprint(ctx),
                evaluated_at=ctx.now,
            )
        )
    history.record(connection, ctx, version, before, flags)
    return True


def _gone(connection: Connection, params: dict[str, Any]) -> bool:
    return connection.execute(select(ZOOS.c.id).where(ZOOS.c.id == ZOO), params).first() is None


def _store(
    connection: Connection, table: Any, columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> None:
    """Writes rows (in `columns`' order): COPY on PostgreSQL, one executemany on SQLite.
    SQLAlchemy's per-row parameter processing would cost more than the writing itself."""
    if not rows:
        return
    names = ", ".join(columns)
    if connection.dialect.name == "postgresql":
        # The session's own connection, so in its transaction.
        driver = connection.connection.driver_connection
        copying = f"COPY {table.name} ({names}) FROM STDIN"
        with driver.cursor() as cursor, cursor.copy(copying) as copy:  # type: ignore[union-attr]  # psycopg's, typed as any DBAPI's
            for row in rows:
                copy.write_row(row)
        return
    markers = ", ".join("?" * len(columns))  # sqlite3's parameter style
    connection.exec_driver_sql(f"INSERT INTO {table.name} ({names}) VALUES ({markers})", rows)


def _explained(
    session: Session, flags: Sequence[Flag]
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The flags as rows to store (in COLUMNS' order), with reasons and subjects' names, and
    their subjects' rows (in SUBJECT_COLUMNS' order), each with its item rendered."""
    grouped = explain.by_subject(flags)
    rows, subjects = [], []
    for item in explain.items(session, list(grouped), grouped):
        key = (item.zoo_id, item.subject_type, item.subject_id)
        subjects.append((*key, item.score, item.max_severity, item.model_dump_json()))
        subject = item.model_dump_json(include=SUBJECT_FIELDS)
        for flag in item.flags:
            ids = ids_param(flag.incident_ids)  # the text sql.id_list aggregates
            rows.append(
                (
                    flag.rule,
                    item.subject_type,
                    item.subject_id,
                    item.zoo_id,
                    flag.severity,
                    flag.reason,
                    ids,
                    subject,
                    evidence.RANK[flag.evidence],
                    flag.zoo_replied_at.isoformat() if flag.zoo_replied_at else None,
                )
            )
    return rows, subjects


def _of_dirty(table: Any) -> Any:
    # One (type, id) IN: both databases probe the table's index once per dirty subject, where
    # an OR of one IN per kind scans the zoo's rows.
    dirty = select(DIRTY.c.subject_type, DIRTY.c.subject_id).where(DIRTY.c.zoo_id == ZOO)
    return delete(table).where(
        table.c.zoo_id == ZOO, tuple_(table.c.subject_type, table.c.subject_id).in_(dirty)
    )


# Built once: the rules' statements for the dirty subjects are cached by these very objects.
DIRTY_ANIMALS, DIRTY_ENCLOSURES = (_dirty(kind).scalar_subquery() for kind in KINDS)
DROP_ZOO = tuple(delete(t).where(t.c.zoo_id == ZOO) for t in (FLAGS, SUBJECTS))
DROP_DIRTY = (_of_dirty(FLAGS), _of_dirty(SUBJECTS))


def mark(connection: Connection, subjects: Iterable[tuple[int, str, int]]) -> None:
    """Marks subjects dirty, each (zoo id, kind, id); part of the caller's transaction, which
    also bumps their zoos' concern_versions first (and so takes the zoo rows' locks). On a
    connection: the write hook runs it inside a flush (app/concerns/hook.py)."""
    rows = [{"zoo_id": z, "subject_type": k, "subject_id": i} for z, k, i in sorted(set(subjects))]
    if rows:
        connection.execute(mark_statement(connection.dialect.name), rows)


def mark_statement(dialect: str) -> Any:
    """INSERT into concern_dirty that skips a subject already marked."""
    statement = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(DIRTY)
    return statement.on_conflict_do_nothing()


def drop(connection: Connection, zoo_ids: Sequence[int]) -> None:
    """Drops the zoos' state: their next read evaluates them in full. On a connection, as
    `mark`."""
    connection.execute(delete(STATE).where(STATE.c.zoo_id.in_(zoo_ids)))
