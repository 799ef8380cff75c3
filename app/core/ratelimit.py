"""Rate limits on the `limits` library: writes per API key, anonymous reads and failed
authentications per client address.

The default store is in-process (`memory://`), which is per worker. To share one budget across
workers and app servers, point ZWR_RATE_LIMIT_STORAGE at Redis (`redis://host:6379`), which the
`limits` library supports as is (install the `redis` extra). Every limit uses the same store.
"""

import math
import time
from dataclasses import dataclass
from typing import cast

from limits import RateLimitItem, parse
from limits.storage import Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter

from app.core.errors import TooManyRequests


def sync_storage(uri: str, key_prefix: str | None = None) -> Storage:
    """The store a URI names (`memory://`, `redis://...`), a Redis one's keys under
    `key_prefix`. The strategies here are synchronous, so it is a synchronous one:
    storage_from_string() is typed for the async+ schemes too."""
    options = {"key_prefix": key_prefix} if key_prefix and uri.startswith("redis") else {}
    return cast(Storage, storage_from_string(uri, **options))


@dataclass(frozen=True)
class Budget:
    """What is left of a budget, as the RateLimit-* response headers tell it (IETF draft
    "RateLimit header fields for HTTP")."""

    limit: int
    remaining: int
    reset: int  # seconds until the window starts over

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset),
        }


class Limit:
    """One named budget (`limits` notation, e.g. "60/minute") counted per identity."""

    def __init__(self, rate: str, storage: Storage, namespace: str) -> None:
        self.rate = rate
        self._item: RateLimitItem = parse(rate)
        self._limiter = FixedWindowRateLimiter(storage)
        self._namespace = namespace

    def hit(self, identity: str) -> int | None:
        """Counts one use; None while within the budget, else the seconds until it resets."""
        if self._limiter.hit(self._item, self._namespace, identity):
            return None
        return self.retry_after(identity)

    def spend(self, identity: str) -> tuple[Budget, int | None]:
        """Counts one use; what is left, and (once over the budget) the seconds to wait."""
        allowed = self._limiter.hit(self._item, self._namespace, identity)
        stats = self._limiter.get_window_stats(self._item, self._namespace, identity)
        reset = max(1, math.ceil(stats.reset_time - time.time()))
        budget = Budget(int(self._item.amount), stats.remaining, reset)
        return budget, None if allowed else reset

    def exhausted(self, identity: str) -> int | None:
        """Like `hit` without counting: the seconds to wait when the budget is spent."""
        if self._limiter.test(self._item, self._namespace, identity):
            return None
        return self.retry_after(identity)

    def retry_after(self, identity: str) -> int:
        stats = self._limiter.get_window_stats(self._item, self._namespace, identity)
        return max(1, math.ceil(stats.reset_time - time.time()))


class WriteRateLimiter:
    def __init__(self, rate: str, storage_uri: str | Storage) -> None:
        storage = sync_storage(storage_uri) if isinstance(storage_uri, str) else storage_uri
        self._limit = Limit(rate, storage, "writes")
        self.rate = rate

    def hit(self, key_id: int) -> Budget:
        """Counts one write for the key and returns what is left; raises TooManyRequests (with
        the RateLimit headers) once over the budget."""
        budget, retry_after = self._limit.spend(str(key_id))
        if retry_after is not None:
            raise TooManyRequests(
                f"This key is limited to {self.rate} writes; try again in {retry_after} s.",
                retry_after=retry_after,
                headers=budget.headers(),
            )
        return budget


class ClientLimits:
    """The per-address budgets: anonymous reads, and failed authentications."""

    def __init__(self, *, read_rate: str, auth_failure_rate: str, storage: Storage) -> None:
        self.reads = Limit(read_rate, storage, "reads")
        self.auth_failures = Limit(auth_failure_rate, storage, "auth-failures")
