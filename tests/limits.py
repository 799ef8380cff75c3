"""Per-address budgets for tests: generous unless a test sets one."""

from fastapi import FastAPI
from limits.storage import storage_from_string

from app.core.ratelimit import ClientLimits

GENEROUS = "1000000/minute"


def set_client_limits(
    app: FastAPI, *, reads: str = GENEROUS, auth_failures: str = GENEROUS
) -> None:
    """Gives the app fresh per-address budgets (the middleware reads them at each request)."""
    app.state.client_limits = ClientLimits(
        read_rate=reads, auth_failure_rate=auth_failures, storage=storage_from_string("memory://")
    )
