"""The background work that keeps stored concerns fresh: the zoos whose stored state is
behind (a write since their last update, a new day, other rules) are brought up to date soon
after, so reads find them current. Any number of workers may share one PostgreSQL: each zoo
is updated under its row's lock, and a worker skips a zoo another holds (SKIP LOCKED). A
killed worker's transaction rolls back, and the zoo stays stale for the next one."""

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from app.concerns import ranking, store
from app.concerns.rules import Context
from app.core import background
from app.core.config import Settings
from app.core.db import Sessions
from app.models.base import utcnow

log = logging.getLogger("zwr.worker")


class ConcernWorker:
    def __init__(
        self, settings: Settings, sessions: Sessions, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.settings = settings
        self.sessions = sessions  # write sessions
        self.clock = clock

    def run_once(self, stop: threading.Event | None = None) -> int:
        """One pass: every stale zoo another worker does not hold, one transaction each, until
        `stop` is set. A zoo whose update fails is logged and left for the next pass, so it
        holds up no other. Returns how many were brought up to date."""
        now = self.clock()
        with self.sessions() as session:
            stale = ranking.stale(session, self.settings, now)
        done = 0
        for zoo_id in stale:
            if stop is not None and stop.is_set():
                break
            try:
                with self.sessions() as session:
                    ctx = Context(self.settings, zoo_id, now)
                    if store.update(session, ctx, skip_locked=True):
                        done += 1
                    session.commit()
            except Exception:
                log.exception(
                    '{"worker": "concerns", "zoo_id": %d, "error": "update failed"}', zoo_id
                )
        if done:
            log.info('{"worker": "concerns", "zoos_updated": %d}', done)
        return done

    def run(self, stop: threading.Event) -> None:
        """Passes until `stop` is set, waiting the interval after a pass that found nothing
        to do and the busy pause after one that did."""
        background.run(
            lambda halt: self.run_once(halt) > 0,
            stop,
            idle_s=lambda: self.settings.worker_interval_s,
            busy_s=lambda: self.settings.worker_busy_pause_s,
            log=log,
            name="concerns",
        )

    def start(self) -> Callable[[], None]:
        """Runs in a daemon thread; returns the function that stops it and waits for it."""
        return background.start(self.run, "concern-worker")
