"""Every table model, imported here so Alembic and create_all see one metadata."""

from app.models.animal import Animal
from app.models.api_key import ApiKey
from app.models.country import Country
from app.models.enclosure import Enclosure
from app.models.event import Event, EventSequence
from app.models.gift import Gift
from app.models.idempotency import IdempotencyRecord
from app.models.incident import IncidentEvent, WelfareIncident
from app.models.listing import SpeciesStatus
from app.models.movement import AnimalMovement
from app.models.reply import IncidentReply
from app.models.report import WelfareReport
from app.models.species import Species
from app.models.stored_flag import (
    ConcernChange,
    ConcernSnapshot,
    DirtySubject,
    FlagsState,
    StoredFlag,
    StoredSubject,
)
from app.models.submission import Submission
from app.models.trade import TradeRecord
from app.models.webhook import Webhook, WebhookAttempt, WebhookDelivery
from app.models.zoo import Zoo

__all__ = [
    "Animal",
    "AnimalMovement",
    "ApiKey",
    "ConcernChange",
    "ConcernSnapshot",
    "Country",
    "DirtySubject",
    "Enclosure",
    "Event",
    "EventSequence",
    "FlagsState",
    "Gift",
    "IdempotencyRecord",
    "IncidentEvent",
    "IncidentReply",
    "Species",
    "SpeciesStatus",
    "StoredFlag",
    "StoredSubject",
    "Submission",
    "TradeRecord",
    "Webhook",
    "WebhookAttempt",
    "WebhookDelivery",
    "WelfareIncident",
    "WelfareReport",
    "Zoo",
]
