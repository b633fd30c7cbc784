"""Strawberry's ASGI view, left with GraphQL's own concerns.

The layers in front did the transport checks, the token and the rate limit.
Here: GraphiQL for a GET without an operation (dev only), the context, and
Strawberry's own refusals (a batch, a mutation over GET, a body that is not
JSON) answered with the one error body.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.schema import BaseSchema

from edge.envelope import bad_request

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
        assert isinstance(request, Request)  # no websockets reach the view (edge.transport)
        return await self._context(request)
