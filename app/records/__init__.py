"""Records over time: where each animal has been (movements.py). Installs its flush hook on
import. Depends on app.core and app.models only; the rest of the app imports this module."""

from app.records.movements import MOVEMENTS, transfer_note

__all__ = ["MOVEMENTS", "transfer_note"]
