"""The change feed: committed events in one order that never changes, read by position.

Why positions, not ids: an id is taken when a transaction writes its event, so an event with
id 41 can commit after one with id 42 was read; a reader past 42 would never see it. The
sequencer gives positions only to committed events, one sequencer at a time (it holds the
event_sequence row FOR UPDATE on PostgreSQL; SQLite has one writer), each run after the
previous one's commit and numbering past its last. So every position up to the sequence's
head is committed and final when a reader sees the head, and a reader that follows `next`
sees each event exactly once. Sequencing runs before a read that finds events waiting (so a
read after a write sees it) and in the background worker.
"""

import json
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import exists, func, insert, select, update
from sqlalchemy.engine import Connection, CursorResult
from sqlmodel import Session

from app.core.db import Sessions
from app.core.errors import Unprocessable, field_error
from app.models import Event, EventSequence
from app.models.base import table_of

EVENTS = table_of(Event)
SEQUENCE = table_of(EventSequence)
BATCH = 10_000  # events placed by one sequencer run at most
CURSOR_DIGITS = 12
CURSOR = re.compile("[0-9a-f]{1,16}")


def encode_cursor(position: int) -> str:
    """An event's id in the feed: opaque to clients, ordered as text as the feed is."""
    return format(position, f"0{CURSOR_DIGITS}x")


def decode_cursor(cursor: str, location: str = "after") -> int:
    if CURSOR.fullmatch(cursor) is None:
        message = f"'{cursor[:40]}' is not an event id of this feed."
        raise Unprocessable(message, errors=[field_error(["query", location], message)])
    return int(cursor, 16)


WAITING = select(exists().where(EVENTS.c.position.is_(None)))
HEAD = select(SEQUENCE.c.position).where(SEQUENCE.c.id == 1)


def head(connection: Connection) -> int:
    """The last position given: every event up to it is placed and final."""
    return int(connection.execute(HEAD).scalar() or 0)


def place(connection: Connection) -> int:
    """Gives the committed events without a position the next positions, in the order they
    were written; returns the new head. The caller commits."""
    head = connection.execute(HEAD.with_for_update()).scalar()
    if head is None:  # a schema made without the migrations, which insert the row
        connection.execute(insert(SEQUENCE).values(id=1, position=0))
        head = 0
    waiting = (
        select(
            EVENTS.c.id,
            (head + func.row_number().over(order_by=EVENTS.c.id)).label("position"),
        )
        .where(EVENTS.c.position.is_(None))
        .order_by(EVENTS.c.id)
        .limit(BATCH)
        .subquery()
    )
    placed = connection.execute(
        update(EVENTS).where(EVENTS.c.id == waiting.c.id).values(position=waiting.c.position)
    )
    count = int(cast(CursorResult[Any], placed).rowcount or 0)
    if count:
        connection.execute(update(SEQUENCE).where(SEQUENCE.c.id == 1).values(position=head + count))
    return int(head) + count


def place_all(sessions: Sessions) -> int:
    """Places every event waiting, in runs of BATCH, each its own transaction."""
    while True:
        with sessions() as session:
            connection = session.connection()
            if not connection.execute(WAITING).scalar():
                return head(connection)
            place(connection)
            session.commit()


@dataclass(frozen=True)
class FeedItem:
    id: str
    type: str
    occurred_at: Any
    zoo_id: int | None
    subject_type: str
    subject_id: int
    data: str  # JSON text


def item_json(item: FeedItem) -> str:
    """The event as the feed and the webhooks send it, its stored data spliced in as is."""
    head = {
        "id": item.id,
        "type": item.type,
        "occurred_at": item.occurred_at.isoformat().replace("+00:00", "Z"),
        "zoo_id": item.zoo_id,
        "subject_type": item.subject_type,
        "subject_id": item.subject_id,
    }
    return json.dumps(head, separators=(",", ":"))[:-1] + ',"data":' + item.data + "}"


