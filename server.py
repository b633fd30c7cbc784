"""Composition root: settings in, the ASGI app out.

``create_app`` wires the GraphQL endpoint (the ``edge`` middleware in front of
the Strawberry view), ``/healthz`` and ``/readyz``. The clients are opened
once, in the lifespan, unless the caller injects opened ones (tests do, with
their own moto server and Redis). This is the one module that reads Settings.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from functools import partial
from typing import Any

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from auth import Principal
from aws_lambda import JobsLambda, LambdaApp, StreamsLambda, UploadsLambda
from dal.cache.ratelimit import Rate, RateLimiter
from dal.cache.session import CacheSession
from dal.errors import DalError
from dal.storage import buckets
from dal.store import Repos
from dal.sync.journal import Rider
from dal.sync.receipts import Receipts
from edge import ide as graphiql
from edge.body import BodyLimit
from edge.errors import Errors
from edge.gate import Gate, principal
from edge.idempotency import SCOPE_KEY as IDEMPOTENCY
from edge.idempotency import Claim, Idempotency
from edge.metrics import MetricsEndpoint
from edge.observe import Observe
from edge.persisted import PersistedQueries
from edge.ratelimit import RateLimit
from edge.request_id import RequestId, request_id
from edge.responses import Policies, Responses
from edge.transport import Transport
from edge.view import DRAIN, LOOKUP, Caching, GraphQLView, who_of
from observe import logs, tracing
from observe.dynamo import instrument
from observe.metrics import Metrics
from observe.tracing import Tracing
from resolvers.context import Context, build_context
from resolvers.errors import translate
from resolvers.users import from_principal
from schema import ZebrosSchema, build_schema
from schema.bounds import Limits
from services import Services, job_worker, open_services, stream_consumer
from settings import LimitsSettings, Settings, problem

log = logging.getLogger("zebros")
SEEN_USERS_MAX = 10_000


class Runtime:
    """What the lifespan opened, for the handlers built before it ran."""

    services: Services | None = None

    def get(self) -> Services:
        if self.services is None:
            raise RuntimeError("services are not open (lifespan not started)")
        return self.services


def _claimed(request: Request, repos: Repos) -> None:
    """An Idempotency-Key's claim rides the request's first write (edge.idempotency)."""
    claim = request.scope.get(IDEMPOTENCY)
    if isinstance(claim, Claim):
        journal = repos.journal
        journal.rider = Rider(lambda _: claim.operation())
        claim.committed = lambda: journal.rider is None


async def _keeper(runtime: Runtime, caller: Principal) -> Receipts:
    store = runtime.get().store
    repos = await store.open(caller.tenant_id)
    return Receipts(store.dynamo, repos.scope, store.change_retention_s, caller.user_id)


class Contexts:
    """Builds each request's Context: the caller's tenant-bound repositories, and
    its User record just in time (one conditional write per user per process)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._seen: dict[tuple[str, str], None] = {}

    async def __call__(self, request: Request) -> Context:
        services = self.runtime.get()
        caller, repos = await self._admitted(request)
        _claimed(request, repos)
        session = _session(services, caller, request)
        if session is not None:
            request.scope[DRAIN] = session.drain
        rid = request_id(request.scope)
        return build_context(rid, caller, repos, services.limits, session, services.records)

    async def admit(self, request: Request) -> None:
        """What every answer needs, a cached one too: a known tenant (UnknownTenant,
        a 401, otherwise) and the caller's User record. A caller this process has
        provisioned was admitted already (tenants are not unregistered)."""
        caller = principal(request.scope)
        if caller is not None and (caller.tenant_id, caller.user_id) in self._seen:
            return
        await self._admitted(request)

    async def _admitted(self, request: Request) -> tuple[Principal, Repos]:
        caller = principal(request.scope)
        if caller is None:  # the gate lets no operation in without one
            raise RuntimeError("no principal: the bearer gate did not run")
        store, rid = self.runtime.get().store, request_id(request.scope)
        repos = await store.open(caller.tenant_id, caller.user_id, rid)
        await self._provision(caller, repos.users)
        return caller, repos

    async def _provision(self, caller: Principal, users: Any) -> None:
        key = (caller.tenant_id, caller.user_id)
        if key in self._seen:
            return
        await users.ensure(from_principal(caller))
        if len(self._seen) >= SEEN_USERS_MAX:
            self._seen.pop(next(iter(self._seen)))
        self._seen[key] = None


def _session(services: Services, caller: Principal, request: Request) -> CacheSession | None:
    """The request's cache, with the generations the response cache read, if it did."""
    if not services.cache.enabled:
        return None
    lookup = request.scope.get(LOOKUP)
    generations = None if lookup is None else lookup.generations
    return CacheSession(services.cache, services.flight, who_of(caller), generations)


class Cachings:
    """The view's persisted queries and response cache, built once the services are open."""

    def __init__(self, runtime: Runtime, schema: ZebrosSchema, settings: Settings) -> None:
        self.runtime, self.schema, self.settings = runtime, schema, settings
        self._built: Caching | None = None

    def __call__(self) -> Caching | None:
        if self._built is None and self.runtime.services is not None:
            cache = self.runtime.services.cache
            ttl = self.settings.cache.persisted_query_ttl_seconds
            limits = _limits(self.settings.limits)
            policies = Policies(self.schema._schema, limits)
            persisted = PersistedQueries(cache, ttl, limits.max_characters)
            self._built = Caching(persisted, Responses(cache, policies))
        return self._built


