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

from app.concerns.readmodel import ConcernReadModel, request_alias
from app.core.rendered import as_response

CONCERNS_PATH = re.compile(r"^/api/v1/zoos/([^/]+)/concerns$")
HEADER_MAX = 1000  # the route's limit on Accept and If-None-Match


class CachedConcernsMiddleware:
    def __init__(self, app: ASGIApp, concerns: ConcernReadModel) -> None:
        self.app = app
        self.concerns = concerns

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
        ref = match.group(1)
        alias = request_alias(ref, scope["query_string"], accept)
        rendered = await self.concerns.repeated(alias, if_none_match)
        if rendered is None:
            await self.app(scope, receive, send)
            return
        # What routing would have set, for the access log and the metrics' route template.
        scope["endpoint"] = self.concerns.zoo_list
        scope["path_params"] = {"zoo": ref}
        await as_response(rendered)(scope, receive, send)