def to_item(r: Any) -> FeedItem:
    """A feed item from an event row that has its position."""
    return FeedItem(
        encode_cursor(r.position),
        r.type,
        r.occurred_at,
        r.zoo_id,
        r.subject_type,
        r.subject_id,
        r.data,
    )


def page(
    session: Session,
    *,
    after: int,
    limit: int,
    types: Sequence[str] | None,
    zoo: Any | None,
) -> tuple[list[FeedItem], int, bool]:
    """The events after position `after` (filtered), up to `limit`; the position to go on
    from: the last one's, or the head when the feed held no more (so filtered readers skip
    what matched nothing); and whether committed events wait for a position. `zoo` is a
    filter on event.zoo_id (a column expression)."""
    connection = session.connection()
    head, waiting = connection.execute(HEAD_AND_WAITING).one()
    query = (
        select(EVENTS)
        .where(EVENTS.c.position > after, EVENTS.c.position <= head)
        .order_by(EVENTS.c.position)
        .limit(limit)
    )
    if types:
        query = query.where(EVENTS.c.type.in_(list(types)))
    if zoo is not None:
        query = query.where(zoo)
    rows = connection.execute(query).all()
    items = [to_item(r) for r in rows]
    go_on = rows[-1].position if len(rows) == limit else max(int(head), after)
    return items, go_on, bool(waiting)


HEAD_AND_WAITING = select(HEAD.scalar_subquery(), WAITING.scalar_subquery())
PageKey = tuple[int, int, tuple[str, ...], int | None]


def render(items: Sequence[FeedItem], go_on: int) -> str:
    """A page as GET /events answers it, the events' stored JSON spliced in."""
    return f'{{"items":[{",".join(item_json(i) for i in items)}],"next":"{encode_cursor(go_on)}"}}'


class Pages:
    """Rendered full pages, least recently used first out past `budget` bytes. A full page
    never changes: its positions are final, and events are never rewritten."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.size = 0
        self.by_key: OrderedDict[PageKey, str] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: PageKey) -> str | None:
        with self.lock:
            body = self.by_key.get(key)
            if body is not None:
                self.by_key.move_to_end(key)
            return body

    def put(self, key: PageKey, body: str) -> None:
        with self.lock:
            if key in self.by_key or len(body) > self.budget:
                return
            self.by_key[key] = body
            self.size += len(body)
            while self.size > self.budget:
                _, dropped = self.by_key.popitem(last=False)
                self.size -= len(dropped)


class EventFeed:
    """The feed as the app reads it: a page read in one session; when committed events wait
    for a position, the sequencer places them and the page is read again (so a read after a
    write sees it). Full pages of the whole feed or of a zoo by id are kept rendered."""

    def __init__(self, reads: Sessions, writes: Sessions, cache_bytes: int = 32 << 20) -> None:
        self.reads = reads
        self.writes = writes
        self.pages = Pages(cache_bytes)

    def read(
        self, *, after: int, limit: int, types: Sequence[str] | None, zoo: Any | None
    ) -> tuple[list[FeedItem], int]:
        with self.reads() as session:
            items, go_on, waiting = page(session, after=after, limit=limit, types=types, zoo=zoo)
        if waiting and len(items) < limit:
            place_all(self.writes)
            with self.reads() as session:
                items, go_on, _ = page(session, after=after, limit=limit, types=types, zoo=zoo)
        return items, go_on

    def body(
        self,
        *,
        after: int,
        limit: int,
        types: Sequence[str] | None,
        zoo: Any | None,
        zoo_id: int | None,
    ) -> tuple[str, bool]:
        """The rendered page, and whether it is full (so never changes). `zoo_id` names the
        zoo filter's zoo when it is an id (a slug may come to name another zoo), for the
        cache."""
        key = (after, limit, tuple(sorted(types or ())), zoo_id)
        cacheable = zoo is None or zoo_id is not None
        if cacheable and (body := self.pages.get(key)) is not None:
            return body, True
        items, go_on = self.read(after=after, limit=limit, types=types, zoo=zoo)
        body = render(items, go_on)
        full = len(items) == limit
        if full and cacheable:
            self.pages.put(key, body)
        return body, full
