"""Strawberry's ASGI view, left with GraphQL's own concerns.

The layers in front did the transport checks, the token and the rate limit.
Here: persisted queries (``persisted.py``), the answers of cacheable queries
from the cache or 304 (``responses.py``), GraphiQL for a GET without an
operation (dev only; offline, ``ide.py``), the context, the
request's JSON (an object, or an array of them for a batch; nesting past
``operation.MAX_NESTING`` is refused, not a RecursionError), Strawberry's own refusals (a
batch, a mutation over GET, a body that is not JSON) answered with the one
error body, and HTTP 503 with ``Retry-After`` when a store was unavailable.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson
from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.schema import BaseSchema

from auth import Principal
from dal.cache.session import Who
from edge import operation, responses
from edge.envelope import STATUS, UNAVAILABLE, bad_request
from edge.gate import principal, query_params
from edge.ide import page_response
from edge.idempotency import Idempotency
from edge.operation import Operation
from edge.persisted import PersistedQueries
from edge.responses import Lookup, Responses

ContextT = TypeVar("ContextT")
# The operation as this view read it (its persisted query resolved), for parse_http_body.
READ: ContextVar[Operation | None] = ContextVar("zebros_operation", default=None)
LOOKUP = "zebros.lookup"  # scope key: the response cache's lookup, for the context
DRAIN = "zebros.drain"  # scope key: what to await before the answer leaves (cache fills)


@dataclass(frozen=True, slots=True)
class Caching:
    persisted: PersistedQueries
    responses: Responses


class GraphQLView(GraphQL[ContextT, None]):
    def __init__(
        self,
        schema: BaseSchema,
        *,
        ide: bool,
        context: Callable[[Request], Awaitable[ContextT]],
        caching: Callable[[], Caching | None] = lambda: None,
        admit: Callable[[Request], Awaitable[None]] | None = None,
        ide_headers: dict[str, str] | None = None,
        idempotency: Idempotency | None = None,
    ) -> None:
        super().__init__(schema, graphql_ide="graphiql" if ide else None)
        self._context = context
        self._caching = caching
        self._admit = admit
        self._ide_headers = ide_headers  # prefilled in GraphiQL's headers editor (a demo token)
        self._idempotency = idempotency

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        params = query_params(scope)
        if request.method == "GET" and "query" not in params and "extensions" not in params:
            response = self._ide()
        else:
            response = await self._respond(request)
        await response(scope, receive, send)

    async def _respond(self, request: Request) -> Response:
        try:
            return await self._answer(request)
        except HTTPException as exc:
            return bad_request(exc.reason, exc.status_code)

    async def _answer(self, request: Request) -> Response:
        op = await operation.read(request, query_params(request.scope))
        if self._idempotency is None:
            return await self._answer_op(request, op)
        return await self._idempotency.run(request, op, lambda: self._answer_op(request, op))

    async def _answer_op(self, request: Request, op: Operation | None) -> Response:
        caching, who = self._caching(), _who(request)
        if caching is None or who is None or op is None:
            return await self.run(request)
        if self._admit is not None:  # a known tenant and its user, before any answer
            await self._admit(request)
        resolved = await caching.persisted.resolve(who.tenant, op)
        if isinstance(resolved, Response):
            return resolved
        lookup = await caching.responses.lookup(who, resolved)
        # Only an answer this ETag was given for, executed and kept (so valid, within
        # the limits, for this tenant and role), is answered from the cache or 304.
        if lookup is not None and lookup.stored is not None:
            if responses.matches(request.headers.get("if-none-match"), lookup.etag):
                return responses.not_modified(lookup)
            return _json(lookup.stored, lookup)
        return await self._execute(request, resolved, lookup, caching.responses)

    async def _execute(
        self, request: Request, op: Operation, lookup: Lookup | None, kept: Responses
    ) -> Response:
        request.scope[LOOKUP] = lookup
        token = READ.set(op)
        try:
            response = await self.run(request)
        finally:
            READ.reset(token)
        drain = request.scope.get(DRAIN)
        if drain is not None:
            await drain()
        if lookup is not None and response.status_code == 200 and _clean(response.body):
            await kept.keep(lookup, bytes(response.body))
            response.headers.update(responses.headers(lookup))
        else:
            response.headers.update(responses.headers(None))
        return response

    async def parse_http_body(self, request: Any) -> GraphQLRequestData | list[GraphQLRequestData]:
        op = READ.get()
        if op is None:
            return await super().parse_http_body(request)
        return GraphQLRequestData(
            query=op.query,
            variables=op.variables,
            operation_name=op.operation_name,
            extensions=op.extensions,
            protocol="http",
        )

    def encode_json(self, data: object) -> bytes:
        try:
            return orjson.dumps(data)
        except TypeError:  # a JSON blob orjson cannot take (an integer past 64 bits)
            return json.dumps(data).encode()

    def _ide(self) -> Response:
        """A GET without an operation: GraphiQL in dev (ours: Strawberry's loads a CDN),
        nothing in prod."""
        if self.graphql_ide is None:
            return PlainTextResponse("Not Found", status_code=404)
        return page_response(self._ide_headers)

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> ContextT:
        if not isinstance(request, Request):  # edge.transport closes websockets first
            raise TypeError("the GraphQL view serves HTTP only")
        return await self._context(request)

    def parse_json(self, data: str | bytes) -> Any:
        """The body (or a GET's variables): JSON, an object or an array of objects."""
        try:
            decoded = json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:  # not JSON, or not UTF-8
            raise HTTPException(400, "Unable to parse request body as JSON") from exc
        except RecursionError as exc:
            raise HTTPException(400, "JSON nested too deeply") from exc
        if operation.too_deep(decoded):
            raise HTTPException(400, f"JSON nested deeper than {operation.MAX_NESTING} levels")
        items = decoded if isinstance(decoded, list) else [decoded]
        if not all(isinstance(item, dict) for item in items):
            raise HTTPException(400, "a GraphQL request is a JSON object (a batch: an array)")
        return decoded

    def create_response(
        self,
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: Response,
    ) -> Response:
        response = super().create_response(response_data, sub_response)
        waits = [e.get("retryAfter", 1) for e in _extensions(response_data) if _unavailable(e)]
        if waits:
            # Retryable as a whole: clients and proxies retry on 503, not on a 200.
            response.status_code = STATUS[UNAVAILABLE]
            response.headers["Retry-After"] = str(max(waits))
        return response


def _who(request: Request) -> Who | None:
    caller = principal(request.scope)
    return None if caller is None else who_of(caller)


def who_of(caller: Principal) -> Who:
    """What cache keys may vary by, for this caller."""
    return Who(caller.tenant_id, str(caller.role), caller.user_id)


def _clean(body: bytes | memoryview) -> bool:
    """An answer worth keeping: data, and not one error."""
    return b'"errors"' not in bytes(body)


def _json(body: bytes, lookup: Lookup) -> Response:
    return Response(body, media_type="application/json", headers=responses.headers(lookup))


def _extensions(
    response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
) -> Iterator[dict[str, Any]]:
    for result in response_data if isinstance(response_data, list) else [response_data]:
        for error in result.get("errors") or ():
            if isinstance(error, dict):
                yield error.get("extensions") or {}


def _unavailable(extensions: dict[str, Any]) -> bool:
    return extensions.get("code") == UNAVAILABLE
