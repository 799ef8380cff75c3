"""Webhooks: subscriptions to the change feed, delivered by the background worker under the
Standard Webhooks signature, retried on a schedule, and never sent where a subscriber could
reach the service's own network (urls.py).

Depends on app.core, app.models and app.events. Its public face: Subscriptions (the API's
management) and WebhookWorker (the delivery).
"""

from app.webhooks.subscriptions import Subscriptions
from app.webhooks.worker import WebhookWorker

__all__ = ["Subscriptions", "WebhookWorker"]
