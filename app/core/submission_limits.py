"""The per-address budget of public submissions (ZWR_SUBMISSION_RATE_LIMIT), on the same
`limits` store as every other budget (app/core/ratelimit.py; Redis across servers)."""

import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.storage import Storage
from limits.strategies import FixedWindowRateLimiter

from app.core.errors import TooManyRequests

NAMESPACE = "submissions"


@dataclass(frozen=True)
class SubmissionBudget:
    """What is left of an address's budget, as RateLimit-* headers (as the writes' Budget)."""

    limit: int
    remaining: int
    reset: int

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset),
        }


class SubmissionLimit:
    """Public submissions per client address (the address as app/core/clients.py finds it:
    X-Forwarded-For only from a trusted proxy)."""

    def __init__(self, rate: str, storage: Storage) -> None:
        self.rate = rate
        self._item: RateLimitItem = parse(rate)
        self._limiter = FixedWindowRateLimiter(storage)

    def hit(self, address: str) -> SubmissionBudget:
        """Counts one submission from the address; raises TooManyRequests once over."""
        allowed = self._limiter.hit(self._item, NAMESPACE, address)
        stats = self._limiter.get_window_stats(self._item, NAMESPACE, address)
        reset = max(1, math.ceil(stats.reset_time - time.time()))
        budget = SubmissionBudget(int(self._item.amount), stats.remaining, reset)
        if not allowed:
            raise TooManyRequests(
                f"Public submissions are limited to {self.rate} per address; try again in "
                f"{reset} s.",
                retry_after=reset,
                headers=budget.headers(),
            )
        return budget
