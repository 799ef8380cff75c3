"""Repeated concern-list requests answered before routing.

A cached concern list is cheap to find, but the framework's routing, parameter parsing and
dependency solving cost several times a small response's own work. A request whose exact
bytes (zoo, query string, Accept) were answered before is answered again here, like a caching
proxy in front of the app, after the same freshness check the route makes: the zoo's
concern_version read after the request arrived. Anything else goes on to the route, which
validates it and answers errors.
"""

import re

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from app.api.routes.concerns import as_response, zoo_concerns
from app.services import concerns as concern_service

CONCERNS_PATH = re.compile(r"^/api/v1/zoos/([^/]+)/concerns$")
HEADER_MAX = 1000  # the route's limit on Accept and If-None-Match


class CachedConcernsMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = (
            CONCERNS_PATH.match(scope["path"])
            if scope["type"] == "http" and scope["method"] == "GET"
            else None
        )
        if match is None:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if "authorization" in headers:
            # A key must be checked (a bad one is a 401): that is the route's work.
            await self.app(scope, receive, send)
            return
        accept, if_none_match = headers.get("accept"), headers.get("if-none-match")
        if len(accept or "") > HEADER_MAX or len(if_none_match or "") > HEADER_MAX:
            await self.app(scope, receive, send)
            return
        state = scope["app"].state
        ref = match.group(1)
        rendered = await concern_service.cached_response(
            sessions=state.read_sessions,
            stamps=state.zoo_stamps,
            cache=state.concern_cache,
            alias=concern_service.request_alias(ref, scope["query_string"], accept),
            if_none_match=if_none_match,
        )
        if rendered is None:
            await self.app(scope, receive, send)
            return
        # What routing would have set: the access log and metrics label by route template.
        scope["endpoint"] = zoo_concerns
        scope["path_params"] = {"zoo": ref}
        await as_response(rendered)(scope, receive, send)
