"""Stored concern flags: each zoo's flags as the rules last raised them, explained (reason,
incidents, the subject's name), and each flagged subject with its score and its item as the
list renders it. An unfiltered page is read from the zoo's subjects in rank order, sent as
stored; a filtered one is ranked from the stored flags. Neither evaluates the incidents again.

Kept exact by the writes, in their own transactions (app/welfare/hook.py sees every write):
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
import json
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any, TypeGuard

from pydantic_core import to_json
from sqlalchemy import (
    Integer,
    Select,
    and_,
    bindparam,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    tuple_,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Row
from sqlmodel import Session

from app.models import DirtySubject, FlagsState, StoredFlag, StoredSubject, Zoo
from app.models.base import table_of
from app.welfare import engine, explain
from app.welfare.rules import RULES, THRESHOLDS, Context, FlagRow, Rule, parse_ids
from app.welfare.sql import ids_param

FLAGS = table_of(StoredFlag)
SUBJECTS = table_of(StoredSubject)
DIRTY = table_of(DirtySubject)
STATE = table_of(FlagsState)
ZOOS = table_of(Zoo)
COLUMNS = (
    "rule",
    "subject_type",
    "subject_id",
    "zoo_id",
    "severity",
    "reason",
    "incident_ids",
    "subject",
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
).where(STATE.c.zoo_id == ZOO)
LOCK_ZOO = select(ZOOS.c.id).where(ZOOS.c.id == ZOO).with_for_update()


# Raise when what a rule stores changes (its SQL, its columns): stored flags evaluated by an
# older release are then evaluated again, as they are under other thresholds.
RULES_REVISION = 1


_RULES_KEY = repr((RULES_REVISION, tuple((r.id, r.subject, r.columns) for r in RULES)))


def fingerprint(ctx: Context) -> str:
    """The rules and thresholds the stored flags were evaluated under."""
    return _fingerprint(tuple(getattr(ctx.settings, name) for name in THRESHOLDS))


@functools.lru_cache(maxsize=16)
def _fingerprint(thresholds: tuple[Any, ...]) -> str:
    # Asked on every read; the thresholds in use are few.
    return hashlib.sha256(repr((_RULES_KEY, thresholds)).encode()).hexdigest()[:32]


def _evaluated_in_full(
    row: Row[*tuple[Any, ...]] | None, ctx: Context
) -> TypeGuard[Row[*tuple[Any, ...]]]:
    """Whether a STATE_OF row says the zoo was evaluated in full today, as the rules now are."""
    return row is not None and row[0] == ctx.today and row[1] == fingerprint(ctx)


def is_current(session: Session, ctx: Context) -> bool:
    """Whether the zoo's stored flags can be read as they are (one indexed lookup)."""
    row = session.connection().execute(STATE_OF, {"zoo_id": ctx.zoo_id}).first()
    return _evaluated_in_full(row, ctx) and row[2] is None and row[3] is None  # none dirty


def update(session: Session, ctx: Context) -> None:
    """Brings the zoo's stored flags up to date: in full when its state is missing or from
    another day or thresholds, else its dirty subjects only. The caller commits."""
    connection = session.connection()
    params = {"zoo_id": ctx.zoo_id}
    # SQLite: its writer already holds the database.
    if connection.execute(LOCK_ZOO, params).first() is None:
        return  # deleted since its version was read: nothing to store, and its list is empty
    row = connection.execute(STATE_OF, params).first()
    full = not _evaluated_in_full(row, ctx)
    if full:
        scope, rules = ctx, RULES
    else:
        assert row is not None  # evaluated in full, so there is a row
        dirty = {kind for kind, first in zip(KINDS, row[2:], strict=True) if first is not None}
        if not dirty:
            return  # brought up to date by another request while this one waited for the lock
        scope = replace(ctx, animal_ids=DIRTY_ANIMALS, enclosure_ids=DIRTY_ENCLOSURES)
        rules = tuple(r for r in RULES if r.subject in dirty)  # only the groups they need
    flags, subjects = _explained(session, engine.evaluate(session, scope, rules))
    for statement in DROP_ZOO if full else DROP_DIRTY:
        connection.execute(statement, params)
    _store(connection, FLAGS, COLUMNS, flags)
    _store(connection, SUBJECTS, SUBJECT_COLUMNS, subjects)
    connection.execute(delete(DIRTY).where(DIRTY.c.zoo_id == ZOO), params)
    if full:
        connection.execute(delete(STATE).where(STATE.c.zoo_id == ZOO), params)
        connection.execute(
            insert(STATE).values(
                zoo_id=ctx.zoo_id, evaluated_on=ctx.today, fingerprint=fingerprint(ctx)
            )
        )


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
    session: Session, flags: Sequence[FlagRow]
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
    connection: the write hook runs it inside a flush (app/welfare/hook.py)."""
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


def page(
    session: Session,
    ctx: Context,
    rules: Sequence[Rule],
    min_severity: int | None,
    offset: int,
    limit: int,
) -> tuple[list[str], int]:
    """One page of the zoo's list from its stored flags (brought up to date first: see
    `update`), in the list's order (score, then worst severity, then subject), and how many
    subjects are flagged in all. Filters apply before ranking, as they do to the whole list.
    The items are ConcernItem's JSON, validated when they were stored."""
    if not rules:
        return [], 0
    kinds = {r.subject for r in rules}
    picked = {(r.id, r.subject) for r in rules}
    whole = min_severity is None and picked == {
        (r.id, r.subject) for r in RULES if r.subject in kinds
    }
    params = {"zoo_id": ctx.zoo_id, "offset": offset, "limit": limit}
    if whole:  # every rule of the kinds asked for: the subjects' items as stored
        kind = next(iter(kinds)) if len(kinds) == 1 else None
        query, count = engine.statement(("stored subjects", kind), lambda: _subjects_page(kind))
        rows = session.connection().execute(query, params).all()
        items = [row[0] for row in rows]
        total = rows[0][1] if rows else 0
    else:
        key = ("stored page", tuple(sorted(picked)), min_severity)
        query, count = engine.statement(key, lambda: _page_statements(rules, min_severity))
        items, total = _assembled(session.connection().execute(query, params).all())
    if not items and offset > 0:  # a page past the end still tells the list's size
        total = session.connection().execute(count, params).scalar_one()
    return items, int(total)


