"""What every API route does before its own parameters are read: authenticate and authorise
the caller, refuse unknown query parameters, and refuse JSON bodies with duplicate keys.

FastAPI reads and parses the body before it solves a route's dependencies, and solves them in
the order of the route's parameters; an auth dependency alone would let a bad key with a
broken body get a 422, or a 404 before its 401. `GuardedRoute` runs the key check first, for
every route of the API router, so a missing or bad key is a 401 (and a wrong role a 403)
whatever the rest of the request holds. The dependencies `require_role` and `optional_key`
then only hand out the key found here.

It also admits the route to the database (app/core/admission.py): the key's read takes a slot
for that read; a route with a session dependency takes one for as long as its session is open
(app/api/sessions.py), of the kind it declares; a route without one may reach the database by
hand (the concern routes, through the read model app.state.concerns, ConcernsDep), so it
holds a slot throughout.
"""

import json
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from app.api.sessions import KIND_STATE, DeclaredSession, SessionKind, request_session
from app.core.errors import TooManyRequests, Unauthorized, Unprocessable, field_error
from app.core.ratelimit import Budget
from app.models.api_key import ApiKey, Role
from app.services import api_keys as api_key_service
from app.services.access import ensure_role

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
KEY_STATE = "api_key"
BUDGET_STATE = "write_budget"


@dataclass(frozen=True)
class Requirement:
    """A route's need of a key: its role, and whether the key may come from the key cache
    (only where the write itself re-checks that the key is not revoked: report_writes)."""

    role: Role
    cached: bool = False


def requirement_of(dependant: Dependant) -> Requirement | None:
    """The strictest requirement among a route's dependencies (marked by `require_role`)."""
    found = [
        r
        for d in _walk(dependant)
        if isinstance(r := getattr(d.call, "requirement", None), Requirement)
    ]
    return max(found, key=lambda r: r.role.rank) if found else None


def _walk(dependant: Dependant) -> Iterator[Dependant]:
    for sub in dependant.dependencies:
        yield sub
        yield from _walk(sub)


def declared_session(dependant: Dependant, path: str) -> SessionKind | None:
    """The session kind a route names (ReadSessionDep or WriteSessionDep), if it names one."""
    kinds = {d.call.kind for d in _walk(dependant) if isinstance(d.call, DeclaredSession)}
    if len(kinds) > 1:  # one session per request: it cannot be both
        raise TypeError(f"{path} names both a read and a write session")
    return kinds.pop() if kinds else None


def opens_session(dependant: Dependant) -> bool:
    return any(d.call is request_session for d in _walk(dependant))


def query_names(dependant: Dependant) -> frozenset[str]:
    names = {f.alias for f in dependant.query_params}
    for sub in _walk(dependant):
        names.update(f.alias for f in sub.query_params)
    return frozenset(names)


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Send the API key as Authorization: Bearer <key>.")
    return token.strip()


def _client(request: Request) -> str:
    return request.scope.get("state", {}).get("client_address") or (
        request.client.host if request.client else "unknown"
    )


async def admit(request: Request, requirement: Requirement | None) -> ApiKey | None:
    """Authenticates the key sent, if any, and checks it against the route's requirement;
    counts writes against the key's budget and failures against the client address's."""
    state = request.app.state
    try:
        token = bearer_token(request)
        if token is None:
            if requirement is not None:
                raise Unauthorized("This needs an API key: send Authorization: Bearer <key>.")
            return None
        key = await _authenticate(request, token, requirement)
    except Unauthorized:
        retry_after = state.client_limits.auth_failures.hit(_client(request))
        if retry_after is not None:
            raise TooManyRequests(
                f"Too many failed authentications from this address; try again in {retry_after} s.",
                retry_after=retry_after,
            ) from None
        raise
    if requirement is not None:
        ensure_role(key, requirement.role)
        if request.method not in SAFE_METHODS:
            budget = state.rate_limiter.hit(key.id)
            request.scope.setdefault("state", {})[BUDGET_STATE] = budget
    return key


async def _authenticate(request: Request, token: str, requirement: Requirement | None) -> ApiKey:
    state = request.app.state
    keys: api_key_service.KeyCache = state.key_cache
    if requirement is not None and requirement.cached:
        known = keys.lookup(token)
        if known is not None:
            return known

    def read() -> ApiKey:
        with state.read_sessions() as session:
            return api_key_service.authenticate(session=session, token=token, uses=state.key_uses)

    async with state.admission.slot(request.scope):
        key = await run_in_threadpool(read)
    keys.remember(token, key)
    return key


class DuplicateKey(ValueError):
    pass


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for name, value in pairs:
        if name in seen:
            raise DuplicateKey(name)
        seen[name] = value
    return seen


async def _check_json_body(request: Request) -> None:
    content_type = request.headers.get("content-type", "")
    if "json" not in content_type:
        return
    body = await request.body()
    if not body:
        return
    try:
        json.loads(body, object_pairs_hook=_refuse_duplicates)
    except DuplicateKey as exc:
        message = f"The key '{str(exc)[:80]}' appears more than once in one JSON object."
        raise Unprocessable(
            message, errors=[field_error(["body"], message, "json_invalid")]
        ) from None
    except ValueError:
        return  # not JSON at all: the route's own parsing answers that


class GuardedRoute(APIRoute):
    """An APIRoute that admits the caller's key before reading anything else (see above)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.requirement = requirement_of(self.dependant)
        self.query_names = query_names(self.dependant)
        self.has_body = self.body_field is not None
        self.session_kind = declared_session(self.dependant, self.path)
        self.opens_session = opens_session(self.dependant)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            if self.opens_session:
                return await checked(request)
            async with request.app.state.admission.slot(request.scope):
                return await checked(request)

        async def checked(request: Request) -> Response:
            state = request.scope.setdefault("state", {})
            state[KIND_STATE] = self.session_kind
            state[KEY_STATE] = await admit(request, self.requirement)
            unknown = sorted({n for n in request.query_params if n not in self.query_names})
            if unknown:
                names = ", ".join(f"'{n[:80]}'" for n in unknown[:10])
                raise Unprocessable(
                    f"Unknown query parameter{'s' if len(unknown) > 1 else ''}: {names}.",
                    errors=[
                        field_error(["query", n[:80]], "unknown query parameter", "extra_forbidden")
                        for n in unknown[:10]
                    ],
                )
            if self.has_body:
                await _check_json_body(request)
            response = await handle(request)
            budget: Budget | None = request.scope.get("state", {}).get(BUDGET_STATE)
            if budget is not None:
                response.headers.update(budget.headers())
            return response

        return guarded


def admitted_key(request: Request) -> ApiKey | None:
    """The key GuardedRoute admitted for this request (None: anonymous)."""
    state = request.scope.get("state", {})
    if KEY_STATE not in state:
        raise RuntimeError("the route is not a GuardedRoute: its key was never checked")
    key: ApiKey | None = state[KEY_STATE]
    return key
