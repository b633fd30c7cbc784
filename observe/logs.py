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


def configure(level: str, format: str) -> None:
    """The root logger's one handler: JSON lines on stderr, or text for a terminal."""
    handler = logging.StreamHandler(sys.stderr)
    if format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
