"""Webhook delivery, in three steps each its own transaction, so nothing is lost and nothing
is sent twice at once:

1. `fan_out`: for each active subscription, the positioned events past its cursor that it
   takes become deliveries, and the cursor moves past them, in one transaction (the
   subscription row held FOR UPDATE SKIP LOCKED: one worker fans a subscription out at a time).
2. `claim`: due deliveries are taken in one UPDATE ... RETURNING that counts the attempt and
   moves `due_at` a lease ahead (PostgreSQL's SKIP LOCKED: two workers never take the same).
   A worker killed after the claim leaves the delivery due again when the lease ends: at least
   once, with the same webhook-id.
3. `record`: after the attempt, its outcome is logged and the delivery succeeded, is due again
   by the retry schedule, or failed; an endpoint whose events fail every attempt
   `webhook_disable_after` times in a row is disabled, and the admins' webhooks told.
"""

import asyncio
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import and_, bindparam, exists, insert, or_, select, tuple_, update
from sqlalchemy.engine import Connection
from sqlmodel import Session

from app.core.config import Settings
from app.events import EventType
from app.events.feed import EVENTS, HEAD, WAITING, FeedItem, item_json, to_item
from app.events.feed import head as feed_head
from app.models import ApiKey
from app.models.api_key import Role
from app.models.base import table_of, utcnow
from app.models.webhook import (
    DeliveryStatus,
    Webhook,
    WebhookAttempt,
    WebhookDelivery,
    WebhookStatus,
)
from app.webhooks import signing
from app.webhooks.urls import Resolver, UnsafeURL, pinned_request_kwargs, resolve_checked

log = logging.getLogger("zwr.webhooks")

HOOKS = table_of(Webhook)
DELIVERIES = table_of(WebhookDelivery)
ATTEMPTS = table_of(WebhookAttempt)
KEYS = table_of(ApiKey)
FAN_OUT_BATCH = 1000  # events per subscription per pass
# The service's own messages: sent whatever the subscription's status, never counted as its
# events' failures or successes.
OWN_TYPES = (EventType.webhook_test.value, EventType.webhook_disabled.value)
ERROR_MAX = 500
ANSWER_MAX = 64 * 1024  # bytes of an answer read to keep its connection; more closes it


@dataclass(frozen=True)
class Message:
    id: str
    type: str
    body: str  # the JSON sent


def message(
    message_id: str, type_: EventType, subject_type: str, subject_id: Any, data: Any
) -> Message:
    """A message of the service's own, shaped as a feed event (and written as one)."""
    item = FeedItem(
        message_id,
        type_.value,
        utcnow(),
        None,
        subject_type,
        subject_id,
        json.dumps(data, separators=(",", ":")),
    )
    return Message(message_id, type_.value, item_json(item))


def queue_message(session: Session, *, webhook_id: int, message: Message) -> None:
    session.add(
        WebhookDelivery(
            webhook_id=webhook_id,
            event_id=message.id,
            event_type=message.type,
            payload=message.body,
        )
    )


def work_waiting(connection: Connection, now: datetime) -> bool:
    """Whether a pass has anything to do: events to position, a subscription behind the
    feed's head, or a delivery due (one read of three indexed probes)."""
    behind = exists().where(
        HOOKS.c.status == WebhookStatus.active.value, HOOKS.c.cursor < HEAD.scalar_subquery()
    )
    due = exists().where(
        DELIVERIES.c.status == DeliveryStatus.pending.value, DELIVERIES.c.due_at <= now
    )
    row = connection.execute(select(WAITING.scalar_subquery(), behind, due)).one()
    return any(bool(value) for value in row)


