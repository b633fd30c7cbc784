"""The HTTP connection under the ASGI app: uvicorn's httptools protocol, bounded.

uvicorn bounds a connection's idle time only after a response (its keep-alive
timeout, which every byte received resets), and a request's head (request
line and headers) not at all: a client that connects and sends nothing, or a
header line every few seconds, held a connection without end (slowloris), and
20 MB of headers were read into memory. Here each request's head must arrive
within ``header_timeout`` seconds, counted from the connection's opening or
the previous response's end, whatever the pace, and within ``MAX_HEAD_BYTES``;
the body's own limits follow (``edge/body.py``). A connection that sent
nothing is closed silently, as an idle keep-alive one is; otherwise the refusal
(408, 414, 431, or 400 for what the parser refuses) is the one error body
(``edge/envelope.py``), not uvicorn's text/plain one.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from edge.envelope import BAD_REQUEST, body

HEADER_TIMEOUT = 10.0  # seconds, when the configuration names none
# The request line and headers, whole; a bearer token and the usual headers are a
# few KB, a GET's URL at most MAX_URL_BYTES (longer operations go by POST).
MAX_HEAD_BYTES = 128 * 1024
MAX_URL_BYTES = 65_535  # httptools' own limit: it cannot parse a longer URL
TOO_SLOW = "the request's headers took longer than {:g} s"
TOO_LARGE = f"the request's URL and headers are larger than {MAX_HEAD_BYTES} bytes"
LONG_URL = f"the URL is longer than {MAX_URL_BYTES} bytes: send the operation by POST"
# After a refusal the connection reads and drops what the client still sends for this
# long before it closes: closing with unread input makes the kernel send a reset,
# and the client then loses the answer (a lingering close, as HTTP servers do).
LINGER_SECONDS = 1.0


class ServeConfig(uvicorn.Config):
    """uvicorn's configuration, served by ``Connection`` with its head timeout.
    Picklable (``zebros serve --workers`` hands it to each worker process)."""

    def __init__(self, app: Any, *, header_timeout: float, **options: Any) -> None:
        super().__init__(app, http=Connection, **options)
        self.header_timeout = header_timeout


class Connection(HttpToolsProtocol):
    def __init__(self, config: uvicorn.Config, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        self.header_timeout: float = getattr(config, "header_timeout", HEADER_TIMEOUT)
        self._head_timer: asyncio.TimerHandle | None = None
        self._head_bytes = 0
        self._lingering = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._await_head()

    def data_received(self, data: bytes) -> None:
        if self._lingering:  # refused: the rest of the request is dropped unread
            return
        super().data_received(data)
        # Still waiting for the head: all of it was head (a chunk that ends the head
        # may carry a body too, and is not counted). So a head is kept up to the limit
        # plus one read (256 KiB).
        if self._head_timer is not None:
            self._head_bytes += len(data)
            if self._head_bytes > MAX_HEAD_BYTES:
                self._refuse(431, TOO_LARGE)

    def on_headers_complete(self) -> None:
        self._head_done()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        # A pipelined request already has its head: the next one's wait starts later.
        waiting = not self.pipeline
        super().on_response_complete()
        if waiting and not self.transport.is_closing():
            self._await_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self._head_done()
        super().connection_lost(exc)

    def send_400_response(self, msg: str) -> None:
        """The parser's refusal: a malformed request, or a URL httptools cannot parse."""
        if len(getattr(self, "url", b"")) > MAX_URL_BYTES:
            self._refuse(414, LONG_URL)
        else:
            self._refuse(400, msg)

    def _await_head(self) -> None:
        self._head_done()
        self._head_bytes = 0
        self._head_timer = self.loop.call_later(self.header_timeout, self._head_overdue)

    def _head_done(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_overdue(self) -> None:
        self._head_timer = None
        if self._head_bytes == 0:
            self.transport.close()  # idle: nothing to answer
        else:
            self._refuse(408, TOO_SLOW.format(self.header_timeout))

    def _refuse(self, status: int, message: str) -> None:
        self._head_done()
        if self.transport.is_closing():
            return
        payload = json.dumps(body(message, {"code": BAD_REQUEST})).encode()
        head = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            head += [name, b": ", value, b"\r\n"]
        head += [b"content-type: application/json\r\n", b"connection: close\r\n"]
        head += [b"content-length: %d\r\n\r\n" % len(payload)]
        self.transport.write(b"".join(head) + payload)
        if not self.transport.can_write_eof():
            self.transport.close()
            return
        self._lingering = True
        self.transport.write_eof()  # the answer ends here; the client may still be sending
        self.loop.call_later(LINGER_SECONDS, self.transport.close)