def graphql_endpoint(
    runtime: Runtime,
    settings: Settings,
    metrics: Metrics | None = None,
    ide: bool = True,
    ide_headers: dict[str, str] | None = None,
    tracing: Tracing | None = None,
) -> ASGIApp:
    """/graphql: the Strawberry view behind the edge. A request meets, outermost
    first: its request id, its measurement (log line, metrics), the catch-all,
    the method and content-type checks, the body's size and read timeout, the
    bearer token, the rate limits; then the view (context, document limits,
    execution)."""
    dev = settings.env == "dev" and ide
    schema = _schema(settings)
    caching = Cachings(runtime, schema, settings)
    contexts = Contexts(runtime)
    app: ASGIApp = GraphQLView(
        schema,
        ide=dev,
        context=contexts,
        caching=caching,
        admit=contexts.admit,
        ide_headers=ide_headers,
        idempotency=Idempotency(partial(_keeper, runtime), _limits(settings.limits)),
    )
    limiter = _limiter(settings)
    if limiter is not None:
        app = RateLimit(app, limiter=limiter, redis=lambda: runtime.get().redis)
    app = Gate(app, verifier=lambda: runtime.get().verifier)
    given = settings.limits
    app = BodyLimit(app, max_bytes=given.max_body_bytes, read_timeout=given.body_read_timeout)
    app = Transport(app)
    app = Errors(app, translate=translate)
    app = Observe(app, metrics=lambda: metrics, tracing=tracing)
    return RequestId(app)


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


def create_app(
    settings: Settings,
    services: Services | None = None,
    *,
    ide: bool = True,
    ide_headers: dict[str, str] | None = None,
    tracing: Tracing | None = None,
) -> Starlette:
    """The app; ``ide=False`` serves no GraphiQL even in dev (the Lambda);
    ``ide_headers`` come prefilled in GraphiQL (embedded mode: the demo token);
    ``tracing`` (else the settings') exports OpenTelemetry spans."""
    runtime = Runtime()
    metrics = Metrics() if settings.metrics.on(settings.env) else None

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if services is not None:
            yield
            return
        async with open_services(settings) as opened:
            runtime.services = _observed(opened, metrics)
            async with in_process_worker(settings, opened):
                yield

    if services is not None:  # usable without running the lifespan (ASGI tests, Lambda)
        runtime.services = _observed(services, metrics)
    traced = tracing or _tracing(settings)
    graphql = graphql_endpoint(runtime, settings, metrics, ide, ide_headers, traced)
    scrape = MetricsEndpoint(lambda: metrics, settings.metrics.allow)
    routes = [
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", scrape.respond),
    ]
    routes.append(Route("/graphql", graphql))
    if settings.env == "dev" and ide:  # the bundle of the GraphiQL page the view serves
        routes.append(Route(graphiql.ROUTE, graphiql.asset))
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.runtime = runtime
    return app


@asynccontextmanager
async def in_process_worker(settings: Settings, services: Services) -> AsyncIterator[None]:
    """The job worker and the stream consumer as tasks of this process, when the
    settings say so (dev)."""
    if not settings.jobs.runs_in_process(settings.env):
        yield
        return
    consumer = stream_consumer(services)
    try:  # what is already written (a seed) applied before the first request
        await consumer.settle()
    except DalError as exc:
        log.warning("stream consumer at start: %s", exc)
    tasks = [
        asyncio.create_task(job_worker(services).run_forever()),
        asyncio.create_task(consumer.run_forever()),
    ]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with suppress(asyncio.CancelledError):
                await task


def _tracing(settings: Settings) -> Tracing | None:
    given = settings.tracing
    return tracing.from_settings(given.service_name, given.endpoint) if given.enabled else None


def _observed(services: Services, metrics: Metrics | None) -> Services:
    """The services with their calls counted (the DynamoDB client's hooks, the cache's
    counters in this app's metrics)."""
    instrument(services.dynamo_client)
    if metrics is not None:
        metrics.watch_cache(services.cache.stats)
    return services


def app() -> Starlette:
    """The app from the environment: what each ``zebros serve --workers N`` process runs
    (a process of its own: its logging is set up here too)."""
    settings = settings_from_env()
    logs.configure(settings.log_level, settings.logs_as())
    return create_app(settings)


# The Lambda handler (handler string ``server.lambda_handler``): no GraphiQL there.
lambda_handler = LambdaApp(lambda settings, opened: create_app(settings, opened, ide=False))
# The job worker on SQS events (handler string ``server.jobs_handler``).
jobs_handler = JobsLambda()
# S3's ObjectCreated notifications of the upload buckets (``server.uploads_handler``).
uploads_handler = UploadsLambda()
# The stream consumer on DynamoDB Streams events (``server.streams_handler``).
streams_handler = StreamsLambda()


def settings_from_env() -> Settings:
    """The settings of this process: the one place that reads the environment. A
    configuration error is one line naming what to set, not a traceback."""
    try:
        return Settings()
    except ValidationError as exc:
        raise SystemExit(f"zebros: invalid settings: {problem(exc)}") from None
