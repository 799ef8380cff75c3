"""Authorization rules: what a key's role and zoo scope let it do."""

from app.core.errors import Forbidden
from app.models.api_key import ApiKey, Role


def ensure_role(key: ApiKey, role: Role) -> None:
    """Raises Forbidden unless the key's role includes the one required."""
    if not key.role.includes(role):
        raise Forbidden(f"This needs the {role.value} role; the key has {key.role.value}.")


def ensure_zoo_scope(key: ApiKey, zoo_id: int | None) -> None:
    """Raises Forbidden when a key limited to some zoos acts on another (or on no zoo)."""
    if not key.allows_zoo(zoo_id):
        where = f"zoo {zoo_id}" if zoo_id is not None else "records that belong to no zoo"
        raise Forbidden(f"This key is limited to zoos {key.zoo_ids}; it may not act on {where}.")