def _assembled(rows: Sequence[Any]) -> tuple[list[str], int]:
    """A filtered page's items, as JSON, from its flags' rows (ranked, then in subject)."""
    total = rows[0][1] if rows else 0
    items: dict[tuple[str, int], dict[str, Any]] = {}
    for _, _, rule, kind, subject_id, zoo_id, severity, reason, ids, subject in rows:
        item = items.get((kind, subject_id))
        if item is None:
            item = items[(kind, subject_id)] = {
                "subject_type": kind,
                "subject_id": subject_id,
                "zoo_id": zoo_id,
                **json.loads(subject),
                "score": 0,
                "max_severity": 0,
                "flags": [],
            }
        item["score"] += severity
        item["max_severity"] = max(item["max_severity"], severity)
        item["flags"].append(
            {"rule": rule, "severity": severity, "reason": reason, "incident_ids": parse_ids(ids)}
        )
    for item in items.values():
        item["flags"].sort(key=_flag_order)
    return [to_json(item).decode() for item in items.values()], total


def _flag_order(flag: dict[str, Any]) -> tuple[int, str]:
    return -flag["severity"], flag["rule"]  # as explain.by_subject orders a subject's flags


def _subjects_page(kind: str | None) -> tuple[Any, Any]:
    """An unfiltered page (or one kind's), read in the rank index's order, and its count."""
    where = [SUBJECTS.c.zoo_id == ZOO]
    if kind is not None:
        where.append(SUBJECTS.c.subject_type == literal(kind))
    count = select(func.count()).select_from(SUBJECTS).where(*where)
    query = (
        select(SUBJECTS.c.item, count.scalar_subquery().label("total"))
        .where(*where)
        .order_by(
            SUBJECTS.c.score.desc(),
            SUBJECTS.c.max_severity.desc(),
            SUBJECTS.c.subject_type,
            SUBJECTS.c.subject_id,
        )
        .offset(bindparam("offset", type_=Integer))
        .limit(bindparam("limit", type_=Integer))
    )
    return query, count


def _selected(rules: Sequence[Rule], min_severity: int | None) -> list[Any]:
    """The filters, as conditions on stored flags."""
    conditions = [FLAGS.c.zoo_id == ZOO]
    everything = {(r.id, r.subject) for r in RULES}
    picked = {(r.id, r.subject) for r in rules}
    if picked != everything:
        conditions.append(
            or_(*(and_(FLAGS.c.rule == i, FLAGS.c.subject_type == s) for i, s in sorted(picked)))
        )
    if min_severity is not None:
        conditions.append(FLAGS.c.severity >= min_severity)
    return conditions


def _page_statements(rules: Sequence[Rule], min_severity: int | None) -> tuple[Any, Any]:
    where = _selected(rules, min_severity)
    subject = (FLAGS.c.subject_type, FLAGS.c.subject_id)
    order = (func.sum(FLAGS.c.severity).desc(), func.max(FLAGS.c.severity).desc(), *subject)
    ranked = engine.materialized(
        select(
            *subject,
            func.count().over().label("total"),
            func.row_number().over(order_by=order).label("position"),
        )
        .where(*where)
        .group_by(*subject)
        .order_by(*order)
        .offset(bindparam("offset", type_=Integer))
        .limit(bindparam("limit", type_=Integer))
        .cte("ranked")
    )
    query = (
        select(
            ranked.c.position,
            ranked.c.total,
            *(FLAGS.c[c] for c in COLUMNS),
        )
        .join_from(
            ranked,
            FLAGS,
            (FLAGS.c.subject_type == ranked.c.subject_type)
            & (FLAGS.c.subject_id == ranked.c.subject_id),
        )
        .where(*where)
        .order_by(ranked.c.position)
    )
    count = select(func.count()).select_from(
        select(*subject).where(*where).group_by(*subject).subquery()
    )
    return query, count