def fan_out(connection: Connection, now: datetime) -> int:
    """Writes the deliveries of the events placed since each active subscription's cursor;
    returns how many. The caller commits."""
    head = feed_head(connection)
    owner_active = and_(
        KEYS.c.revoked_at.is_(None), or_(KEYS.c.expires_at.is_(None), KEYS.c.expires_at > now)
    )
    subscriptions = connection.execute(
        select(HOOKS.c.id, HOOKS.c.cursor, HOOKS.c.types, HOOKS.c.zoo_ids)
        .join(KEYS, KEYS.c.id == HOOKS.c.owner_key_id)
        .where(HOOKS.c.status == WebhookStatus.active.value, HOOKS.c.cursor < head, owner_active)
        .order_by(HOOKS.c.id)
        .with_for_update(skip_locked=True, of=HOOKS)
    ).all()
    written = 0
    for sub in subscriptions:
        query = (
            select(EVENTS)
            .where(EVENTS.c.position > sub.cursor, EVENTS.c.position <= head)
            .order_by(EVENTS.c.position)
            .limit(FAN_OUT_BATCH)
        )
        if sub.types:
            query = query.where(EVENTS.c.type.in_(sub.types))
        if sub.zoo_ids is not None:
            query = query.where(EVENTS.c.zoo_id.in_(sub.zoo_ids))
        events = connection.execute(query).all()
        if events:
            connection.execute(
                insert(DELIVERIES),
                [
                    {
                        "webhook_id": sub.id,
                        "event_id": item.id,
                        "event_type": item.type,
                        "payload": item_json(item),
                        "status": DeliveryStatus.pending.value,
                        "attempts": 0,
                        "due_at": now,
                        "created_at": now,
                    }
                    for item in map(to_item, events)
                ],
            )
            written += len(events)
        cursor = events[-1].position if len(events) == FAN_OUT_BATCH else head
        connection.execute(update(HOOKS).where(HOOKS.c.id == sub.id).values(cursor=cursor))
    return written


@dataclass(frozen=True)
class Claimed:
    id: int
    webhook_id: int
    event_id: str
    event_type: str
    payload: str
    attempt: int
    url: str
    secret: str


def claim(connection: Connection, now: datetime, *, limit: int, lease_s: float) -> list[Claimed]:
    """Takes up to `limit` due deliveries of subscriptions that take them, counting the
    attempt and leasing each until `now + lease_s`. The caller commits at once."""
    due = (
        select(DELIVERIES.c.id)
        .join(HOOKS, HOOKS.c.id == DELIVERIES.c.webhook_id)
        .where(
            DELIVERIES.c.status == DeliveryStatus.pending.value,
            DELIVERIES.c.due_at <= now,
            or_(
                HOOKS.c.status == WebhookStatus.active.value,
                DELIVERIES.c.event_type.in_(OWN_TYPES),
            ),
        )
        .order_by(DELIVERIES.c.due_at, DELIVERIES.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=DELIVERIES)
    )
    taken = connection.execute(
        update(DELIVERIES)
        .where(DELIVERIES.c.id.in_(due.scalar_subquery()))
        .values(attempts=DELIVERIES.c.attempts + 1, due_at=now + timedelta(seconds=lease_s))
        .returning(
            DELIVERIES.c.id,
            DELIVERIES.c.webhook_id,
            DELIVERIES.c.event_id,
            DELIVERIES.c.event_type,
            DELIVERIES.c.payload,
            DELIVERIES.c.attempts,
        )
    ).all()
    if not taken:
        return []
    hooks = {
        row.id: row
        for row in connection.execute(
            select(HOOKS.c.id, HOOKS.c.url, HOOKS.c.secret).where(
                HOOKS.c.id.in_({t.webhook_id for t in taken})
            )
        )
    }
    claimed = [
        Claimed(
            t.id,
            t.webhook_id,
            t.event_id,
            t.event_type,
            t.payload,
            t.attempts,
            hooks[t.webhook_id].url,
            hooks[t.webhook_id].secret,
        )
        for t in taken
    ]
    return sorted(claimed, key=lambda c: c.id)


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str | None
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class Clients:
    """One httpx client per receiver host (see pinned_request_kwargs), none following a
    redirect or taking a proxy from the environment."""

    MAX = 200

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self.by_host: dict[str, httpx.AsyncClient] = {}

    async def get(self, host: str) -> httpx.AsyncClient:
        client = self.by_host.pop(host, None)
        if client is None:
            if len(self.by_host) >= self.MAX:  # the least recently used goes
                oldest = next(iter(self.by_host))
                await self.by_host.pop(oldest).aclose()
            client = httpx.AsyncClient(
                follow_redirects=False,
                trust_env=False,
                timeout=httpx.Timeout(self.timeout_s),
                limits=httpx.Limits(max_connections=8, max_keepalive_connections=4),
            )
        self.by_host[host] = client
        return client

    async def close(self) -> None:
        for client in self.by_host.values():
            await client.aclose()
        self.by_host.clear()


