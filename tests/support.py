"""Helpers shared by tests (not fixtures)."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any


class RequestLog:
    """Counts the requests a botocore client sends, by operation (X-Amz-Target), and
    keeps each one's parameters (the JSON body) for the tests that look closer."""

    def __init__(self) -> None:
        self.operations: list[str] = []
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.scans = 0  # not reset by clear(): the suite's no-Scan check takes it

    def hook(self, request: Any, **_: Any) -> None:
        target = request.headers.get("X-Amz-Target", b"")
        if isinstance(target, bytes):
            target = target.decode()
        operation = target.rsplit(".", 1)[-1]
        self.operations.append(operation)
        body = request.body or b"{}"
        self.calls.append((operation, json.loads(body)))
        if operation == "Scan":
            self.scans += 1

    def clear(self) -> None:
        self.operations.clear()
        self.calls.clear()

    def counts(self) -> Counter[str]:
        return Counter(self.operations)

    def __len__(self) -> int:
        return len(self.operations)


def errors_of(body: dict[str, Any]) -> list[dict[str, Any]]:
    errors: list[dict[str, Any]] = body.get("errors") or []
    return errors


def codes(body: dict[str, Any]) -> list[str]:
    return [e.get("extensions", {}).get("code", "") for e in errors_of(body)]
