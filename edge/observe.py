"""Each request measured and logged: one JSON line, the metrics, the DynamoDB count.

Just inside the request id, outside the catch-all, so it sees every answer
the edge gives (a refusal, a masked 500) and every request's id. The name is
that of the operation the view read (``edge.operation``, never parsed twice);
the code is the answer's first error's, from the answer's bytes as they pass.
Nothing of either reaches the log but the name and the code.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from edge import operation
from edge.gate import principal
from edge.request_id import request_id
from observe.logs import FIELDS
from observe.metrics import Metrics
from observe.naming import operation_name
from observe.record import CURRENT, RequestRecord
from observe.tracing import Tracing

ANSWER_KEPT = 1_048_576  # bytes of an answer with errors read for its code
log = logging.getLogger("zebros.request")


class Observe:
    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: Callable[[], Metrics | None],
        tracing: Tracing | None = None,
    ) -> None:
        self.app, self.metrics, self.tracing = app, metrics, tracing

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        record = RequestRecord(request_id(scope), scope["method"], scope["path"])
        record.metrics, record.tracing = self.metrics(), self.tracing
        if self.tracing is None:
            await self._run(scope, receive, send, record)
            return
        with self.tracing.request(record.method, record.path) as span:
            await self._run(scope, receive, send, record)
            self.tracing.finish(span, record)

    async def _run(self, scope: Scope, receive: Receive, send: Send, record: RequestRecord) -> None:
        seen = _Seen(send)
        token = CURRENT.set(record)
        try:
            await self.app(scope, receive, seen.send)
        finally:
            CURRENT.reset(token)
            self._finish(scope, record, seen)

    def _finish(self, scope: Scope, record: RequestRecord, seen: _Seen) -> None:
        caller, op = principal(scope), operation.recalled(scope)
        if caller is not None and op is not None:
            # Named only for callers past the gate: anyone could otherwise use up the
            # bounded set of labels with invented names.
            persisted = op.persisted_hash is not None
            record.operation = operation_name(op.operation_name, op.query, persisted)
        if caller is not None:
            record.tenant, record.user = caller.tenant_id, caller.user_id
        record.status, record.code = seen.status, seen.code()
        if record.metrics is not None:
            record.metrics.request(record)
        log.info("request", extra={FIELDS: record.fields()})


class _Seen:
    """The answer's status and errors, as they pass."""

    def __init__(self, send: Send) -> None:
        self._send, self.status = send, 0
        self._answer: list[bytes] = []
        self._kept = 0

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = int(message["status"])
        elif message["type"] == "http.response.body" and self._kept < ANSWER_KEPT:
            chunk = message.get("body", b"")  # kept by reference: the answer is in memory anyway
            self._answer.append(chunk)
            self._kept += len(chunk)
        await self._send(message)

    def code(self) -> str:
        if self.status == 304:
            return "NOT_MODIFIED"
        answer = b"".join(self._answer)
        found = _first_code(answer) if b'"errors":' in answer else None
        if found is not None:
            return found
        return "OK" if self.status < 400 else f"HTTP_{self.status}"


def _first_code(answer: bytes) -> str | None:
    """The first top-level error's code (a field aliased "errors" is data, not this)."""
    try:
        errors = orjson.loads(answer).get("errors") or []
    except (orjson.JSONDecodeError, AttributeError):
        return None
    extensions = errors[0].get("extensions") if errors and isinstance(errors[0], dict) else None
    code = extensions.get("code") if isinstance(extensions, dict) else None
    return code if isinstance(code, str) else None
