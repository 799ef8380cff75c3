"""The background work that delivers webhooks: each pass positions the feed's waiting events,
fans them out to the subscriptions, then claims, sends and records due deliveries in batches
until none is due. Any number of workers may share one PostgreSQL (see delivery.py)."""

import asyncio
import logging
import threading
from collections.abc import Callable
from datetime import datetime

from app.core import background
from app.core.config import Settings
from app.core.db import Sessions
from app.events import feed
from app.models.base import utcnow
from app.webhooks import delivery
from app.webhooks.urls import Resolver

log = logging.getLogger("zwr.worker")

BATCH = 50  # deliveries claimed at once, sent concurrently


class WebhookWorker:
    def __init__(
        self,
        settings: Settings,
        sessions: Sessions,
        *,
        clock: Callable[[], datetime] = utcnow,
        resolver: Resolver | None = None,
        reads: Sessions | None = None,
    ) -> None:
        self.settings = settings
        self.sessions = sessions  # write sessions
        # An idle pass only reads: on SQLite a write session takes the database's one lock.
        self.reads = reads or sessions
        self.clock = clock
        self.resolver = resolver
        self.clients = delivery.Clients(settings.webhook_timeout_s)
        # One loop for the worker's life, so the clients' connections are kept between passes.
        self.loop = asyncio.new_event_loop()

    @property
    def lease_s(self) -> float:
        return max(self.settings.webhook_lease_s, 2 * self.settings.webhook_timeout_s)

    def run_once(self, stop: threading.Event | None = None) -> int:
        """One pass; returns how many attempts it made."""
        with self.reads() as session:
            if not delivery.work_waiting(session.connection(), self.clock()):
                return 0
        feed.place_all(self.sessions)
        with self.sessions() as session:
            delivery.fan_out(session.connection(), self.clock())
            session.commit()
        attempts = 0
        while stop is None or not stop.is_set():
            now = self.clock()
            with self.sessions() as session:
                claimed = delivery.claim(
                    session.connection(), now, limit=BATCH, lease_s=self.lease_s
                )
                session.commit()
            if not claimed:
                break
            outcomes = self.loop.run_until_complete(self._send(claimed, now))
            with self.sessions() as session:
                results = list(zip(claimed, outcomes, strict=True))
                delivery.record(session, results, self.clock(), self.settings)
                session.commit()
            attempts += len(claimed)
            if len(claimed) < BATCH:
                break
        if attempts:
            log.info('{"worker": "webhooks", "attempts": %d}', attempts)
        return attempts

    async def _send(self, claimed: list[delivery.Claimed], now: datetime) -> list[delivery.Outcome]:
        return list(
            await asyncio.gather(
                *(
                    delivery.attempt(
                        one,
                        clients=self.clients,
                        settings=self.settings,
                        now=now,
                        resolver=self.resolver,
                    )
                    for one in claimed
                )
            )
        )

    def close(self) -> None:
        self.loop.run_until_complete(self.clients.close())
        self.loop.close()

    def run(self, stop: threading.Event) -> None:
        """Passes until `stop` is set: at once again after a pass that sent something, the
        worker interval after one that did not."""
        try:
            background.run(
                lambda halt: self.run_once(halt) > 0,
                stop,
                idle_s=lambda: self.settings.worker_interval_s,
                busy_s=lambda: 0.0,
                log=log,
                name="webhooks",
            )
        finally:
            self.close()

    def start(self) -> Callable[[], None]:
        """Runs in a daemon thread; returns the function that stops it and waits for it."""
        return background.start(self.run, "webhook-worker")
