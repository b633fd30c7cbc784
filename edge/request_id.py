"""The request id: the client's ``X-Request-Id`` when well formed, else a fresh one.

Outermost layer, so every response of /graphql carries it in ``x-request-id``,
refusals included; the same id is ``extensions.requestId`` of masked errors
and names the request in the log.
"""

from __future__ import annotations

import re
import uuid

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = "x-request-id"
WELL_FORMED = re.compile(r"[A-Za-z0-9._-]{1,64}")
STATE_KEY = "zebros.request_id"


class RequestId:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = Headers(scope=scope).get(HEADER, "")
        value = given if WELL_FORMED.fullmatch(given) else uuid.uuid4().hex
        scope.setdefault("state", {})[STATE_KEY] = value

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[HEADER] = value
            await send(message)

        await self.app(scope, receive, sending)


def request_id(scope: Scope) -> str:
    """This request's id ("-" outside the RequestId layer, which a test app may be)."""
    return str(scope.get("state", {}).get(STATE_KEY, "-"))
