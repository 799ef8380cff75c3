"""Concern lists: the rules' flags grouped by subject, named, scored, ordered and filtered."""

import hashlib
import io
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import func, select
from sqlmodel import Session, col
from starlette.concurrency import run_in_threadpool

from app.core import csvsafe
from app.core.config import Settings
from app.core.db import Sessions
from app.core.etags import if_none_match_hits
from app.models import Animal, Zoo
from app.models.base import row_id, utcnow
from app.models.concern import (
    ConcernItem,
    ConcernRulePublic,
    SubjectType,
    ZooConcernSummary,
    ZooRef,
)
from app.services.common import commit
from app.welfare import engine, explain, store
from app.welfare.cache import LRUCache
from app.welfare.rules import RULES, Context, FlagRow
from app.welfare.stamps import StampReader, ZooStamp

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


def build_items(
    session: Session, flags: Sequence[FlagRow], offset: int = 0, limit: int | None = None
) -> tuple[list[ConcernItem], int]:
    """Groups flags by subject, orders subjects by score, and names and explains only the
    subjects on the requested page; returns the page and the number of flagged subjects."""
    grouped = explain.by_subject(flags)
    order = sorted(
        grouped,
        key=lambda s: (-sum(f.severity for f in grouped[s]), -grouped[s][0].severity, *s),
    )
    page = order[offset : None if limit is None else offset + limit]
    return explain.items(session, page, grouped), len(order)


def list_key(zoo: Zoo | ZooStamp, now: datetime | None = None) -> str:
    """What a zoo's list depends on: the zoo's concern_version and the date. The version must
    have been read after the request arrived, so it is current."""
    today = (now or utcnow()).date().isoformat()
    # created_at tells apart a zoo that reuses a deleted zoo's id (SQLite reuses ids).
    return f"{zoo.id}.{zoo.created_at.timestamp():.6f}-{zoo.concern_version}-{today}"


def zoo_concerns(
    *,
    session: Session,
    settings: Settings,
    zoo: Zoo | ZooStamp,
    min_severity: int | None = None,
    rule_ids: Sequence[str] | None = None,
    subject_type: str | None = None,
    now: datetime | None = None,
) -> list[ConcernItem]:
    """The zoo's flagged animals and enclosures, most concerning first."""
    items, _ = zoo_concerns_page(
        session=session,
        settings=settings,
        zoo=zoo,
        min_severity=min_severity,
        rule_ids=rule_ids,
        subject_type=subject_type,
        now=now,
    )
    return items


def zoo_concerns_page(
    *,
    session: Session,
    settings: Settings,
    zoo: Zoo | ZooStamp,
    min_severity: int | None = None,
    rule_ids: Sequence[str] | None = None,
    subject_type: str | None = None,
    now: datetime | None = None,
    offset: int = 0,
    limit: int | None = None,
    writer: Sessions | None = None,
) -> tuple[list[ConcernItem], int]:
    """One page of the zoo's list, most concerning first, and how many subjects it has.

    A page (a limit) reads the zoo's stored flags; their update, when a write made them stale,
    goes through `writer` when given, else through `session`, and is committed."""
    if limit is not None:
        items, total = stored_page(
            session=session,
            settings=settings,
            zoo_id=row_id(zoo),
            min_severity=min_severity,
            rule_ids=rule_ids,
            subject_type=subject_type,
            offset=offset,
            limit=limit,
            writer=writer,
            now=now,
        )
        return [ConcernItem.model_validate_json(item) for item in items], total
    # The whole list (a CSV download): every flag is read anyway.
    ctx = Context(settings=settings, zoo_id=zoo.id, now=now or utcnow())
    flags = engine.evaluate(session, ctx, engine.select_rules(rule_ids, subject_type))
    if min_severity is not None:
        flags = [f for f in flags if f.severity >= min_severity]
    return build_items(session, flags, offset, limit)


def stored_page(
    *,
    session: Session,
    settings: Settings,
    zoo_id: int,
    min_severity: int | None,
    rule_ids: Sequence[str] | None,
    subject_type: str | None,
    offset: int,
    limit: int,
    writer: Sessions | None,
    now: datetime | None = None,
) -> tuple[list[str], int]:
    """One page of the zoo's list read from its stored flags (explained when stored), brought
    up to date first: the items as ConcernItem's JSON, and the list's size."""
    ctx = Context(settings=settings, zoo_id=zoo_id, now=now or utcnow())
    if not store.is_current(session, ctx):
        _bring_up_to_date(session, ctx, writer)
    rules = engine.select_rules(rule_ids, subject_type)
    return store.page(session, ctx, rules, min_severity, offset, limit)


