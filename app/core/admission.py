"""Admission to the database: at most `limit` requests at a time do database work, in order.

A request holds its pooled connection across several threadpool hops (its loaders, the route,
the session's close). With more requests holding sessions than there are connections, every
thread can end up waiting for a connection held by a request that is waiting for a thread: a
stall until the pool times out. So a slot is taken on the event loop, never in a thread,
before any database work: by the session dependencies (app/api/sessions.py) for as long as the
session is open, by the key check around its read (app/api/guard.py), and for the whole route
by a route that reaches the database by hand. A request that does no database work (refused
before routing, answered from the concern cache, a 422 of its query) takes no slot.
"""

import asyncio
import weakref
from collections.abc import AsyncIterator, MutableMapping
from contextlib import asynccontextmanager
from typing import Any

import anyio

# Set in a request's scope state while it holds a slot: a request takes one slot however many
# sessions or reads it nests, so it never waits for a slot it holds itself.
SLOT_STATE = "database_slot"


class Admission:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        # One per event loop: a server has one loop; test clients each run their own.
        self._semaphores: weakref.WeakKeyDictionary[Any, anyio.Semaphore] = (
            weakref.WeakKeyDictionary()
        )

    def _semaphore(self) -> anyio.Semaphore:
        loop = asyncio.get_running_loop()
        semaphore = self._semaphores.get(loop)
        if semaphore is None:
            semaphore = self._semaphores[loop] = anyio.Semaphore(self.limit)
        return semaphore

    @asynccontextmanager
    async def slot(self, scope: MutableMapping[str, Any] | None = None) -> AsyncIterator[None]:
        """`async with admission.slot(request.scope):` waits for a free slot, in order, and
        holds it for the block; a request that holds one already goes on with it."""
        state: dict[str, Any] | None = scope.setdefault("state", {}) if scope is not None else None
        if state is not None and state.get(SLOT_STATE):
            yield
            return
        async with self._semaphore():
            if state is not None:
                state[SLOT_STATE] = True
            try:
                yield
            finally:
                if state is not None:
                    state[SLOT_STATE] = False

    async def try_slot(self, timeout: float) -> bool:
        """Takes and at once gives back a slot; False when none came free within `timeout`."""
        with anyio.move_on_after(timeout):
            async with self._semaphore():
                return True
        return False
