"""A real HTTP proxy in front of DynamoDB Local that makes BatchGetItem leave keys
unprocessed, cancels transactions on demand, and refuses the operations a role
was not granted (``denied``) as IAM does, with AccessDeniedException.

DynamoDB answers a BatchGetItem that exceeds its capacity with part of the
items in ``Responses`` and the rest of the keys in ``UnprocessedKeys``;
DynamoDB Local never does. This proxy forwards every request to the upstream endpoint and,
for the first ``hold`` BatchGetItem answers (every one when ``hold`` is None),
moves every other returned item into ``UnprocessedKeys``, fixing up the
``Content-Length`` and ``x-amz-crc32`` headers botocore checks.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from tests.http_hop import JSON, QuietServer, forward, read_body, reply


class UnprocessingProxy:
    def __init__(self, upstream: str, hold: int | None = 0) -> None:
        target = urlsplit(upstream)
        self.upstream = (target.hostname or "127.0.0.1", target.port or 80)
        self.hold = hold
        self.keys_requested: list[int] = []  # keys asked for by each BatchGetItem, in order
        self.conflicts = 0  # TransactWriteItems calls still to refuse with TransactionConflict
        self.transactions = 0  # TransactWriteItems calls seen
        self.denied: set[str] = set()  # operations refused with AccessDeniedException
        self._held = 0
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.proxy = self
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,))
        host, port = self._server.server_address[:2]
        self.url = f"http://{host!s}:{port}"

    @property
    def batch_gets(self) -> int:
        return len(self.keys_requested)

    def __enter__(self) -> UnprocessingProxy:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def batch_get(self, request: bytes, reply: bytes) -> bytes:
        """Record the request's key count; hold back part of the reply while told to."""
        asked: dict[str, Any] = json.loads(request)["RequestItems"]
        with self._lock:
            self.keys_requested.append(sum(len(t["Keys"]) for t in asked.values()))
            if self.hold is not None and self._held >= self.hold:
                return reply
            self._held += 1
        out: dict[str, Any] = json.loads(reply)
        unprocessed: dict[str, Any] = out.setdefault("UnprocessedKeys", {})
        for table, items in out.get("Responses", {}).items():
            out["Responses"][table] = items[1::2]
            if moved := items[0::2]:
                keys = unprocessed.setdefault(table, {"Keys": []})["Keys"]
                keys.extend({"pk": item["pk"]} for item in moved)
        return json.dumps(out).encode()

    def conflict(self, request: bytes) -> bytes | None:
        """A TransactionConflict cancellation while ``conflicts`` lasts, else None."""
        with self._lock:
            self.transactions += 1
            if self.conflicts <= 0:
                return None
            self.conflicts -= 1
        count = len(json.loads(request)["TransactItems"])
        reasons = [{"Code": "TransactionConflict", "Message": "in use"}] + [{"Code": "None"}] * (
            count - 1
        )
        return json.dumps(
            {
                "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
                "Message": "Transaction cancelled, please refer cancellation reasons",
                "CancellationReasons": reasons,
            }
        ).encode()


def access_denied(operation: str) -> bytes:
    """What DynamoDB answers a role that lacks the action."""
    return json.dumps(
        {
            "__type": "com.amazon.coral.service#AccessDeniedException",
            "Message": f"User: arn:aws:sts::123456789012:assumed-role/zebros-api/fn is not"
            f" authorized to perform: dynamodb:{operation}",
        }
    ).encode()


class _Server(QuietServer):
    proxy: UnprocessingProxy


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_POST(self) -> None:
        body = read_body(self)
        proxy = self.server.proxy
        target = self.headers.get("X-Amz-Target", "")
        if target.rsplit(".", 1)[-1] in proxy.denied:
            reply(self, 400, JSON, access_denied(target.rsplit(".", 1)[-1]))
            return
        refused = proxy.conflict(body) if target.endswith(".TransactWriteItems") else None
        if refused is not None:
            reply(self, 400, JSON, refused)
            return
        status, headers, answer = forward(proxy.upstream, self, body)
        if status == 200 and target.endswith(".BatchGetItem"):
            answer = proxy.batch_get(body, answer)
        reply(self, status, headers, answer)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests read the proxy's counters, not its log."""
