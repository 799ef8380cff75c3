"""Real `zoo-registry worker` processes delivering webhooks to a real HTTP receiver: a worker
killed with SIGKILL in the middle of its deliveries leaves them to be retried, with the same
webhook-id, and two workers started afterwards deliver every event, never the same attempt
twice. PostgreSQL only (workers share a database through SKIP LOCKED)."""

import json
import signal
import time
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session, select
from standardwebhooks.webhooks import Webhook as Verifier

from app.core import crypto
from app.core.config import Settings
from app.models import ApiKey
from app.models.webhook import WebhookCreate
from app.webhooks import Subscriptions
from tests.dbutil import backend
from tests.e2e.workers import StartWorker, database, start_worker, wait_for
from tests.factories import make_animal, make_key, make_zoo
from tests.webhooks.receiver import receiving

pytestmark = pytest.mark.skipif(
    backend() != "postgresql",
    reason="worker processes share a database only on PostgreSQL (FOR UPDATE SKIP LOCKED); "
    "set ZWR_TEST_DATABASE_URL",
)
__all__ = ["database", "start_worker"]  # the fixtures this module uses

ANIMALS = 12
LEASE_S = 6
WEBHOOK_ENV = {
    "ZWR_WEBHOOK_ALLOW_INSECURE": "true",
    "ZWR_WEBHOOK_ALLOW_PRIVATE": "true",
    "ZWR_WEBHOOK_TIMEOUT_S": "3",
    "ZWR_WEBHOOK_LEASE_S": str(LEASE_S),
}
DELIVERIES = text("SELECT event_id, status, attempts FROM webhook_delivery ORDER BY event_id")
ATTEMPTS = text("SELECT attempt, status_code FROM webhook_attempt")


def subscribe_and_write(url: str, engine: Engine, receiver_url: str) -> str:
    """A subscription (as an admin would make it), then ANIMALS animal.registered events;
    returns the subscription's secret."""
    settings = Settings(database_url=url, webhook_allow_insecure=True, webhook_allow_private=True)
    crypto.configure(settings)
    with Session(engine, expire_on_commit=False) as session:
        make_key(session)
        actor = session.exec(select(ApiKey)).one()
        _, secret = Subscriptions(settings).create(
            session, actor, WebhookCreate(url=receiver_url, types=["animal.registered"])
        )
        zoo = make_zoo(session)
        for n in range(ANIMALS):
            make_animal(session, zoo, name=f"Animal {n}")
        session.commit()
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM event")).scalar() == ANIMALS
    return secret


def test_a_worker_killed_mid_delivery_leaves_it_to_be_retried(
    database: tuple[str, Engine], start_worker: StartWorker
) -> None:
    url, engine = database
    with receiving(delay_s=60) as receiver:  # holds every request: the worker is mid-delivery
        secret = subscribe_and_write(url, engine, receiver.url)
        killed = start_worker(env=WEBHOOK_ENV)
        wait_for(receiver.arrived.is_set, "a delivery reaching the receiver", [killed])
        time.sleep(0.3)  # the rest of its batch on the way
        killed.process.send_signal(signal.SIGKILL)
        killed.process.wait(timeout=10)
        before = {r.headers["webhook-id"] for r in receiver.received}
        assert before, "nothing was in flight when the worker died"
        with engine.connect() as connection:
            states = connection.execute(DELIVERIES).all()
            assert connection.execute(ATTEMPTS).all() == []  # no attempt was recorded
        assert {s.status for s in states} == {"pending"}
        assert {s.event_id for s in states if s.attempts == 1} >= before

        receiver.delay_s = 0
        killed_at = len(receiver.received)
        workers = [start_worker(env=WEBHOOK_ENV), start_worker(env=WEBHOOK_ENV)]

        def all_delivered() -> bool:
            with engine.connect() as connection:
                return {r.status for r in connection.execute(DELIVERIES)} == {"succeeded"}

        wait_for(all_delivered, "every event delivered after the restart", workers)

    after: list[Any] = receiver.received[killed_at:]
    ids = [r.headers["webhook-id"] for r in after]
    with engine.connect() as connection:
        states = connection.execute(DELIVERIES).all()
        attempts = connection.execute(ATTEMPTS).all()
    assert len(states) == ANIMALS
    assert sorted(ids) == sorted(s.event_id for s in states)  # each once: never sent twice
    assert before <= set(ids)  # the interrupted ones again, under the same webhook-id
    verifier = Verifier(secret)
    for request in after:
        event = verifier.verify(request.body, request.headers)
        assert event["type"] == "animal.registered"
        assert json.loads(request.body)["id"] == request.headers["webhook-id"]
    # The interrupted deliveries' second attempt succeeded; the killed one left no record.
    assert {s.event_id: s.attempts for s in states if s.event_id in before} == dict.fromkeys(
        before, 2
    )
    assert all(a.status_code == 200 for a in attempts) and len(attempts) == ANIMALS
