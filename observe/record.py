"""One request as the log line and the metrics describe it, filled while it runs.

The record rides a context variable, so what runs for the request (the
DynamoDB hooks, in the request's task or tasks it spawned) can count into it
without being handed it.
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Protocol


# What a request's record needs of the app's metrics and tracing, declared here so
# that observe.metrics and observe.tracing depend on the record and never the reverse.
class Span(Protocol):
    def set_attribute(self, key: str, value: str) -> None: ...

    def end(self) -> None: ...


class StoreMetrics(Protocol):
    def store_call(self, operation: str, seconds: float | None, consumed: list[Any]) -> None:
        """One DynamoDB call: its latency and the capacity DynamoDB said it consumed."""

    def store_throttled(self, operation: str) -> None:
        """One attempt DynamoDB refused for capacity."""

    def request(self, record: RequestRecord) -> None:
        """The request, once answered."""

    def audit_unwritten(self, count: int) -> None:
        """Audited-read events the request could not write."""


class StoreTracing(Protocol):
    def store_call(self, operation: str) -> Span:
        """A child span for one DynamoDB call."""


@dataclass
class RequestRecord:
    request_id: str
    method: str
    path: str
    started: float = field(default_factory=time.perf_counter)
    operation: str = "-"
    tenant: str | None = None
    user: str | None = None
    status: int = 0
    code: str = "OK"  # the first error's extensions.code, NOT_MODIFIED for a 304
    dynamodb_requests: int = 0
    # The app's metrics, for what the request causes (its DynamoDB calls).
    metrics: StoreMetrics | None = None
    tracing: StoreTracing | None = None

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.started

    def fields(self) -> dict[str, object]:
        """The log line's fields: ids and counts, never a value a user typed."""
        return {
            "request_id": self.request_id,
            "method": self.method,
            "path": self.path,
            "operation": self.operation,
            "tenant": self.tenant,
            "user": self.user,
            "status": self.status,
            "code": self.code,
            "duration_ms": round(self.seconds * 1000, 2),
            "dynamodb_requests": self.dynamodb_requests,
        }


CURRENT: ContextVar[RequestRecord | None] = ContextVar("zebros_request", default=None)


def current() -> RequestRecord | None:
    return CURRENT.get()
