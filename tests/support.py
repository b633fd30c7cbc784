"""Helpers shared by tests (not fixtures)."""

from __future__ import annotations

from collections import Counter
from typing import Any


class RequestLog:
    """Counts the requests a botocore client sends, by operation (X-Amz-Target)."""

    def __init__(self) -> None:
        self.operations: list[str] = []
        self.scans = 0  # not reset by clear(): the suite's no-Scan check takes it

    def hook(self, request: Any, **_: Any) -> None:
        target = request.headers.get("X-Amz-Target", b"")
        if isinstance(target, bytes):
            target = target.decode()
        operation = target.rsplit(".", 1)[-1]
        self.operations.append(operation)
        if operation == "Scan":
            self.scans += 1

    def clear(self) -> None:
        self.operations.clear()

    def counts(self) -> Counter[str]:
        return Counter(self.operations)

    def __len__(self) -> int:
        return len(self.operations)


def errors_of(body: dict[str, Any]) -> list[dict[str, Any]]:
    errors: list[dict[str, Any]] = body.get("errors") or []
    return errors


def codes(body: dict[str, Any]) -> list[str]:
    return [e.get("extensions", {}).get("code", "") for e in errors_of(body)]
