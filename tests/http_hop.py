"""What the suite's HTTP proxies in front of a store share: forwarding one request
upstream, and answering with headers botocore checks (length, CRC32)."""

from __future__ import annotations

import http.client
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# Headers a hop sets itself (or that describe one hop only).
OWN = {"connection", "keep-alive", "transfer-encoding", "content-length", "x-amz-crc32",
       "host", "server", "date"}  # fmt: skip
JSON = [("Content-Type", "application/x-amz-json-1.0")]
Reply = tuple[int, list[tuple[str, str]], bytes]


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # many clients connect at once; the default backlog is 5

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client hanging up mid-keep-alive is not news."""


def forward(upstream: tuple[str, int], handler: BaseHTTPRequestHandler, body: bytes) -> Reply:
    """``handler``'s request, sent on to ``upstream`` as it came."""
    headers = {k: v for k, v in handler.headers.items() if k.lower() not in OWN}
    conn = http.client.HTTPConnection(*upstream, timeout=30)
    try:
        conn.request(handler.command, handler.path, body, headers)
        response = conn.getresponse()
        return response.status, response.getheaders(), response.read()
    finally:
        conn.close()


def reply(
    handler: BaseHTTPRequestHandler, status: int, headers: list[tuple[str, str]], body: bytes
) -> None:
    handler.send_response(status)
    for name, value in headers:
        if name.lower() not in OWN:
            handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.send_header("x-amz-crc32", str(zlib.crc32(body) & 0xFFFFFFFF))
    handler.end_headers()
    handler.wfile.write(body)


def read_body(handler: BaseHTTPRequestHandler) -> bytes:
    return handler.rfile.read(int(handler.headers.get("Content-Length", "0")))
