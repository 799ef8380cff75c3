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


def may_manage_key(actor: ApiKey, zoo_ids: list[int] | None) -> bool:
    """Whether `actor` may see or manage a key limited to `zoo_ids` (None: every zoo).

    An unscoped key manages every key; a scoped one only keys limited to some of its own
    zoos, never an unscoped key (that would hand out, or take away, more than it holds).
    """
    if actor.zoo_ids is None:
        return True
    return zoo_ids is not None and set(zoo_ids) <= set(actor.zoo_ids)


def ensure_may_issue_key(actor: ApiKey, zoo_ids: list[int] | None) -> None:
    """Raises Forbidden when a scoped key would issue a key reaching beyond its own zoos."""
    if may_manage_key(actor, zoo_ids):
        return
    if zoo_ids is None:
        raise Forbidden(
            f"This key is limited to zoos {actor.zoo_ids}; it may issue only keys limited to "
            "some of them: name them in `zoos`."
        )
    outside = sorted(set(zoo_ids) - set(actor.zoo_ids or []))
    raise Forbidden(
        f"This key is limited to zoos {actor.zoo_ids}; it may not issue keys for zoos {outside}."
    )
