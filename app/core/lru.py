"""A size-bounded LRU map, kept per process: the rendered concern lists (keyed by what they
depend on, app/concerns/lists.list_key) and the rendered pages (app/pages)."""

import threading
from collections import OrderedDict
from typing import Any


class LRUCache:
    """A thread-safe LRU map bounded by the total size of its values (rendered bodies)."""

    def __init__(self, max_bytes: int) -> None:
        self._data: OrderedDict[Any, tuple[Any, int]] = OrderedDict()
        self._lock = threading.Lock()
        self.max_bytes = max_bytes
        self.size = 0

    def get(self, key: Any) -> Any | None:
        with self._lock:
            entry = self._data.get(key)
            if entry is None:
                return None
            self._data.move_to_end(key)
            return entry[0]

    def put(self, key: Any, value: Any, *, size: int) -> None:
        if size > self.max_bytes:
            return
        with self._lock:
            old = self._data.pop(key, None)
            if old is not None:
                self.size -= old[1]
            self._data[key] = (value, size)
            self.size += size
            while self.size > self.max_bytes:
                _, (_, evicted) = self._data.popitem(last=False)
                self.size -= evicted
