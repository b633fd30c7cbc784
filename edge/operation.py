"""The operation a request carries, read once before Strawberry sees it.

The view needs it first: a persisted query's hash is resolved to its text,
and a cacheable query may be answered (or answered 304) without executing.
Anything this reader does not understand is left to Strawberry, which
answers it with its own error (a batch, a body that is not JSON).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import orjson
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.types import Scope

# The operation read, for the layers outside the view: in the scope's state, which
# every layer shares (edge.transport hands on a copy of the scope itself).
STATE_KEY = "zebros.operation"
# A request's JSON nests at most this deep: past any input the schema takes (a JSON
# field's 32 levels inside a few input objects and lists), and far short of what the
# recursive walks after it survive (the Idempotency-Key's digest, a cache key's dump).
MAX_NESTING = 64


@dataclass(frozen=True, slots=True)
class Operation:
    query: str | None
    variables: dict[str, Any] | None
    operation_name: str | None
    extensions: dict[str, Any] | None

    @property
    def persisted_hash(self) -> str | None:
        """Apollo's APQ: ``extensions.persistedQuery.sha256Hash``."""
        persisted = (self.extensions or {}).get("persistedQuery")
        found = persisted.get("sha256Hash") if isinstance(persisted, dict) else None
        return found if isinstance(found, str) else None

    def with_query(self, query: str) -> Operation:
        return replace(self, query=query)


async def read(request: Request, params: QueryParams) -> Operation | None:
    """The request's one operation, or None to let Strawberry read (and refuse) it.
    Kept in the scope too, so the measurement (edge/observe.py) names it unparsed."""
    found = await _read(request, params)
    request.scope.setdefault("state", {})[STATE_KEY] = found
    return found


def recalled(scope: Scope) -> Operation | None:
    """The operation ``read`` found for this request, if it was read."""
    found = scope.get("state", {}).get(STATE_KEY)
    return found if isinstance(found, Operation) else None


async def _read(request: Request, params: QueryParams) -> Operation | None:
    if request.method == "GET":
        fields: dict[str, Any] = {"query": params.get("query"), "operationName": None}
        fields["operationName"] = params.get("operationName")
        for name in ("variables", "extensions"):
            fields[name] = _json(params.get(name))
    else:
        fields = _json(await request.body())
    return _operation(fields) if isinstance(fields, dict) else None


def _json(text: str | bytes | None) -> Any:
    if text is None:
        return None
    try:
        decoded = orjson.loads(text)
    except orjson.JSONDecodeError:
        return _INVALID
    return _INVALID if too_deep(decoded) else decoded  # the view refuses it (400)


def too_deep(value: Any, limit: int = MAX_NESTING) -> bool:
    """Whether ``value`` nests past ``limit``: iterative, so it costs what the decode
    that made ``value`` cost, and never a RecursionError."""
    stack = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            if depth >= limit:
                return True
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in children)
    return False


_INVALID = object()


def _operation(fields: dict[str, Any]) -> Operation | None:
    query, name = fields.get("query"), fields.get("operationName")
    variables, extensions = fields.get("variables"), fields.get("extensions")
    if not isinstance(query, str | None) or not isinstance(name, str | None):
        return None
    if not isinstance(variables, dict | None) or not isinstance(extensions, dict | None):
        return None
    return Operation(query, variables, name, extensions)
