"""Operation names for metric labels: what the request says, bounded.

A name is the client's ``operationName``, else the name in the document
(``query Dashboard {``), else ``anonymous`` (``persisted`` for a hash alone).
Clients choose names, so labels are bounded: names of GraphQL's form only,
and past ``limit`` distinct names the rest count as ``other`` (a Prometheus
series per name a client invents would grow without end).
"""

from __future__ import annotations

import re

NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]{0,63}")
IN_DOCUMENT = re.compile(r"^\s*(?:query|mutation|subscription)\s+([_A-Za-z][_0-9A-Za-z]*)")


def operation_name(given: str | None, query: str | None, persisted: bool) -> str:
    """The label of an operation read from a request (``edge.operation``)."""
    if given is not None and NAME.fullmatch(given):
        return given
    if query is not None:
        found = IN_DOCUMENT.match(query)
        return found.group(1) if found else "anonymous"
    return "persisted" if persisted else "-"


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
