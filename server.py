"""Composition root: settings in, the ASGI app out.

``create_app`` wires the GraphQL endpoint, ``/healthz`` and ``/readyz``. The
clients are opened once, in the lifespan, unless the caller injects opened
ones (tests do, with their own moto server and Redis).
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send
from strawberry.asgi import GraphQL

from auth import AuthError, Principal
from dal import storage
from resolvers.context import Context, build_context
from resolvers.users import from_principal
from schema import build_schema
from services import Services, open_services
from settings import Settings

log = logging.getLogger("zebros")
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
SEEN_USERS_MAX = 10_000


class Runtime:
    """What the lifespan opened, for the handlers built before it ran."""

    services: Services | None = None

    def get(self) -> Services:
        if self.services is None:
            raise RuntimeError("services are not open (lifespan not started)")
        return self.services


class GraphQLApp(GraphQL[Context, None]):
    """Strawberry's ASGI app behind a bearer-token gate.

    A request that carries an operation (any POST, or GET with a ``query``
    parameter, however encoded) must authenticate; without a valid token it
    gets HTTP 401 with a GraphQL-shaped body (code UNAUTHENTICATED). A GET
    without ``query`` serves GraphiQL (dev only), never reaching Strawberry.
    """

    def __init__(self, runtime: Runtime, *, dev: bool) -> None:
        super().__init__(build_schema(), graphql_ide="graphiql" if dev else None)
        self.runtime = runtime
        self._seen: dict[tuple[str, str], None] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            # No subscriptions: a websocket would bypass the gate, so none is accepted.
            await send({"type": "websocket.close", "code": 1008})
            return
        request = Request(scope)
        if request.method == "GET" and "query" not in request.query_params:
            await self._ide(request)(scope, receive, send)
            return
        try:
            principal = await self.runtime.get().verifier.verify(
                request.headers.get("authorization")
            )
        except AuthError as exc:
            await _unauthenticated(str(exc))(scope, receive, send)
            return
        scope.setdefault("state", {})["principal"] = principal
        await super().__call__(scope, receive, send)

    def _ide(self, request: Request) -> Response:
        """A GET without an operation: GraphiQL in dev, nothing in prod."""
        if self.graphql_ide is None:
            return PlainTextResponse("Not Found", status_code=404)
        return HTMLResponse(self.graphql_ide_html)

    async def get_context(self, request: Any, response: Any) -> Context:
        services = self.runtime.get()
        principal: Principal = request.state.principal
        request_id = _request_id(request)
        response.headers["x-request-id"] = request_id
        repos = await services.store.open(principal.tenant_id)
        await self._provision(principal, repos.users)
        return build_context(request_id, principal, repos, services.limits)

    async def _provision(self, principal: Principal, users: Any) -> None:
        """Just-in-time user record; one conditional write per user per process."""
        key = (principal.tenant_id, principal.user_id)
        if key in self._seen:
            return
        await users.ensure(from_principal(principal))
        if len(self._seen) >= SEEN_USERS_MAX:
            self._seen.pop(next(iter(self._seen)))
        self._seen[key] = None


def _unauthenticated(message: str) -> Response:
    body = {
        "data": None,
        "errors": [{"message": message, "extensions": {"code": "UNAUTHENTICATED"}}],
    }
    return JSONResponse(body, status_code=401, headers={"WWW-Authenticate": "Bearer"})


def _request_id(request: Request) -> str:
    given = request.headers.get("x-request-id", "")
    return given if REQUEST_ID.fullmatch(given) else uuid.uuid4().hex


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """DynamoDB and S3 must answer; Redis is reported but never required."""
    services: Services = request.app.state.runtime.get()
    checks = {
        "dynamodb": await _check(_dynamo_ready(services)),
        "s3": await _check(storage.ping(services.s3_client, services.settings.s3.bucket_prefix)),
        "redis": await _check(_redis_ready(services)),
    }
    ready = checks["dynamodb"] == "ok" and checks["s3"] == "ok"
    return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)


async def _dynamo_ready(services: Services) -> None:
    table = f"{services.settings.dynamo.table_prefix}Customers"
    await services.dynamo_client.describe_table(TableName=table)


async def _redis_ready(services: Services) -> None:
    await services.redis.ping()


async def _check(probe: Any) -> str:
    try:
        await probe
    except Exception as exc:  # a readiness probe reports what failed, it never raises
        return f"down: {type(exc).__name__}"
    return "ok"


def create_app(settings: Settings, services: Services | None = None) -> Starlette:
    runtime = Runtime()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if services is not None:
            runtime.services = services
            yield
            return
        async with open_services(settings) as opened:
            runtime.services = opened
            yield

    if services is not None:
        runtime.services = services  # usable without running the lifespan (ASGI tests)
    graphql = GraphQLApp(runtime, dev=settings.env == "dev")
    app = Starlette(
        routes=[Route("/healthz", healthz), Route("/readyz", readyz), Route("/graphql", graphql)],
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    return app


def main(argv: list[str] | None = None) -> None:
    """The ``zebros`` command. The one place that reads the environment."""
    from cli import run  # cli builds apps with create_app: imported late, no cycle

    raise SystemExit(run(Settings(), argv))


if __name__ == "__main__":
    main()