def _bring_up_to_date(session: Session, ctx: Context, writer: Sessions | None) -> None:
    """Updates the zoo's stored flags: in the given session, or in one of `writer`'s (the
    single writer on SQLite), after which the session starts over to see the result."""
    if writer is None:
        store.update(session, ctx)
        commit(session)
        return
    # Ends the read transaction first (it wrote nothing; a commit leaves loaded objects as
    # they are): its connection goes back to the pool (on PostgreSQL the writer's pool is the
    # same one), and SQLite would keep its snapshot until it ended.
    session.commit()
    with writer() as updating:
        store.update(updating, ctx)
        commit(updating)


@dataclass(frozen=True)
class Rendered:
    body: bytes
    media_type: str
    etag: str
    filename: str | None = None
    not_modified: bool = False


@dataclass(frozen=True)
class ListRequest:
    min_severity: int | None
    rule_ids: tuple[str, ...] | None
    subject_type: str | None
    limit: int | None  # None: the whole list (a CSV download)
    offset: int
    as_csv: bool


# A raw request (zoo ref, query string, Accept header) already answered with a 200. The same
# bytes validate the same way, so its answer can be given again without parsing them.
RequestAlias = tuple[str, str, bytes, str | None]
# What an entry costs beyond the bytes of its key and body: the tuples, the Rendered, the
# OrderedDict slot (measured with sys.getsizeof on CPython 3.11, rounded up).
ENTRY_OVERHEAD = 512


def request_alias(ref: str, query_string: bytes, accept: str | None) -> RequestAlias:
    return ("request", ref, query_string, accept)


def alias_size(alias: RequestAlias) -> int:
    """The alias's own memory: it shares the rendered body, but its key is the raw request."""
    return ENTRY_OVERHEAD + len(alias[1]) + len(alias[2]) + len(alias[3] or "")


async def zoo_concern_list(
    *,
    sessions: Sessions,
    writer: Sessions,
    stamps: StampReader,
    settings: Settings,
    ref: str,
    request: ListRequest,
    cache: LRUCache | None,
    if_none_match: str | None = None,
    alias: RequestAlias | None = None,
) -> Rendered:
    """The zoo's list as the response body, from the cache while nothing it depends on changed.

    The cache holds rendered bodies (bytes) under their ETag, so its memory is what was served.
    A hit costs a share of one batched read of the zoos' concern_version, on the event loop;
    only a miss takes a worker thread and a session to evaluate the rules. With `alias`, the
    raw request is remembered too, so `cached_response` can answer it again before routing.
    """
    zoo = await stamps.get(ref, sessions)
    key = list_key(zoo)
    tag = etag(key, request)
    if etag_matches(if_none_match, tag):
        return Rendered(b"", "", tag, not_modified=True)
    rendered: Rendered | None = cache.get(tag) if cache is not None else None
    if rendered is None:
        rendered = await run_in_threadpool(_render, sessions, writer, settings, zoo, request, tag)
        if cache is not None:
            cache.put(tag, rendered, size=ENTRY_OVERHEAD + len(tag) + len(rendered.body))
    if cache is not None and alias is not None:
        cache.put(alias, (key, rendered), size=alias_size(alias))
    return rendered


async def cached_response(
    *,
    sessions: Sessions,
    stamps: StampReader,
    cache: LRUCache | None,
    alias: RequestAlias,
    if_none_match: str | None,
) -> Rendered | None:
    """The answer to a request seen before, if the zoo's list has not changed since; None when
    it must go the whole way (never seen, stale, unknown zoo, or the database failing)."""
    entry: tuple[str, Rendered] | None = cache.get(alias) if cache is not None else None
    if entry is None:
        return None
    key, rendered = entry
    try:
        zoo = await stamps.get(alias[1], sessions)
    except Exception:  # the route answers with the right problem document
        return None
    if list_key(zoo) != key:
        return None
    if etag_matches(if_none_match, rendered.etag):
        return Rendered(b"", "", rendered.etag, not_modified=True)
    return rendered


def _render(
    sessions: Sessions,
    writer: Sessions,
    settings: Settings,
    zoo: ZooStamp,
    request: ListRequest,
    tag: str,
) -> Rendered:
    # The rules read after the version was: the body is at least as new as its key.
    if not request.as_csv and request.limit is not None:
        # Stored items are JSON, validated when stored: sent as they are, in Page's shape.
        with sessions() as session:
            items, total = stored_page(
                session=session,
                settings=settings,
                zoo_id=zoo.id,
                min_severity=request.min_severity,
                rule_ids=request.rule_ids,
                subject_type=request.subject_type,
                offset=request.offset,
                limit=request.limit,
                writer=writer,
            )
        body = (
            f'{{"items":[{",".join(items)}],"total":{total},'
            f'"limit":{request.limit},"offset":{request.offset}}}'
        )
        return Rendered(body.encode(), "application/json", tag)
    with sessions() as session:
        window, total = zoo_concerns_page(
            session=session,
            settings=settings,
            zoo=zoo,
            min_severity=request.min_severity,
            rule_ids=request.rule_ids,
            subject_type=request.subject_type,
            offset=request.offset,
            limit=request.limit,
            writer=writer,
        )
    filename = f"{zoo.slug}-concerns-{utcnow().date().isoformat()}.csv"
    return Rendered(to_csv(zoo, window).encode(), "text/csv; charset=utf-8", tag, filename)


