"""Logs as one JSON object per line, the request's fields on its line.

A line carries what the code passed as ``extra`` under ``fields`` (ids,
counts, codes), never a record's values: names, e-mails and free text stay
out of every line (tests/integration/test_logs.py greps a run for them).
Exceptions are logged with their type and traceback frames only, since an
exception's message may quote a value.
"""

from __future__ import annotations

import logging
import sys
import traceback
from datetime import UTC, datetime
from typing import Any

import orjson

FIELDS = "fields"  # the ``extra`` key whose dict becomes the line's fields


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update(getattr(record, FIELDS, None) or {})
        if record.exc_info and record.exc_info[0] is not None:
            line["error"] = record.exc_info[0].__name__
            line["trace"] = _frames(record.exc_info[2])
        return orjson.dumps(line, default=str).decode()


def _frames(tb: Any) -> list[str]:
    """Where it failed, file:line function, without the message or locals."""
    return [f"{f.filename}:{f.lineno} {f.name}" for f in traceback.extract_tb(tb)]


class TextFormatter(logging.Formatter):
    """A terminal's line: the message, then the line's fields as ``key=value`` (a
    request line says its method, path, status and time, as the JSON line does)."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 (logging's name)
        fields = getattr(record, FIELDS, None) or {}
        pairs = "".join(f" {k}={v}" for k, v in fields.items() if v is not None)
        return super().formatMessage(record) + pairs


def formatter(format: str) -> logging.Formatter:
    return JsonFormatter() if format == "json" else TextFormatter()


def configure(level: str, format: str) -> None:
    """The root logger's one handler: JSON lines on stderr, or text for a terminal."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(format))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
