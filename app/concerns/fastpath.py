"""Repeated concern-list requests, and one animal's concerns, answered before routing.

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
ANIMAL_PATH = re.compile(r"^/api/v1/animals/([1-9][0-9]{0,9})/concerns$")
HEADER_MAX = 1000  # the route's limit on Accept and If-None-Match


class CachedConcernsMiddleware:
    def __init__(self, app: ASGIApp, concerns: ConcernReadModel) -> None:
        self.app = app
        self.concerns = concerns

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        match = CONCERNS_PATH.match(scope["path"])
        animal = None if match else ANIMAL_PATH.match(scope["path"])
        if match is None and animal is None:
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
        if match is not None:
            ref = match.group(1)
            alias = request_alias(ref, scope["query_string"], accept)
            rendered = await self.concerns.repeated(alias, if_none_match)
            # What routing would have set, for the access log and the metrics' route template.
            endpoint: object = self.concerns.zoo_list
            params = {"zoo": ref}
        elif animal is not None and not scope["query_string"]:
            rendered = await self.concerns.repeated_animal(int(animal.group(1)), if_none_match)
            endpoint = self.concerns.animal_answer
            params = {"animal_id": animal.group(1)}
        else:
            rendered = None
        if rendered is None:
            await self.app(scope, receive, send)
            return
        scope["endpoint"] = endpoint
        scope["path_params"] = params
        await as_response(rendered)(scope, receive, send)