def etag(key: str, *parts: object) -> str:
    """A weak ETag for one rendering (filters, page, format) of a cached list."""
    digest = hashlib.sha256(repr((key, *parts)).encode()).hexdigest()[:16]
    return f'W/"{key}-{digest}"'


def etag_matches(if_none_match: str | None, tag: str) -> bool:
    return if_none_match_hits(if_none_match, tag)


def animal_concerns(
    *, session: Session, settings: Settings, animal: Animal, now: datetime | None = None
) -> ConcernItem | None:
    """One animal's flags (None when it raises none), evaluated for that animal alone."""
    ctx = Context(settings=settings, zoo_id=animal.zoo_id, now=now or utcnow(), animal_id=animal.id)
    items, _ = build_items(
        session, engine.evaluate(session, ctx, engine.select_rules(None, "animal"))
    )
    return items[0] if items else None


def ranking(
    *,
    session: Session,
    settings: Settings,
    country_code: str | None,
    limit: int,
    offset: int,
    cache: LRUCache | None = None,
    now: datetime | None = None,
) -> tuple[list[ZooConcernSummary], int]:
    """Every zoo with at least one flag, ranked by total score then worst severity.

    Evaluating the ranking reads every zoo's incidents, so it is done once per state of the
    registry: cached under the zoos' concern_versions (which every write that can change a
    list bumps) and the date, and evaluated by one request at a time; the others wait for it
    and read its result."""
    now = now or utcnow()
    if cache is None:
        return _page(_rank(session, settings, country_code, now), offset, limit)
    key = ("ranking", _registry_fingerprint(session), now.date().isoformat(), country_code)
    ranked = cache.get(key)
    if ranked is None:
        with _RANKING_LOCK:
            ranked = cache.get(key)
            if ranked is None:
                ranked = _rank(session, settings, country_code, now)
                cache.put(key, ranked, size=ENTRY_OVERHEAD + SUMMARY_SIZE * (len(ranked) + 1))
    return _page(ranked, offset, limit)


_RANKING_LOCK = threading.Lock()
SUMMARY_SIZE = 1200  # one ZooConcernSummary with its ZooRef in memory, rounded up


def _registry_fingerprint(session: Session) -> tuple[int, int, int]:
    """Changes whenever a zoo is added, removed or has its concern_version bumped (ids are
    never reused; versions only grow)."""
    row = session.execute(
        select(
            func.count(col(Zoo.id)),
            func.coalesce(func.sum(col(Zoo.id)), 0),
            func.coalesce(func.sum(col(Zoo.concern_version)), 0),
        )
    ).one()
    return int(row[0]), int(row[1]), int(row[2])


def _page(
    ranked: list[ZooConcernSummary], offset: int, limit: int
) -> tuple[list[ZooConcernSummary], int]:
    return ranked[offset : offset + limit], len(ranked)


def _rank(
    session: Session, settings: Settings, country_code: str | None, now: datetime
) -> list[ZooConcernSummary]:
    ctx = Context(settings=settings, zoo_id=None, now=now)
    return [
        ZooConcernSummary(
            zoo=ZooRef(id=t.zoo_id, slug=t.slug, name=t.name, country_code=t.country_code),
            flagged_animals=t.flagged_animals,
            flagged_enclosures=t.flagged_enclosures,
            total_score=t.total_score,
            max_severity=t.max_severity,
            open_incidents=t.open_incidents,
        )
        for t in engine.rank_zoos(session, ctx, country_code)
    ]


def to_csv(zoo: Zoo | ZooStamp, items: Sequence[ConcernItem]) -> str:
    """The concern list as CSV, one row per flag, with a header row."""
    out = io.StringIO()
    writer = csvsafe.writer(out, lineterminator="\r\n")  # names are user input
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
    animal_id = cast(int, animal.id)  # a stored animal's id
    name, species, enclosure = explain.animal_refs(session, {animal_id})[animal_id]
    return ConcernItem(
        subject_type=SubjectType.animal,
        subject_id=animal_id,
        zoo_id=animal.zoo_id,
        name=name,
        species=species,
        enclosure=enclosure,
        score=0,
        max_severity=0,
        flags=[],
    )
