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

from cross_web import HTTPException
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send
from strawberry.asgi import GraphQL

from auth import AuthError, Principal
from dal.cache.ratelimit import Rate, RateLimiter, Verdict
from dal.storage import buckets
from resolvers.context import Context, build_context
from resolvers.users import from_principal
from schema import ZebrosSchema, build_schema
from schema.limits import Limits
from services import Services, open_services
from settings import LimitsSettings, Settings

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
    Before that, methods other than GET and POST (405) and a POST that is not
    ``application/json`` (415) are refused; after it, the caller's tenant and
    user each take a token from their rate limit (429 when either is empty).
    Every refusal, Strawberry's included, has a GraphQL-shaped body.
    """

    def __init__(self, runtime: Runtime, settings: Settings) -> None:
        dev = settings.env == "dev"
        super().__init__(_schema(settings), graphql_ide="graphiql" if dev else None)
        self.runtime = runtime
        self.limiter = _limiter(settings)
        self._seen: dict[tuple[str, str], None] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            # No subscriptions: a websocket would bypass the gate, so none is accepted.
            await send({"type": "websocket.close", "code": 1008})
            return
        request = Request(scope, receive)
        response = self._before_auth(request)
        if response is None:
            response = await self._authenticated(request)
        await response(scope, receive, send)

    def _before_auth(self, request: Request) -> Response | None:
        if request.method == "GET" and "query" not in request.query_params:
            return self._ide(request)
        return _refuse_transport(request)

    async def _authenticated(self, request: Request) -> Response:
        try:
            principal = await self.runtime.get().verifier.verify(
                request.headers.get("authorization")
            )
        except AuthError as exc:
            return _unauthenticated(str(exc))
        request.scope.setdefault("state", {})["principal"] = principal
        verdict = await self._take_token(principal)
        if verdict is not None and not verdict.allowed:
            response = _rate_limited(verdict)
        else:
            response = await self._respond(request)
        response.headers.update(verdict.headers() if verdict else {})
        return response

    async def _take_token(self, principal: Principal) -> Verdict | None:
        if self.limiter is None:
            return None
        redis = self.runtime.get().redis
        return await self.limiter.check(redis, principal.tenant_id, principal.user_id)

    async def _respond(self, request: Request) -> Response:
        """Strawberry's HTTP handling, its refusals (a batch, a mutation over GET,
        a body that is not JSON) given a GraphQL-shaped body like ours."""
        try:
            return await self.run(request)
        except HTTPException as exc:
            return _graphql_error(exc.reason, exc.status_code, {"code": "BAD_REQUEST"})

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


def _graphql_error(
    message: str,
    status: int,
    extensions: dict[str, object],
    headers: dict[str, str] | None = None,
) -> Response:
    body = {"data": None, "errors": [{"message": message, "extensions": extensions}]}
    return JSONResponse(body, status_code=status, headers=headers)


def _unauthenticated(message: str) -> Response:
    extensions: dict[str, object] = {"code": "UNAUTHENTICATED"}
    return _graphql_error(message, 401, extensions, {"WWW-Authenticate": "Bearer"})


def _refuse_transport(request: Request) -> Response | None:
    """CSRF: a browser sends a cross-site POST without a CORS preflight only
    with a form or text/plain body; requiring application/json rules those out.
    (Mutations over GET are refused by Strawberry.)"""
    bad_request: dict[str, object] = {"code": "BAD_REQUEST"}
    if request.method not in ("GET", "POST"):
        message = "GraphQL only supports GET and POST requests"
        return _graphql_error(message, 405, bad_request, {"Allow": "GET, POST"})
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if request.method == "POST" and media_type != "application/json":
        return _graphql_error("a POST must have Content-Type: application/json", 415, bad_request)
    return None


def _rate_limited(verdict: Verdict) -> Response:
    seconds = verdict.retry_after
    extensions: dict[str, object] = {"code": "RATE_LIMITED", "retryAfter": seconds}
    message = f"too many requests: retry in {seconds} s"
    return _graphql_error(message, 429, extensions, {"Retry-After": str(seconds)})


def _schema(settings: Settings) -> ZebrosSchema:
    """Prod hides the schema: no introspection (unless configured), no suggestions."""
    dev, given = settings.env == "dev", settings.limits
    introspection = dev if given.introspection is None else given.introspection
    return build_schema(
        limits=_limits(given),
        introspection=introspection,
        suggestions=dev,
        max_batch=given.max_batch,
    )


def _limits(given: LimitsSettings) -> Limits:
    return Limits(
        max_depth=given.max_depth,
        max_aliases=given.max_aliases,
        max_tokens=given.max_tokens,
        max_characters=given.max_characters,
        max_root_fields=given.max_root_fields,
        max_directives=given.max_directives,
        max_cost=given.max_cost,
        default_first=given.default_page_size,
        max_first=given.max_page_size,
    )


def _limiter(settings: Settings) -> RateLimiter | None:
    given = settings.rate_limit
    if not (settings.env == "prod" if given.enabled is None else given.enabled):
        return None
    return RateLimiter(
        Rate(given.tenant_per_second, given.tenant_burst),
        Rate(given.user_per_second, given.user_burst),
        warn_every=given.warn_every_seconds,
        pause=given.pause_seconds,
    )


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
        "s3": await _check(buckets.ping(services.s3_client, services.settings.s3.bucket_prefix)),
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
    graphql = GraphQLApp(runtime, settings)
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
