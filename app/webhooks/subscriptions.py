"""Webhook subscriptions: create (the secret shown once), list, get, update, delete, the
deliveries log and the test message. Who sees what: an unscoped admin every subscription,
any other key the ones it created. A key limited to some zoos subscribes to some of its zoos
only, and receives only their events."""

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.core.config import Settings
from app.core.errors import Forbidden, NotFound, Unprocessable, field_error
from app.events import EventType, feed
from app.models import ApiKey, Zoo
from app.models.api_key import Role
from app.models.base import utcnow
from app.models.webhook import (
    DeliveryStatus,
    Webhook,
    WebhookAttempt,
    WebhookCreate,
    WebhookDelivery,
    WebhookStatus,
    WebhookUpdate,
)
from app.models.zoo import parse_ref
from app.webhooks import signing
from app.webhooks.delivery import message, queue_message
from app.webhooks.urls import Resolver, UnsafeURL, resolve_checked


@dataclass
class Subscriptions:
    """The subscriptions as the API manages them. `resolver` answers DNS for the URL checks
    (the system's unless given)."""

    settings: Settings
    resolver: Resolver | None = None

    def create(self, session: Session, actor: ApiKey, body: WebhookCreate) -> tuple[Webhook, str]:
        """Subscribes from the feed's head on: only events after now are delivered."""
        secret = signing.new_secret()
        webhook = Webhook(
            url=self._checked_url(body.url),
            description=body.description,
            types=_checked_types(body.types),
            zoo_ids=_zoo_ids(session, actor, body.zoo_ids),
            secret=secret,
            owner_key_id=actor.id,
            cursor=feed.head(session.connection()),
        )
        session.add(webhook)
        session.commit()
        return webhook, secret

    def get(self, session: Session, actor: ApiKey, webhook_id: int) -> Webhook:
        """One subscription the actor may see; another's is a 404, as a missing one."""
        webhook = session.get(Webhook, webhook_id)
        if webhook is None or not _sees(actor, webhook):
            raise NotFound(f"No webhook with id {webhook_id}.")
        return webhook

    def list_page(
        self,
        session: Session,
        actor: ApiKey,
        *,
        status: WebhookStatus | None,
        limit: int,
        offset: int,
    ) -> tuple[Sequence[Webhook], int]:
        stmt = select(Webhook)
        if not _sees_all(actor):
            stmt = stmt.where(Webhook.owner_key_id == actor.id)
        if status is not None:
            stmt = stmt.where(Webhook.status == status)
        total = session.exec(select(func.count()).select_from(stmt.subquery())).one()
        items = session.exec(stmt.order_by(col(Webhook.id).desc()).limit(limit).offset(offset))
        return items.all(), total

    def update(self, session: Session, webhook: Webhook, body: WebhookUpdate) -> Webhook:
        """Changes the URL (checked again), the types, the description or the status. Resuming
        a paused subscription sends what it missed; re-enabling a disabled one starts anew
        from the feed's head."""
        changes = body.model_dump(exclude_unset=True)
        if "url" in changes:
            if changes["url"] is None:
                raise _field("url", "The URL may not be removed.")
            webhook.url = self._checked_url(changes["url"])
        if "types" in changes:
            webhook.types = _checked_types(changes["types"])
        if "description" in changes:
            webhook.description = changes["description"]
        status = changes.get("status")
        if status is not None and status != webhook.status:
            if webhook.status == WebhookStatus.disabled:
                webhook.cursor = feed.head(session.connection())
                webhook.failed_in_a_row = 0
                webhook.disabled_at = None
            webhook.status = WebhookStatus(status)
        webhook.updated_at = utcnow()
        session.add(webhook)
        session.commit()
        return webhook

    def delete(self, session: Session, webhook: Webhook) -> None:
        """Removes the subscription with its pending deliveries and its log."""
        session.delete(webhook)
        session.commit()

    def attempts(
        self, session: Session, webhook: Webhook, *, limit: int, offset: int
    ) -> tuple[list[dict[str, Any]], int]:
        """The deliveries log, newest attempt first."""
        stmt = (
            select(WebhookAttempt, WebhookDelivery.event_id, WebhookDelivery.event_type)
            .join(WebhookDelivery, col(WebhookDelivery.id) == WebhookAttempt.delivery_id)
            .where(WebhookAttempt.webhook_id == webhook.id)
        )
        total = session.exec(
            select(func.count())
            .select_from(WebhookAttempt)
            .where(WebhookAttempt.webhook_id == webhook.id)
        ).one()
        rows = session.exec(
            stmt.order_by(col(WebhookAttempt.id).desc()).limit(limit).offset(offset)
        ).all()
        items = [
            attempt.model_dump() | {"event_id": event_id, "event_type": event_type}
            for attempt, event_id, event_type in rows
        ]
        return items, total

    def queue_test(self, session: Session, webhook: Webhook) -> tuple[str, DeliveryStatus]:
        """Queues a `webhook.test` message for this subscription alone (whatever its types and
        status, so a paused or disabled endpoint can be tried before it is resumed)."""
        message_id = "test_" + secrets.token_hex(8)
        data = {"webhook_id": webhook.id, "description": webhook.description}
        queue_message(
            session,
            webhook_id=int(webhook.id or 0),
            message=message(message_id, EventType.webhook_test, "webhook", webhook.id, data),
        )
        session.commit()
        return message_id, DeliveryStatus.pending

    def _checked_url(self, url: str) -> str:
        try:
            checked, _ = resolve_checked(
                url,
                allow_insecure=self.settings.webhook_allow_insecure,
                allow_private=self.settings.webhook_allow_private,
                resolver=self.resolver,
            )
        except UnsafeURL as error:
            raise _field("url", f"This URL cannot receive webhooks: {error}.") from None
        return checked


def _sees_all(actor: ApiKey) -> bool:
    return actor.role is Role.admin and actor.zoo_ids is None


def _sees(actor: ApiKey, webhook: Webhook) -> bool:
    return _sees_all(actor) or webhook.owner_key_id == actor.id


def _field(name: str, message: str) -> Unprocessable:
    return Unprocessable(message, errors=[field_error(["body", name], message)])


def _checked_types(types: list[EventType] | None) -> list[str] | None:
    return sorted({t.value for t in types}) if types else None


SLUG_MAX = 200  # longer is no zoo's slug (nor id), and is not parsed


def _zoo_ids(session: Session, actor: ApiKey, refs: list[int | str] | None) -> list[int] | None:
    """The zoos named (ids or slugs), each within the actor's scope; none named: every zoo, or
    the scoped actor's zoos."""
    if refs is None:
        return sorted(actor.zoo_ids) if actor.zoo_ids is not None else None
    ids: set[int] = set()
    for i, ref in enumerate(refs):
        text = str(ref)
        parsed = parse_ref(text) if len(text) <= SLUG_MAX else None
        where = Zoo.id == parsed if isinstance(parsed, int) else Zoo.slug == parsed
        zoo_id = session.exec(select(Zoo.id).where(where)).first() if parsed is not None else None
        if zoo_id is None:
            message = f"No zoo with id or slug '{text[:40]}'."
            raise Unprocessable(message, errors=[field_error(["body", "zoo_ids", i], message)])
        if not actor.allows_zoo(zoo_id):
            raise Forbidden(
                f"This key is limited to zoos {actor.zoo_ids}; "
                f"it may not subscribe to zoo {zoo_id}."
            )
        ids.add(zoo_id)
    return sorted(ids)
