"""Webhook routes (inspector and admin): subscribe to the change feed, manage subscriptions,
read their deliveries log, send a test message. The secret is shown once, at creation."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status

from app.api.deps import IdPath, InspectorDep, PageDep, ReadSessionDep, WriteSessionDep
from app.api.guard import GuardedRoute
from app.api.sessions import SessionDep
from app.core.problem_docs import WRITE_ERRORS, problem_responses
from app.models.page import Page
from app.models.webhook import (
    Webhook,
    WebhookAttemptPublic,
    WebhookCreate,
    WebhookCreated,
    WebhookPublic,
    WebhookStatus,
    WebhookTestQueued,
    WebhookUpdate,
)
from app.webhooks import Subscriptions

router = APIRouter(prefix="/webhooks", tags=["webhooks"], route_class=GuardedRoute)


async def get_subscriptions(request: Request) -> Subscriptions:
    subscriptions: Subscriptions = request.app.state.webhooks
    return subscriptions


SubscriptionsDep = Annotated[Subscriptions, Depends(get_subscriptions)]


def get_webhook_or_404(
    session: SessionDep, actor: InspectorDep, subscriptions: SubscriptionsDep, webhook_id: IdPath
) -> Webhook:
    """A subscription the key may see (its own; an unscoped admin's, any); else a 404."""
    return subscriptions.get(session, actor, webhook_id)


WebhookDep = Annotated[Webhook, Depends(get_webhook_or_404)]


@router.post(
    "",
    name="webhooks_create",
    response_model=WebhookCreated,
    status_code=status.HTTP_201_CREATED,
    summary="Subscribe a URL to the change feed",
    responses=problem_responses(403, 422, *WRITE_ERRORS),
)
def create_webhook(
    session: WriteSessionDep,
    actor: InspectorDep,
    subscriptions: SubscriptionsDep,
    body: WebhookCreate,
    response: Response,
) -> WebhookCreated:
    """Every event committed from now on that matches `types` and `zoo_ids` is POSTed to
    `url`, signed as the Standard Webhooks specification says, and retried until a 2xx. The
    URL must be https and reach only public addresses (422 otherwise, with the reason). The
    response is the only time the `secret` is shown. A key limited to some zoos subscribes to
    some of its own zoos (all of them when `zoo_ids` is omitted; another zoo is a 403)."""
    webhook, secret = subscriptions.create(session, actor, body)
    response.headers["Location"] = f"/api/v1/webhooks/{webhook.id}"
    response.headers["Cache-Control"] = "no-store"
    return WebhookCreated.model_validate(webhook.model_dump() | {"secret": secret})


@router.get(
    "",
    name="webhooks_list",
    response_model=Page[WebhookPublic],
    summary="List webhooks",
    responses=problem_responses(403, 422),
)
def list_webhooks(
    session: ReadSessionDep,
    actor: InspectorDep,
    subscriptions: SubscriptionsDep,
    page: PageDep,
    status: Annotated[WebhookStatus | None, Query(description="Only these.")] = None,
) -> Page[Webhook]:
    """Newest first: an unscoped admin sees every subscription, any other key its own."""
    items, total = subscriptions.list_page(
        session, actor, status=status, limit=page.limit, offset=page.offset
    )
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get(
    "/{webhook_id}",
    name="webhooks_get",
    response_model=WebhookPublic,
    summary="Get a webhook",
    responses=problem_responses(403, 404, 422),
)
def get_webhook(session: ReadSessionDep, webhook: WebhookDep) -> Webhook:
    """One subscription, without its secret; another key's is a 404."""
    return webhook


@router.patch(
    "/{webhook_id}",
    name="webhooks_update",
    response_model=WebhookPublic,
    summary="Update, pause or resume a webhook",
    responses=problem_responses(403, 404, 422, *WRITE_ERRORS),
)
def update_webhook(
    session: WriteSessionDep,
    subscriptions: SubscriptionsDep,
    webhook: WebhookDep,
    body: WebhookUpdate,
) -> Webhook:
    """Changes the fields given. `status: paused` holds deliveries back, `active` resumes them
    (a paused subscription then receives what it missed; a disabled one starts from now)."""
    return subscriptions.update(session, webhook, body)


@router.delete(
    "/{webhook_id}",
    name="webhooks_delete",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a webhook",
    responses=problem_responses(403, 404, 422, *WRITE_ERRORS),
)
def delete_webhook(
    session: WriteSessionDep, subscriptions: SubscriptionsDep, webhook: WebhookDep
) -> None:
    """Removes the subscription, its undelivered events and its log."""
    subscriptions.delete(session, webhook)


@router.get(
    "/{webhook_id}/deliveries",
    name="webhooks_deliveries",
    response_model=Page[WebhookAttemptPublic],
    summary="A webhook's deliveries log",
    responses=problem_responses(403, 404, 422),
)
def list_deliveries(
    session: ReadSessionDep,
    subscriptions: SubscriptionsDep,
    webhook: WebhookDep,
    page: PageDep,
) -> Page[WebhookAttemptPublic]:
    """Every attempt, newest first: the event, the attempt's number, when, the status code
    (null: no answer), how long, what went wrong, and when the next attempt is due."""
    items, total = subscriptions.attempts(session, webhook, limit=page.limit, offset=page.offset)
    return Page(
        items=[WebhookAttemptPublic.model_validate(i) for i in items],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.post(
    "/{webhook_id}/test",
    name="webhooks_test",
    response_model=WebhookTestQueued,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Send a test message",
    responses=problem_responses(403, 404, 422, *WRITE_ERRORS),
)
def test_webhook(
    session: WriteSessionDep, subscriptions: SubscriptionsDep, webhook: WebhookDep
) -> WebhookTestQueued:
    """Queues a `webhook.test` message for this subscription alone, whatever its status; the
    worker sends it as any other, and its attempts appear in the deliveries log."""
    message_id, queued = subscriptions.queue_test(session, webhook)
    return WebhookTestQueued(event_id=message_id, status=queued)
