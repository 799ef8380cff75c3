"""Zoo stamps: a zoo's identity and concern_version, read in shared batches for cached reads.

A cached concern list is current when the zoo's concern_version in the database is the one it
was rendered at. Reading that version is the only database work of a cache hit, so concurrent
hits share it: requests that arrive while a batch is being read wait for the next batch, and
one statement serves them all. Each request is answered from a read that started after it
arrived, so it sees every write committed before it arrived, on any worker or server.
"""

import asyncio
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import or_, select
from sqlmodel import Session, col
from starlette.concurrency import run_in_threadpool

from app.core.db import Sessions
from app.core.errors import NotFound
from app.models import Zoo
from app.models.zoo import parse_ref

K = TypeVar("K")
V = TypeVar("V")


@dataclass(frozen=True)
class ZooStamp:
    id: int
    slug: str
    created_at: datetime
    concern_version: int


def fetch(sessions: Sessions, refs: Sequence[str]) -> dict[str, ZooStamp]:
    """The stamps of the zoos named by id or slug, in one statement; unknown refs are left out."""
    with sessions() as session:
        return fetch_in(session, refs)


def fetch_in(session: Session, refs: Sequence[str]) -> dict[str, ZooStamp]:
    """`fetch` in a session the caller holds."""
    parsed = [parse_ref(r) for r in refs]
    ids = [r for r in parsed if isinstance(r, int)]
    slugs = [r for r in parsed if isinstance(r, str)]
    stmt = select(col(Zoo.id), col(Zoo.slug), col(Zoo.created_at), col(Zoo.concern_version)).where(
        or_(col(Zoo.id).in_(ids), col(Zoo.slug).in_(slugs))
    )
    rows = session.execute(stmt).all()
    stamps: dict[str, ZooStamp] = {}
    for row in rows:
        stamp = ZooStamp(row.id, row.slug, row.created_at, row.concern_version)
        stamps[str(row.id)] = stamps[row.slug] = stamp
    return stamps


class _Batches(Generic[K, V]):
    """The waiting requests of one event loop and whether a batch is being read."""

    def __init__(self) -> None:
        self.waiting: dict[K, list[asyncio.Future[V | None]]] = {}
        self.reader: asyncio.Task[None] | None = None


class SharedReads(Generic[K, V]):
    """Concurrent reads of `fetch` share its statements: a read waits for the next batch,
    and one call of `fetch(sessions, keys)` answers every key asked meanwhile (a key it
    leaves out reads as None)."""

    def __init__(self, fetch: Callable[[Sessions, list[K]], dict[K, V]]) -> None:
        self._fetch = fetch
        # One per event loop: a server has one loop; test clients each run their own.
        self._loops: weakref.WeakKeyDictionary[Any, _Batches[K, V]] = weakref.WeakKeyDictionary()

    async def get(self, key: K, sessions: Sessions) -> V | None:
        """`sessions` opens a read session (one app has one; the batch uses that of the
        request that started it)."""
        loop = asyncio.get_running_loop()
        batches = self._loops.get(loop)
        if batches is None:
            batches = self._loops[loop] = _Batches()
        future: asyncio.Future[V | None] = loop.create_future()
        batches.waiting.setdefault(key, []).append(future)
        if batches.reader is None:
            batches.reader = loop.create_task(self._read(batches, sessions))
        return await future

    async def _read(self, batches: _Batches[K, V], sessions: Sessions) -> None:
        try:
            while batches.waiting:
                batch, batches.waiting = batches.waiting, {}
                try:
                    found = await run_in_threadpool(self._fetch, sessions, list(batch))
                except Exception as exc:  # every waiter of this batch gets the error
                    for futures in batch.values():
                        for future in futures:
                            if not future.done():
                                future.set_exception(exc)
                    continue
                for key, futures in batch.items():
                    for future in futures:
                        if not future.done():
                            future.set_result(found.get(key))
        finally:
            batches.reader = None


class StampReader(SharedReads[str, ZooStamp]):
    def __init__(self) -> None:
        super().__init__(fetch)

    async def get_zoo(self, ref: str, sessions: Sessions) -> ZooStamp:
        """The zoo's current stamp, or NotFound."""
        stamp = await self.get(ref, sessions)
        if stamp is None:
            raise NotFound(f"No zoo with id or slug '{ref}'.")
        return stamp
