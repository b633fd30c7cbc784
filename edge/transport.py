"""Methods and content type, checked before anything reads the request.

CSRF defence in depth: a browser sends a cross-site POST without a CORS
preflight only with a form or ``text/plain`` body, so a POST must be
``application/json``. Only GET and POST are served; no websocket (there are
no subscriptions, and a websocket would pass by the gate).
"""

from __future__ import annotations

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Receive, Scope, Send

from edge.envelope import bad_request

JSON = "application/json"
METHODS = ("GET", "POST")


class Transport:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] not in METHODS:
            message = "GraphQL only supports GET and POST requests"
            await bad_request(message, 405, {"Allow": ", ".join(METHODS)})(scope, receive, send)
        elif scope["method"] == "POST" and media_type(scope) != JSON:
            message = f"a POST must have Content-Type: {JSON}"
            await bad_request(message, 415)(scope, receive, send)
        else:
            await self.app(canonical(scope), receive, send)


def media_type(scope: Scope) -> str:
    """The media type of the body, without parameters, lowercased (RFC 9110: case-insensitive)."""
    return Headers(scope=scope).get("content-type", "").split(";")[0].strip().lower()


def canonical(scope: Scope) -> Scope:
    """The request with its media type lowercased, parameters kept: Strawberry
    matches ``application/json`` case-sensitively and would refuse ``Application/JSON``."""
    if "content-type" not in Headers(scope=scope):
        return scope
    copy = dict(scope)
    headers = MutableHeaders(scope=copy)  # a copy of the header list, in ``copy``
    _, semicolon, parameters = headers["content-type"].partition(";")
    headers["content-type"] = media_type(scope) + semicolon + parameters
    return copy
