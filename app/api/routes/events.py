"""The change feed: every committed event, in one order, each read once by a reader that
follows `next`."""

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from pydantic import BaseModel, Field
from sse_starlette import EventSourceResponse
from starlette.concurrency import run_in_threadpool

from app.api.deps import ZooRefQuery
from app.api.guard import GuardedRoute
from app.core.errors import TooManyRequests
from app.core.problem_docs import problem_responses
from app.events import EventFeed, EventType, decode_cursor
from app.events.feed import EVENTS, item_json
from app.services.zoos import matches_ref

router = APIRouter(prefix="/events", tags=["events"], route_class=GuardedRoute)
MAX_LIMIT = 1000


class EventPublic(BaseModel):
    id: str = Field(description="Opaque; the cursor of this event (send it as `after`).")
    type: EventType
    occurred_at: Any = Field(json_schema_extra={"type": "string", "format": "date-time"})
    zoo_id: int | None
    subject_type: str = Field(description="animal, incident or report.")
    subject_id: int
    data: dict[str, Any] = Field(
        description="The subject's public representation after the change (for concern "
        "events, the flag; for incident.replied, the reply)."
    )


class EventPage(BaseModel):
    items: list[EventPublic]
    next: str = Field(description="Send as `after` for the events that follow these.")


async def get_feed(request: Request) -> EventFeed:
    feed: EventFeed = request.app.state.events
    return feed


FeedDep = Annotated[EventFeed, Depends(get_feed)]


CURSOR_PATTERN = "^[0-9a-f]{1,16}$"
AfterQuery = Annotated[
    str | None,
    Query(
        pattern=CURSOR_PATTERN,
        description="An event's id: the events after it. None: from the start.",
    ),
]
TypesQuery = Annotated[list[EventType] | None, Query(description="Only these types; repeatable.")]


@router.get(
    "",
    name="events_list",
    response_model=EventPage,
    summary="The change feed",
    responses=problem_responses(422),
)
async def list_events(
    feed: FeedDep,
    after: AfterQuery = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Events at most.")] = 100,
    type: TypesQuery = None,
    zoo_id: ZooRefQuery = None,
) -> Response:
    """Every committed event, oldest first, in one order that never changes: a reader that
    starts with no `after` and follows `next` sees each event exactly once, even when the
    writes committed out of order, and a rolled-back write leaves none. `next` is always
    given; a page shorter than `limit` means the reader is up to date (poll again with
    `next`). Events are positioned after their commit, so a read sees every event committed
    before it."""
    position = decode_cursor(after) if after is not None else 0
    zoo = matches_ref(EVENTS.c.zoo_id, zoo_id) if zoo_id is not None else None
    types = [t.value for t in type] if type else None
    body, full = await run_in_threadpool(
        feed.body,
        after=position,
        limit=limit,
        types=types,
        zoo=zoo,
        zoo_id=int(zoo_id) if zoo_id is not None and zoo_id.isdigit() else None,
    )
    # A full page never changes; a short one grows as events come.
    cache = "public, max-age=86400" if full and not _by_slug(zoo_id) else "no-cache"
    return Response(body, media_type="application/json", headers={"Cache-Control": cache})


def _by_slug(zoo_id: str | None) -> bool:
    return zoo_id is not None and not zoo_id.isdigit()


class Streams:
    """Open streams per client address, bounded: a stream holds a connection for as long as
    the client stays, so one client may not hold many."""

    def __init__(self, per_client: int) -> None:
        self.per_client = per_client
        self.open: dict[str, int] = {}

    def enter(self, address: str) -> bool:
        if self.open.get(address, 0) >= self.per_client:
            return False
        self.open[address] = self.open.get(address, 0) + 1
        return True

    def leave(self, address: str) -> None:
        left = self.open.get(address, 1) - 1
        if left:
            self.open[address] = left
        else:
            self.open.pop(address, None)


STREAM_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Server-Sent Events, one per feed event: `id:` is its cursor, `event:` "
        "its type, `data:` the event as `GET /events` has it; a comment every 15 s keeps the "
        "connection open.",
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    },
    **problem_responses(422, 429),
}


@router.get(
    "/stream",
    name="events_stream",
    summary="The change feed, live",
    response_class=EventSourceResponse,
    responses=STREAM_RESPONSES,
)
async def stream_events(
    request: Request,
    feed: FeedDep,
    after: AfterQuery = None,
    type: TypesQuery = None,
    zoo_id: ZooRefQuery = None,
    last_event_id: Annotated[
        str | None,
        Header(
            alias="Last-Event-ID",
            pattern=CURSOR_PATTERN,
            description="The last event received: the stream resumes after it (over `after`).",
        ),
    ] = None,
) -> Response:
    """The feed of `GET /events` as Server-Sent Events, from `after` (or the `Last-Event-ID`
    a reconnecting client sends) and then live, each event as soon as it is committed and
    positioned. A client address may hold a few streams at once (`ZWR_EVENT_STREAMS_PER_CLIENT`);
    one more is a 429."""
    cursor = last_event_id or after
    position = decode_cursor(cursor) if cursor is not None else 0
    zoo = matches_ref(EVENTS.c.zoo_id, zoo_id) if zoo_id is not None else None
    types = [t.value for t in type] if type else None
    settings = request.app.state.settings
    streams: Streams = request.app.state.event_streams
    address = request.state.client_address if hasattr(request.state, "client_address") else ""
    if not streams.enter(address):
        raise TooManyRequests("Too many event streams open from this address.", retry_after=5)

    async def events() -> AsyncIterator[dict[str, str]]:
        after = position
        try:
            while True:
                items, after = await run_in_threadpool(
                    feed.read, after=after, limit=100, types=types, zoo=zoo
                )
                for item in items:
                    yield {"id": item.id, "event": item.type, "data": item_json(item)}
                if not items:
                    await asyncio.sleep(settings.event_stream_poll_s)
        finally:
            streams.leave(address)

    return EventSourceResponse(events(), ping=15)
