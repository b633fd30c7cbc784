"""Operation names for metric labels: what the request says, bounded.

A name is the client's ``operationName``, else the name in the document
(``query Dashboard {``), else ``anonymous`` (``persisted`` for a hash alone).
Clients choose names, so labels are bounded: names of GraphQL's form only,
and past ``limit`` distinct names the rest count as ``other`` (a Prometheus
series per name a client invents would grow without end).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs

import orjson

NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]{0,63}")
IN_DOCUMENT = re.compile(r"^\s*(?:query|mutation|subscription)\s+([_A-Za-z][_0-9A-Za-z]*)")


def operation_name(method: str, query_string: bytes, body: bytes | None) -> str:
    fields = _fields(method, query_string, body)
    if not isinstance(fields, dict):
        return "-"
    given, query = fields.get("operationName"), fields.get("query")
    if isinstance(given, str) and NAME.fullmatch(given):
        return given
    if isinstance(query, str):
        found = IN_DOCUMENT.match(query)
        return found.group(1) if found else "anonymous"
    return "persisted" if fields.get("extensions") else "-"


def _fields(method: str, query_string: bytes, body: bytes | None) -> Any:
    if method == "GET":
        params = parse_qs(query_string.decode("latin-1"))
        return {k: v[0] for k, v in params.items()}
    try:
        return orjson.loads(body or b"")
    except orjson.JSONDecodeError:
        return None


class Names:
    """The labels handed out so far: up to ``limit`` distinct names, then "other"."""

    def __init__(self, limit: int = 200) -> None:
        self.limit = limit
        self._seen: set[str] = set()

    def label(self, name: str) -> str:
        if name in self._seen:
            return name
        if len(self._seen) >= self.limit:
            return "other"
        self._seen.add(name)
        return name
