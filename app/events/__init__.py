"""Events: the change feed. Every write that changes what the registry publishes appends an
event to the outbox in its own transaction (app/events/outbox.py, app/events/hook.py); one
sequencer gives committed events their feed positions (app/events/feed.py).

Depends on app.core and app.models only. The rest of the app imports this module, `outbox`
(for writes the flush hook cannot see) and `feed`.
"""

# Installs the flush hook on the Session class, as app.concerns does its own.
from app.events import hook as _hook  # noqa: F401
from app.events.feed import EventFeed, decode_cursor, encode_cursor
from app.events.outbox import EventType

__all__ = ["EventFeed", "EventType", "decode_cursor", "encode_cursor"]