async def attempt(
    claimed: Claimed,
    *,
    clients: Clients,
    settings: Settings,
    now: datetime,
    resolver: Resolver | None,
) -> Outcome:
    """Checks the URL again after resolving it (DNS rebinding), then posts the signed message
    to the address checked, within the time limit; the answer's body is discarded."""
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        url, addresses = await asyncio.to_thread(
            resolve_checked,
            claimed.url,
            allow_insecure=settings.webhook_allow_insecure,
            allow_private=settings.webhook_allow_private,
            resolver=resolver,
        )
    except UnsafeURL as error:
        return Outcome(None, f"not sent: {error}"[:ERROR_MAX], elapsed())
    kwargs = pinned_request_kwargs(url, addresses[0])
    kwargs["headers"].update(
        signing.headers(claimed.secret, claimed.event_id, now, claimed.payload)
    )
    client = await clients.get(kwargs["headers"]["Host"])
    request = client.build_request("POST", content=claimed.payload, **kwargs)
    try:
        async with asyncio.timeout(settings.webhook_timeout_s):
            response = await client.send(request, stream=True)
            await _drain(response)
    except TimeoutError:
        return Outcome(None, f"no answer within {settings.webhook_timeout_s:g} s", elapsed())
    except httpx.HTTPError as error:
        return Outcome(None, f"{type(error).__name__}: {error}"[:ERROR_MAX], elapsed())
    problem = None
    if response.is_redirect:
        problem = "redirects are not followed"
    elif not response.is_success:
        problem = f"answered {response.status_code}"
    return Outcome(response.status_code, problem, elapsed())


async def _drain(response: httpx.Response) -> None:
    """Reads a short answer to its end, never keeping it, so the connection can serve the next
    delivery; a long one is cut off (the connection is closed)."""
    read = 0
    try:
        async for chunk in response.aiter_raw():
            read += len(chunk)
            if read > ANSWER_MAX:
                break
    finally:
        await response.aclose()


def record(
    session: Session,
    results: Sequence[tuple[Claimed, Outcome]],
    now: datetime,
    settings: Settings,
) -> None:
    """Logs the attempts and settles their deliveries, a batch at a time: succeeded, due
    again by the schedule, or failed; counts each endpoint's failed events and disables it at
    the limit. A delivery whose lease another worker has since taken is only logged."""
    connection = session.connection()
    delays = settings.webhook_retry_delays
    logged, ok, retried, failed = [], [], [], []
    for claimed, outcome in results:
        next_at = None
        if outcome.ok:
            ok.append(claimed)
        elif claimed.attempt <= len(delays):
            next_at = now + timedelta(seconds=delays[claimed.attempt - 1])
            retried.append({"b_id": claimed.id, "b_attempt": claimed.attempt, "b_due": next_at})
        else:
            failed.append(claimed)
        logged.append(
            {
                "delivery_id": claimed.id,
                "webhook_id": claimed.webhook_id,
                "attempt": claimed.attempt,
                "at": now,
                "status_code": outcome.status_code,
                "duration_ms": outcome.duration_ms,
                "error": outcome.error,
                "next_attempt_at": next_at,
            }
        )
    if logged:
        connection.execute(insert(ATTEMPTS), logged)
    if retried:
        connection.execute(RETRY, retried)
    # The endpoints' counters: events only, not the service's own messages, and only the
    # deliveries this worker still held.
    succeeded = {c.webhook_id for c in _settle(connection, ok, DeliveryStatus.succeeded)}
    if succeeded:
        connection.execute(
            update(HOOKS)
            .where(HOOKS.c.id.in_(succeeded), HOOKS.c.failed_in_a_row != 0)
            .values(failed_in_a_row=0)
        )
    for claimed in _settle(connection, failed, DeliveryStatus.failed):
        _count_failed_event(session, claimed.webhook_id, now, settings)


