"""API key routes (admin): issue, list, revoke. The secret is shown once, at creation."""

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from app.api.deps import AdminDep, IdPath, PageDep, ReadSessionDep, WriteSessionDep
from app.api.guard import GuardedRoute
from app.core.problem_docs import WRITE_ERRORS, problem_responses
from app.models import ApiKey
from app.models.api_key import ApiKeyCreate, ApiKeyCreated, ApiKeyPublic
from app.models.page import Page
from app.services import api_keys as api_key_service
from app.services.api_keys import KeySort

router = APIRouter(prefix="/keys", tags=["keys"], route_class=GuardedRoute)


@router.post(
    "",
    name="keys_create",
    response_model=ApiKeyCreated,
    status_code=status.HTTP_201_CREATED,
    summary="Issue an API key",
    responses=problem_responses(404, 422, *WRITE_ERRORS),
)
def create_key(
    session: WriteSessionDep, actor: AdminDep, key_in: ApiKeyCreate, response: Response
) -> ApiKeyCreated:
    """Issues a key with a role and, optionally, the zoos it is limited to. The response is the
    only time the secret key is shown; only its SHA-256 hash is stored. A key limited to some
    zoos may issue only keys limited to some of those zoos (403 otherwise, `zoos` omitted
    included)."""
    key, token = api_key_service.create(session=session, key_in=key_in, actor=actor)
    response.headers["Location"] = f"/api/v1/keys/{key.id}"
    response.headers["Cache-Control"] = "no-store"
    return ApiKeyCreated.model_validate(key.model_dump() | {"key": token})


@router.get(
    "",
    name="keys_list",
    response_model=Page[ApiKeyPublic],
    summary="List API keys",
    responses=problem_responses(401, 403, 422),
)
def list_keys(
    session: ReadSessionDep,
    actor: AdminDep,
    page: PageDep,
    include_revoked: Annotated[bool, Query(description="Include revoked keys.")] = False,
    sort: Annotated[
        KeySort,
        Query(
            description="`field` ascending or `-field` descending, missing times last; ties by "
            "id, newest first."
        ),
    ] = KeySort.id_desc,
) -> Page[ApiKey]:
    """Keys newest first unless sorted, with their prefix, role and zoos; never a secret or a
    hash. A key limited to some zoos sees only keys limited to some of those zoos."""
    items, total = api_key_service.list_keys(
        session=session,
        actor=actor,
        include_revoked=include_revoked,
        sort=sort,
        limit=page.limit,
        offset=page.offset,
    )
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get(
    "/{key_id}",
    name="keys_get",
    response_model=ApiKeyPublic,
    summary="Get an API key",
    responses=problem_responses(401, 403, 404, 422),
)
def get_key(session: ReadSessionDep, actor: AdminDep, key_id: IdPath) -> ApiKeyPublic:
    """One key's record, without its secret; a key outside the caller's zoos is a 404."""
    key = api_key_service.get(session=session, key_id=key_id, actor=actor)
    return ApiKeyPublic.model_validate(key)


@router.post(
    "/{key_id}/revoke",
    name="keys_revoke",
    response_model=ApiKeyPublic,
    summary="Revoke an API key",
    responses=problem_responses(404, 409, 422, *WRITE_ERRORS),
)
def revoke_key(session: WriteSessionDep, actor: AdminDep, key_id: IdPath) -> ApiKeyPublic:
    """Revokes a key at once; requests with it are refused with 401 from then on. A key outside
    the caller's zoos is a 404."""
    key = api_key_service.get(session=session, key_id=key_id, actor=actor)
    return ApiKeyPublic.model_validate(
        api_key_service.revoke(session=session, key=key, actor=actor)
    )
