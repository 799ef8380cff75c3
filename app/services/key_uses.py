"""When API keys were last used: noted in memory by requests, written off the request path.

Authentication only reads: on SQLite a read that wrote last_used_at took the write lock and
failed with "database is locked" during a write burst. Uses are noted here instead (at most
once a minute per key) and written in batches through the writer by the app's lifespan.
"""

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from datetime import datetime, timedelta

import anyio.to_thread
from sqlalchemy import bindparam, or_, update

from app.core.db import Sessions
from app.models.api_key import ApiKey
from app.models.base import UTCDateTime, table_of

logger = logging.getLogger("zwr.keys")

# last_used_at is bookkeeping: to the minute is enough, and keeps the writes few.
LAST_USED_RESOLUTION = timedelta(minutes=1)

_table = table_of(ApiKey)
_at = bindparam("used_at", type_=UTCDateTime())
# Never moves last_used_at back (a batch retried after a newer one was written).
_WRITE_USE = (
    update(_table)
    .where(
        _table.c.id == bindparam("key_id"),
        or_(_table.c.last_used_at.is_(None), _table.c.last_used_at < _at),
    )
    .values(last_used_at=_at)
)


class KeyUses:
    """A thread-safe record of key uses not yet written: key id -> latest use."""

    def __init__(self, max_keys: int = 10_000) -> None:
        self.max_keys = max_keys
        self._noted: dict[int, datetime] = {}  # the last use noted per key, written or not
        self._pending: dict[int, datetime] = {}
        self._lock = threading.Lock()

    def record(self, key_id: int, at: datetime, stored: datetime | None = None) -> None:
        """Notes a use, unless one was noted (or `stored` in the key's row) within a minute."""
        with self._lock:
            last = self._noted.get(key_id)
            if stored is not None and (last is None or stored > last):
                last = stored
            if last is not None and at - last <= LAST_USED_RESOLUTION:
                return
            if len(self._noted) >= self.max_keys:
                self._noted.clear()  # forgetting only costs an extra write
            self._noted[key_id] = at
            self._pending[key_id] = at

    def pending(self) -> dict[int, datetime]:
        """A copy of the uses not yet written."""
        with self._lock:
            return dict(self._pending)

    def flush(self, sessions: Sessions) -> int:
        """Writes the pending uses in one transaction and returns how many; on failure logs,
        keeps them for the next round and returns 0 (never raises: it is bookkeeping)."""
        with self._lock:
            batch, self._pending = self._pending, {}
        if not batch:
            return 0
        rows = [{"key_id": key_id, "used_at": at} for key_id, at in batch.items()]
        try:
            with sessions() as session:
                session.connection().execute(_WRITE_USE, rows)
                session.commit()
        except Exception:
            logger.exception("writing the last use of %d API keys failed; retrying", len(batch))
            with self._lock:
                for key_id, at in batch.items():
                    newer = self._pending.get(key_id)
                    if newer is None or newer < at:
                        self._pending[key_id] = at
            return 0
        return len(batch)

    @asynccontextmanager
    async def flushing(self, sessions: Callable[[], Sessions], every: float) -> AsyncIterator[None]:
        """While open, flushes every `every` seconds in a worker thread, and once more at the
        end. `sessions` is looked up at each flush (tests replace the app's sessions)."""

        async def flush() -> None:
            await anyio.to_thread.run_sync(self.flush, sessions())

        async def rounds() -> None:
            while True:
                await asyncio.sleep(every)
                await flush()

        task = asyncio.create_task(rounds())
        try:
            yield
        finally:
            task.cancel()  # a flush under way finishes first: its thread is not abandoned
            with suppress(asyncio.CancelledError):
                await task
            await flush()
