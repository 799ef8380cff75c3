"""Concerns: which animals and enclosures we worry about, and why. Rules evaluated in SQL,
their flags stored per zoo and kept fresh, read through one object (ConcernReadModel).

Depends on app.core and app.models only. Its public face is what this module exports; the
rest of the app imports nothing else from the package, except the write fragment
(app.concerns.fragment) for the one-statement report write.
"""

# Installs the write hook on the Session class: whatever imports the package (the app, the
# CLI, the seed) has every session's writes invalidate the concern lists they change.
from app.concerns import hook as _hook  # noqa: F401
from app.concerns.lists import Filters
from app.concerns.readmodel import ConcernReadModel, ListRequest, RequestAlias, request_alias
from app.concerns.worker import ConcernWorker

__all__ = [
    "ConcernReadModel",
    "ConcernWorker",
    "Filters",
    "ListRequest",
    "RequestAlias",
    "request_alias",
]
