"""Request bodies: at most ``max_bytes``, all in within ``read_timeout`` seconds.

A body the Content-Length declares too large is refused at once (HTTP 413),
unread; a streamed (chunked) one is read only up to the limit. The timeout
runs from the request's arrival to the body's last byte, whatever the pace,
so a body that trickles in (slowloris) holds a connection and a worker for
at most that long (HTTP 408). Both refusals close the connection: the rest
of the body is not worth reading. The body itself is read lazily, by the
view, so a request the gate or the rate limit refuses is never read at all.
"""

from __future__ import annotations

import asyncio

from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from edge.envelope import bad_request

CLOSE = {"Connection": "close"}


class BodyTooLarge(Exception):
    pass


class BodyTooSlow(Exception):
    pass


class BodyLimit:
    def __init__(self, app: ASGIApp, *, max_bytes: int, read_timeout: float) -> None:
        self.app, self.max_bytes, self.read_timeout = app, max_bytes, read_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if _declared(scope) > self.max_bytes:
            await self._refusal(BodyTooLarge())(scope, receive, send)
            return
        reader = _Reader(receive, self.max_bytes, self.read_timeout)
        try:
            await self.app(scope, reader, send)
        except (BodyTooLarge, BodyTooSlow) as exc:
            await self._refusal(exc)(scope, receive, send)

    def _refusal(self, exc: Exception) -> Response:
        if isinstance(exc, BodyTooLarge):
            return bad_request(f"the body is larger than {self.max_bytes} bytes", 413, CLOSE)
        return bad_request(f"the body took longer than {self.read_timeout:g} s", 408, CLOSE)


def _declared(scope: Scope) -> int:
    value = Headers(scope=scope).get("content-length", "")
    return int(value) if value.isdigit() else 0  # none, or not a number: counted as read


class _Reader:
    """``receive`` that counts the body's bytes and keeps the deadline."""

    def __init__(self, receive: Receive, max_bytes: int, timeout: float) -> None:
        self._receive, self._max = receive, max_bytes
        self._deadline = asyncio.get_running_loop().time() + timeout
        self._size, self._done = 0, False

    async def __call__(self) -> Message:
        if self._done:
            return await self._receive()  # after the body: a disconnect may take its time
        try:
            async with asyncio.timeout_at(self._deadline):
                message = await self._receive()
        except TimeoutError:
            raise BodyTooSlow from None
        if message["type"] == "http.request":
            self._size += len(message.get("body", b""))
            if self._size > self._max:
                raise BodyTooLarge
            self._done = not message.get("more_body", False)
        return message
