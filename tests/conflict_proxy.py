"""A real HTTP proxy in front of DynamoDB Local that refuses writes the way DynamoDB does.

DynamoDB runs transactions optimistically: while a TransactWriteItems is in
progress on an item, another transaction touching that item is cancelled with
``TransactionConflict``, and a single-item write on it fails with
``TransactionConflictException`` (the DynamoDB developer guide, "Transaction
conflict handling"). DynamoDB Local never does: it runs one request at a time,
so concurrent writers there never collide and contention code is never
exercised. This proxy forwards every request and keeps DynamoDB's rule: it
holds the keys of each write while the write is upstream (plus ``hold``
seconds, the network round trip a real table adds), and answers a write that
needs a held key with DynamoDB's own error, as DynamoDB would. Nothing else is
changed; reads pass straight through.

It runs in a process of its own (``Proxy``): in the test's process its threads
would share one interpreter lock with the application under test, and the
contention measured would be the proxy's.
"""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from tests.http_hop import JSON, QuietServer, forward, read_body, reply

Key = tuple[str, str, str]  # table, pk, sk ("" when the table has none)
_CANCELLED = "com.amazonaws.dynamodb.v20120810#TransactionCanceledException"
_CONFLICT = "com.amazonaws.dynamodb.v20120810#TransactionConflictException"
ONGOING = "Transaction is ongoing for the item"


def _key(table: str, key: dict[str, Any]) -> Key:
    def value(name: str) -> str:
        return str(next(iter(key[name].values()))) if name in key else ""

    return table, value("pk"), value("sk")


def write_keys(target: str, body: dict[str, Any]) -> list[Key]:
    """The items a write request touches, in order (one per transaction item)."""
    if target == "TransactWriteItems":
        keys = []
        for entry in body["TransactItems"]:
            ((kind, op),) = entry.items()
            keys.append(_key(op["TableName"], op["Item"] if kind == "Put" else op["Key"]))
        return keys
    if target == "PutItem":
        return [_key(body["TableName"], body["Item"])]
    if target in ("UpdateItem", "DeleteItem"):
        return [_key(body["TableName"], body["Key"])]
    return []


class ConflictProxy:
    """The proxy itself, in the process that serves it."""

    def __init__(self, upstream: str, hold: float = 0.005) -> None:
        target = urlsplit(upstream)
        self.upstream = (target.hostname or "127.0.0.1", target.port or 80)
        self.hold = hold
        self._held: dict[Key, int] = {}
        self._lock = threading.Lock()
        self.writes = 0  # write requests seen
        self.refused = 0  # of those, answered with a conflict
        self.refused_on: dict[str, int] = {}  # what the refused ones met: table[:head]
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.proxy = self
        host, port = self._server.server_address[:2]
        self.url = f"http://{host!s}:{port}"

    def serve(self) -> None:
        print(self.url, flush=True)  # the parent reads where to connect
        self._server.serve_forever(0.02)

    def stats(self) -> bytes:
        with self._lock:
            stats = {"writes": self.writes, "refused": self.refused, "on": self.refused_on}
            return json.dumps(stats).encode()

    def take(self, keys: list[Key]) -> list[bool] | None:
        """Hold ``keys`` (None: done), or say which of them another write holds."""
        with self._lock:
            self.writes += 1
            busy = [k in self._held for k in keys]
            if any(busy):
                self.refused += 1
                for k in (k for k, held in zip(keys, busy, strict=True) if held):
                    kind = k[0].rsplit("-", 1)[-1] + (f":{k[2]}" if k[2].startswith("~") else "")
                    self.refused_on[kind] = self.refused_on.get(kind, 0) + 1
                return busy
            for k in keys:
                self._held[k] = self._held.get(k, 0) + 1
            return None

    def release(self, keys: list[Key]) -> None:
        time.sleep(self.hold)
        with self._lock:
            for k in keys:
                self._held[k] -= 1
                if not self._held[k]:
                    del self._held[k]


def refusal(target: str, busy: list[bool]) -> bytes:
    """DynamoDB's answer to a write that met a transaction in progress."""
    if target != "TransactWriteItems":
        return json.dumps(
            {"__type": _CONFLICT, "message": "Transaction is ongoing for the item"}
        ).encode()
    reasons = [
        {"Code": "TransactionConflict", "Message": ONGOING} if held else {"Code": "None"}
        for held in busy
    ]
    message = "Transaction cancelled, please refer cancellation reasons for specific reasons"
    return json.dumps(
        {"__type": _CANCELLED, "Message": message, "CancellationReasons": reasons}
    ).encode()


class _Server(QuietServer):
    proxy: ConflictProxy


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_GET(self) -> None:
        reply(self, 200, JSON, self.server.proxy.stats())

    def do_POST(self) -> None:
        body = read_body(self)
        proxy, target = self.server.proxy, self.headers.get("X-Amz-Target", "").rsplit(".")[-1]
        keys = write_keys(target, json.loads(body or b"{}"))
        busy = proxy.take(keys) if keys else None
        if busy is not None:
            reply(self, 400, JSON, refusal(target, busy))
            return
        try:
            answer = forward(proxy.upstream, self, body)
        finally:
            if keys:
                proxy.release(keys)
        reply(self, *answer)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests read the proxy's counters, not its log."""


class Proxy:
    """A ConflictProxy in a child process, for ``with``: its url and its counters."""

    def __init__(self, upstream: str, hold: float = 0.005) -> None:
        self._command = [sys.executable, "-m", "tests.conflict_proxy", upstream, str(hold)]
        self._process: subprocess.Popen[str] | None = None
        self.url = ""

    def __enter__(self) -> Proxy:
        self._process = subprocess.Popen(self._command, stdout=subprocess.PIPE, text=True)
        assert self._process.stdout is not None
        self.url = self._process.stdout.readline().strip()
        if not self.url.startswith("http://"):
            raise RuntimeError(f"the conflict proxy did not start: {self.url!r}")
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)
            if self._process.stdout is not None:
                self._process.stdout.close()

    def counts(self) -> tuple[int, int]:
        """(writes seen, writes refused) so far."""
        found = self.stats()
        return int(found["writes"]), int(found["refused"])

    def stats(self) -> dict[str, Any]:
        """The counts, and per kind of item (table, ``:~head`` for a head) the refusals."""
        target = urlsplit(self.url)
        conn = http.client.HTTPConnection(target.hostname or "", target.port or 80, timeout=10)
        try:
            conn.request("GET", "/__stats")
            found: dict[str, Any] = json.loads(conn.getresponse().read())
        finally:
            conn.close()
        return found


if __name__ == "__main__":
    ConflictProxy(sys.argv[1], float(sys.argv[2])).serve()
