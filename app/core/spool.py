"""A response body made by blocking work in a worker thread at the work's own pace, buffered in
a temporary file, and sent at the client's pace: a slow reader holds a file and its socket,
never the database slot or the transaction the work holds while it runs (SECURITY.md, API4).

The work runs under `slot` (an admission slot), from the first chunk to the last, then gives
it back however much the client has still to read. A client that goes away stops the work at
its next chunk.
"""

import asyncio
import contextlib
import os
import tempfile
import threading
from collections.abc import AsyncIterator, Callable, Generator
from contextlib import AbstractAsyncContextManager
from typing import IO

import anyio

READ_SIZE = 256 * 1024

Chunks = Generator[bytes, None, None]


class _Spool:
    """The file the work appends to, and how far it got; one writer (the work's thread), one
    reader (the response, on the event loop)."""

    def __init__(self, chunks: Chunks, file: IO[bytes]) -> None:
        self.chunks = chunks
        self.file = file
        self.written = 0
        self.done = False
        self.error: BaseException | None = None
        self.stop = threading.Event()
        self.wake = asyncio.Event()
        self._loop = asyncio.get_running_loop()

    def _notify(self) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody is waiting
            self._loop.call_soon_threadsafe(self.wake.set)

    def produce(self) -> None:
        """Runs the work in a worker thread, appending each chunk to the file."""
        fd = self.file.fileno()
        try:
            for chunk in self.chunks:
                if self.stop.is_set():
                    break
                view = memoryview(chunk)
                while view:
                    view = view[os.write(fd, view) :]
                self.written += len(chunk)
                self._notify()
            self.chunks.close()  # the work's own cleanup (its transaction ends) when stopped
        except Exception as exc:  # given to the reader, which ends the response with it
            self.error = exc
        finally:
            self.done = True
            self._notify()

    def read(self, offset: int) -> bytes:
        return os.pread(self.file.fileno(), min(READ_SIZE, self.written - offset), offset)


async def spooled(
    chunks: Chunks,
    slot: Callable[[], AbstractAsyncContextManager[None]],
    *,
    head: bytes = b"",
) -> AsyncIterator[bytes]:
    """`head` (made without the database, sent before a slot is free), then the chunks, as a
    response body. The work holds `slot` from its first chunk to its last."""
    with tempfile.TemporaryFile() as file:
        spool = _Spool(chunks, file)

        async def work() -> None:
            async with slot():
                await anyio.to_thread.run_sync(spool.produce)

        task = asyncio.create_task(work())  # begins while the head is sent
        sent = 0
        try:
            if head:
                yield head
            while True:
                spool.wake.clear()
                if sent < spool.written:
                    data = spool.read(sent)  # just written: from the page cache
                    sent += len(data)
                    yield data
                elif spool.done:
                    if spool.error is not None:
                        raise spool.error
                    return
                else:
                    await spool.wake.wait()
        finally:
            spool.stop.set()  # a client gone: the work stops at its next chunk
            with anyio.CancelScope(shield=True):
                await task
