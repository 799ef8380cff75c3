"""The per-address budget of public submissions (ZWR_SUBMISSION_RATE_LIMIT), on the same
`limits` store as every other budget (app/core/ratelimit.py; Redis across servers)."""

from limits.storage import Storage

from app.core.errors import TooManyRequests
from app.core.ratelimit import Budget, Limit

NAMESPACE = "submissions"


class SubmissionLimit:
    """Public submissions per client address (the address as app/core/clients.py finds it:
    X-Forwarded-For only from a trusted proxy)."""

    def __init__(self, rate: str, storage: Storage) -> None:
        self.rate = rate
        self._limit = Limit(rate, storage, NAMESPACE)

    def hit(self, address: str) -> Budget:
        """Counts one submission from the address; raises TooManyRequests once over."""
        budget, retry_after = self._limit.spend(address)
        if retry_after is not None:
            raise TooManyRequests(
                f"Public submissions are limited to {self.rate} per address; try again in "
                f"{retry_after} s.",
                retry_after=retry_after,
                headers=budget.headers(),
            )
        return budget