RETRY = (
    update(DELIVERIES)
    .where(
        DELIVERIES.c.id == bindparam("b_id"),
        DELIVERIES.c.attempts == bindparam("b_attempt"),
        DELIVERIES.c.status == DeliveryStatus.pending.value,
    )
    .values(due_at=bindparam("b_due"))
)


def _settle(
    connection: Connection, claimed: Sequence[Claimed], status: DeliveryStatus
) -> list[Claimed]:
    """Sets the deliveries' final status where this attempt still holds them; returns those
    that are events (not the service's own messages)."""
    if not claimed:
        return []
    held = tuple_(DELIVERIES.c.id, DELIVERIES.c.attempts).in_([(c.id, c.attempt) for c in claimed])
    settled = set(
        connection.execute(
            update(DELIVERIES)
            .where(held, DELIVERIES.c.status == DeliveryStatus.pending.value)
            .values(status=status.value)
            .returning(DELIVERIES.c.id)
        ).scalars()
    )
    return [c for c in claimed if c.id in settled and c.event_type not in OWN_TYPES]


def _count_failed_event(
    session: Session, webhook_id: int, now: datetime, settings: Settings
) -> None:
    connection = session.connection()
    failed = connection.execute(
        update(HOOKS)
        .where(HOOKS.c.id == webhook_id)
        .values(failed_in_a_row=HOOKS.c.failed_in_a_row + 1)
        .returning(HOOKS.c.failed_in_a_row, HOOKS.c.status, HOOKS.c.url)
    ).one()
    if failed.failed_in_a_row < settings.webhook_disable_after:
        return
    if failed.status != WebhookStatus.active.value:
        return
    connection.execute(
        update(HOOKS)
        .where(HOOKS.c.id == webhook_id)
        .values(status=WebhookStatus.disabled.value, disabled_at=now, updated_at=now)
    )
    log.warning(
        '{"worker": "webhooks", "webhook_id": %d, "disabled": "every attempt of %d events failed"}',
        webhook_id,
        failed.failed_in_a_row,
    )
    notice = message(
        f"disabled_{webhook_id}_{int(now.timestamp())}",
        EventType.webhook_disabled,
        "webhook",
        webhook_id,
        {"webhook_id": webhook_id, "failed_in_a_row": failed.failed_in_a_row},
    )
    for admin_hook in _admin_hooks(connection, now, exclude=webhook_id):
        queue_message(session, webhook_id=admin_hook, message=notice)


def _admin_hooks(connection: Connection, now: datetime, *, exclude: int) -> Sequence[int]:
    """The active webhooks of unscoped admin keys that take webhook.disabled."""
    rows = connection.execute(
        select(HOOKS.c.id, HOOKS.c.types, KEYS.c.zoo_ids)
        .join(KEYS, KEYS.c.id == HOOKS.c.owner_key_id)
        .where(
            HOOKS.c.status == WebhookStatus.active.value,
            HOOKS.c.id != exclude,
            KEYS.c.role == Role.admin.value,
            KEYS.c.revoked_at.is_(None),
            or_(KEYS.c.expires_at.is_(None), KEYS.c.expires_at > now),
        )
    ).all()
    wanted = EventType.webhook_disabled.value
    return [r.id for r in rows if r.zoo_ids is None and (not r.types or wanted in r.types)]
