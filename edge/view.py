"""Strawberry's ASGI view, left with GraphQL's own concerns.

The layers in front did the transport checks, the token and the rate limit.
Here: GraphiQL for a GET without an operation (dev only), the context, the
request's JSON (an object, or an array of them for a batch; nesting too deep
to decode is refused, not a RecursionError), Strawberry's own refusals (a
batch, a mutation over GET, a body that is not JSON) answered with the one
error body, and HTTP 503 with ``Retry-After`` when a store was unavailable.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse
from strawberry.schema import BaseSchema

from edge.envelope import STATUS, UNAVAILABLE, bad_request

ContextT = TypeVar("ContextT")


class GraphQLView(GraphQL[ContextT, None]):
    def __init__(
        self,
        schema: BaseSchema,
        *,
        ide: bool,
        context: Callable[[Request], Awaitable[ContextT]],
    ) -> None:
        super().__init__(schema, graphql_ide="graphiql" if ide else None)
        self._context = context

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        if request.method == "GET" and "query" not in request.query_params:
            response = self._ide()
        else:
            response = await self._respond(request)
        await response(scope, receive, send)

    async def _respond(self, request: Request) -> Response:
        try:
            return await self.run(request)
        except HTTPException as exc:
            return bad_request(exc.reason, exc.status_code)

    def _ide(self) -> Response:
        """A GET without an operation: GraphiQL in dev, nothing in prod."""
        if self.graphql_ide is None:
            return PlainTextResponse("Not Found", status_code=404)
        return HTMLResponse(self.graphql_ide_html)

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
        except json.JSONDecodeError as exc:
            raise HTTPException(400, "Unable to parse request body as JSON") from exc
        except RecursionError as exc:
            raise HTTPException(400, "JSON nested too deeply") from exc
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


def _extensions(
    response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
) -> Iterator[dict[str, Any]]:
    for result in response_data if isinstance(response_data, list) else [response_data]:
        for error in result.get("errors") or ():
            if isinstance(error, dict):
                yield error.get("extensions") or {}


def _unavailable(extensions: dict[str, Any]) -> bool:
    return extensions.get("code") == UNAVAILABLE
