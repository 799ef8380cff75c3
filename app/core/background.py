"""The loop every background worker runs: passes until stopped, a pause between them, a
failing pass logged and tried again (the database away), in a daemon thread or in front."""

import logging
import threading
from collections.abc import Callable

# A pass returns whether it did work, and may look at the stop event to end early.
Pass = Callable[[threading.Event], bool]


def run(
    work: Pass,
    stop: threading.Event,
    *,
    idle_s: Callable[[], float],
    busy_s: Callable[[], float],
    log: logging.Logger,
    name: str,
) -> None:
    """Passes until `stop` is set, waiting `busy_s()` after a pass that did work and `idle_s()`
    after one that did not (or failed)."""
    while not stop.is_set():
        try:
            busy = work(stop)
        except Exception:
            log.exception('{"worker": "%s", "error": "pass failed"}', name)
            busy = False
        stop.wait(busy_s() if busy else idle_s())


def start(loop: Callable[[threading.Event], None], name: str) -> Callable[[], None]:
    """Runs `loop(stop)` in a daemon thread; returns the function that stops it and waits."""
    stop = threading.Event()
    thread = threading.Thread(target=loop, args=(stop,), name=name, daemon=True)
    thread.start()

    def halt() -> None:
        stop.set()
        thread.join(timeout=30)

    return halt
