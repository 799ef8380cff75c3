"""Write rate limits per API key, on the `limits` library.

The default store is in-process (`memory://`), which is per worker. To share one budget across
workers and app servers, point ZWR_RATE_LIMIT_STORAGE at Redis (`redis://host:6379`), which the
`limits` library supports as is (install the `redis` extra).
"""

import math
import time

from limits import parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from app.core.errors import TooManyRequests


class WriteRateLimiter:
    def __init__(self, rate: str, storage_uri: str) -> None:
        self._limit = parse(rate)
        self._limiter = FixedWindowRateLimiter(storage_from_string(storage_uri))
        self.rate = rate

    def hit(self, key_id: int) -> None:
        """Counts one write for the key; raises TooManyRequests once over the budget."""
        if self._limiter.hit(self._limit, "writes", str(key_id)):
            return
        reset_at = self._limiter.get_window_stats(self._limit, "writes", str(key_id)).reset_time
        retry_after = max(1, math.ceil(reset_at - time.time()))
        raise TooManyRequests(
            f"This key is limited to {self.rate} writes; try again in {retry_after} s.",
            retry_after=retry_after,
        )
