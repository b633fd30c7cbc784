"""The catch-all: whatever escapes the layers inside still gets the one error body.

Known errors keep their meaning in HTTP: a tenant the store does not serve is
401 UNAUTHENTICATED, a store that throttled or could not be reached is 503
UNAVAILABLE with ``Retry-After``. Anything else is 500 INTERNAL_SERVER_ERROR,
message masked; the traceback is logged under ``zebros.errors`` with the
request id, which the body carries in ``extensions.requestId``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from edge.envelope import INTERNAL, UNAUTHENTICATED, UNAVAILABLE, error_response
from edge.request_id import request_id

log = logging.getLogger("zebros.errors")
MASKED = "Internal server error"
# Codes a failure outside the resolvers can have; any other is a bug, masked.
KNOWN = {UNAUTHENTICATED, UNAVAILABLE}


class Translated(Protocol):
    """An error meant for the client (resolvers.errors.ApiError): its str is the message."""

    extensions: dict[str, Any]


class Errors:
    def __init__(
        self, app: ASGIApp, *, translate: Callable[[BaseException], Translated | None]
    ) -> None:
        self.app, self.translate = app, translate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception as exc:
            if started:
                raise  # too late for a body of ours: the server ends the connection
            await self.response(exc, request_id(scope))(scope, receive, send)

    def response(self, exc: Exception, request: str) -> Response:
        known = self.translate(exc)
        code = known.extensions.get("code") if known is not None else None
        if known is None or code not in KNOWN:
            log.error("request %s: unexpected error", request, exc_info=exc)
            return error_response(MASKED, {"code": INTERNAL, "requestId": request})
        if code == UNAVAILABLE:
            log.warning("request %s: store unavailable: %s", request, exc)
            return error_response(str(known), {**known.extensions, "requestId": request})
        return error_response(str(known), known.extensions)
